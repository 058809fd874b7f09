"""`make load` in small: the whole load run against PostgreSQL and Redis, and its integrity checks.

The smoke run needs a PostgreSQL server (127.0.0.1:5432, or HAECHI_BENCH_PG_URL)
and Redis (127.0.0.1:6379, or LOAD_REDIS_URL); without them it is skipped and
says which is missing. The checks of the verification itself run everywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.harness import postgres_answers
from load import actors
from load.client import Reply, Stats, _pct

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:
        return False


def test_short_load_run_loses_nothing_and_leaves_a_verifying_audit_chain(tmp_path):
    if not postgres_answers():
        pytest.skip("the load test needs PostgreSQL at 127.0.0.1:5432 (HAECHI_BENCH_PG_URL), which does not answer")
    if not _redis_answers():
        pytest.skip(f"the load test needs Redis at {REDIS_URL} (LOAD_REDIS_URL), which does not answer")
    out = tmp_path / "load.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "load",
            "--seconds",
            "8",
            "--workers",
            "2",
            "--reporters",
            "2",
            "--pollers",
            "1",
            "--max-submissions",
            "8",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    subs = report["submissions"]
    assert subs["accepted"] > 0
    assert subs["verified_intact"] == subs["accepted"] == subs["stored_web_cases"]
    assert subs["problems"] == []
    assert report["load"]["errors"] == 0
    assert report["audit_verify"]["ok"] is True
    routes = report["load"]["routes"]
    for route in ("POST /report", "POST /receipt", "GET /staff/queues/", "POST /bridge/<source>"):
        assert routes[route]["requests"] > 0, route
        assert routes[route]["p50_ms"] <= routes[route]["p95_ms"] <= routes[route]["p99_ms"]


class _ScriptedBrowser:
    """Answers the verification's requests from a script, so its comparisons can be tested without a server."""

    def __init__(self, inbox_html: str, file_body: bytes) -> None:
        self.inbox_html = inbox_html
        self.file_body = file_body

    def get(self, path: str, label: str) -> Reply:
        if path == "/receipt":
            return Reply(200, {}, b'<input name="csrf_token" value="t"><input name="ticket" value="k">')
        if path == "/receipt/inbox":
            return Reply(200, {}, self.inbox_html.encode())
        return Reply(200, {}, self.file_body)

    def post_form(self, path: str, fields: dict[str, str], label: str) -> Reply:
        if path == "/receipt":
            return Reply(303, {"location": "/receipt/inbox"}, b"")
        return Reply(303, {"location": "/receipt"}, b"")


SENT = b"the evidence, byte for byte"
SUB = actors.Submission("1234-5678", "What was sent", "e.bin", hashlib.sha256(SENT).hexdigest(), len(SENT))
INBOX = (
    '<input name="csrf_token" value="t"><dd class="message-body">{what}</dd>'
    '<a href="/receipt/files/7" download>e.bin</a>'
)


def test_verification_accepts_an_intact_submission():
    browser = _ScriptedBrowser(INBOX.format(what=SUB.what), SENT)
    assert actors.verify_submission(browser, SUB) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("inbox", "body", "problem"),
    [
        (INBOX.format(what="Something else"), SENT, "report text"),
        (INBOX.format(what=SUB.what), SENT[:-1] + b"!", "file's bytes differ"),
        (INBOX.format(what=SUB.what), SENT + b"more", "file's bytes differ"),
        (INBOX.format(what=SUB.what).replace('<a href="/receipt/files/7" download>e.bin</a>', ""), SENT, "0 file(s)"),
    ],
)
def test_verification_reports_changed_text_changed_bytes_and_missing_files(inbox, body, problem):
    problems = actors.verify_submission(_ScriptedBrowser(inbox, body), SUB)  # type: ignore[arg-type]
    assert len(problems) == 1 and problem in problems[0]


def test_percentiles_are_ordered_and_errors_counted_per_route():
    stats = Stats()
    for ms in range(1, 101):
        stats.record("GET /x", ms / 1000)
    stats.error("reporter", "boom")
    summary = stats.summary(elapsed=10.0)
    route = summary["routes"]["GET /x"]  # type: ignore[index]
    assert (route["requests"], route["per_second"]) == (100, 10.0)
    assert route["p50_ms"] == pytest.approx(50.5) and route["p99_ms"] == pytest.approx(99.0, abs=0.1)
    assert summary["errors"] == 1 and summary["error_samples"] == ["reporter: boom"]
    assert _pct([], 50) is None
