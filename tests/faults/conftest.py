"""Fault scenarios: the functional actors, and a real gunicorn server for the tests that kill processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.functional.conftest import office, reporter, staff  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A gunicorn master with its workers, serving a migrated instance of its own."""

    process: subprocess.Popen[bytes]
    port: int
    instance: Path
    env: dict[str, str]

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def flask(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )


@contextlib.contextmanager
def running_server(tmp_path: Path, database_url: str, workers: int = 2) -> Iterator[Server]:
    """gunicorn with sync workers on a free port, production Argon2id, the given database."""
    instance = tmp_path / "instance"
    env = {
        **os.environ,
        "HAECHI_INSTANCE": str(instance),
        "DATABASE_URL": database_url,
        "HAECHI_DEFAULT_LOCALE": "en",
        "PYTHONPATH": str(ROOT),
    }
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    srv = Server(process, port, instance, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text()[-2000:])
    try:
        yield srv
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[Server]:
    """gunicorn with two workers on the test's database."""
    with running_server(tmp_path, database_url) as srv:
        yield srv
