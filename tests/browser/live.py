"""The real application, set up and served the way an operator does it, for the browser journeys.

Nothing here imports the app: the instance folder is made by the real
command line (``flask db upgrade``, ``flask demo seed``, ``flask users create``,
``flask teams add-member``) and served by gunicorn from ``wsgi.py`` with the
production settings (``Settings.from_env``: full-strength Argon2id, the
3-second form dwell time, the strict Content-Security-Policy). A journey that
passes here passes against what ``make run`` serves, not against a test double.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyotp

ROOT = Path(__file__).resolve().parents[2]

# The second investigator the journeys exclude for a conflict of interest. Created
# with the CLI (no TOTP yet), so the journey also walks a first sign-in's enrolment.
CONFLICTED = "investigator2"
CONFLICTED_PASSWORD = "browser-journey-" + "conflicted-officer"
STARTUP_SECONDS = 30


@dataclass
class Credentials:
    """One staff account's way in: a password and, once enrolled, a TOTP secret."""

    username: str
    password: str
    totp_secret: str | None
    _last_step: int = -1

    def code(self) -> str:
        """A TOTP code never used before by this account (the server refuses a replayed code).

        Within one 30-second step an account may sign in once; a second sign-in
        uses the next step's code, which the server's one-step window accepts.
        """
        assert self.totp_secret, f"{self.username} has not enrolled a second factor"
        step = max(int(time.time()) // 30, self._last_step + 1)
        self._last_step = step
        return pyotp.TOTP(self.totp_secret).at(step * 30)


@dataclass
class LiveApp:
    """A served instance: where it answers, its folder, and the staff accounts made for it."""

    base_url: str
    instance: Path
    log: Path
    staff: dict[str, Credentials] = field(default_factory=dict)

    def flask(self, *args: str) -> str:
        """Run a ``flask --app wsgi`` command against this instance while it is served (e.g. a bridge import)."""
        return _flask(_env(self.instance), *args, log=self.log)


def free_port() -> int:
    """A TCP port nobody listens on right now, on the loopback interface only."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(instance: Path) -> dict[str, str]:
    """The process environment of an operator's shell, pointed at a private instance on SQLite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAECHI_", "DATABASE_URL", "REDIS_URL"))}
    env["HAECHI_INSTANCE"] = str(instance)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _flask(env: dict[str, str], *args: str, log: Path) -> str:
    """Run one ``flask --app wsgi`` command as ``make run`` does; fail loudly with its output."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    with log.open("a") as fh:
        fh.write(f"$ flask {args[0]} {args[1] if len(args) > 1 else ''}\n{done.stderr}\n")
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args[:2])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def prepare_instance(instance: Path, log: Path) -> dict[str, Credentials]:
    """Migrate, seed the demo office, and add a conflicted investigator to the investigation team."""
    env = _env(instance)
    _flask(env, "db", "upgrade", log=log)
    _flask(env, "demo", "seed", log=log)
    demo = json.loads((instance / "demo-credentials.json").read_text())
    staff = {u["username"]: Credentials(u["username"], u["password"], u["totp_secret"]) for u in demo["users"]}
    _flask(
        env, "users", "create", CONFLICTED, "--name", "Yoon Conflicted", "--role", "investigator",
        "--password", CONFLICTED_PASSWORD, log=log,
    )  # fmt: skip
    recovery_file = instance / "recovery-key.hex"
    fd = os.open(recovery_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(demo["recovery_private_key"])
    try:
        _flask(
            env, "teams", "add-member", "investigation", CONFLICTED, "--recovery-key-file", str(recovery_file), log=log
        )
    finally:
        recovery_file.unlink()
    staff[CONFLICTED] = Credentials(CONFLICTED, CONFLICTED_PASSWORD, None)
    # The personnel system's feed, as an operator configures it (its signing key is not needed for file imports).
    _flask(env, "bridge", "source", "add", "personnel", "--kind", "personnel", log=log)
    return staff


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(url + "/healthz", timeout=2) as r,
        ):
            if r.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the app did not answer {url}/healthz within {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def serve(instance: Path, log: Path) -> Iterator[LiveApp]:
    """Prepare ``instance`` and serve it with gunicorn on a free loopback port until the block ends."""
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    staff = prepare_instance(instance, log)
    port = free_port()
    with log.open("ab") as out:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                "--workers", "1", "--threads", "4", "--timeout", "120", "wsgi:app",
            ],
            cwd=ROOT,
            env=_env(instance),
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base, server, log)
        yield LiveApp(base_url=base, instance=instance, log=log, staff=staff)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
