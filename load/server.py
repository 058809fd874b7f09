"""A throw-away Haechi instance served by gunicorn, for the load test and the HTTP benchmark.

The instance is configured only through the environment, as production is
(``HAECHI_INSTANCE``, ``DATABASE_URL``, ``REDIS_URL``, ``HAECHI_*``), and the
server is the real ``gunicorn wsgi:app`` with several worker processes, so
what is measured is what a deployment runs: separate processes sharing the
database and, through Redis, the rate limits and used form tickets.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def instance_env(instance: Path, database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the instance: this process's, plus where the instance lives and its settings."""
    env = dict(os.environ)
    env.update({"HAECHI_INSTANCE": str(instance), "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


def flask(env: Mapping[str, str], *args: str) -> str:
    """Run one ``flask --app wsgi`` command against the instance; its output, or an error with it."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return done.stdout


@contextlib.contextmanager
def gunicorn(
    app_spec: str, env: Mapping[str, str], workers: int, log_path: Path, ready_path: str = "/healthz"
) -> Iterator[str]:
    """Serve ``app_spec`` with ``workers`` sync workers on a free loopback port; yields the base URL.

    Waits until ``ready_path`` answers 200, and stops the server (SIGTERM, then its
    graceful shutdown) on the way out, whatever happened inside.
    """
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "120",
                "--graceful-timeout",
                "20",
                app_spec,
            ],
            cwd=ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(proc, port, ready_path, log_path)
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], port: int, path: str, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_path}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {path} within {timeout:.0f} s; see {log_path}")
