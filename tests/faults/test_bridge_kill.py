"""A bridge import killed with SIGKILL half-way, then run again, ends exactly as one uninterrupted run.

The in-process test (tests/functional/test_bridge.py) interrupts between
batches; this one kills a real ``flask bridge import`` process at whatever
instruction it is executing, so an uncommitted batch, an open write lock and
a half-written WAL are all possible, as after a power cut.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.faults.conftest import BIN, ROOT

RECORDS = 8_000
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
DEPARTMENTS = ("FINANCE", "PERMITS", "TAX")


def _feed(path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(RECORDS):
            rec = {
                "alert_id": f"CB-{i:06}",
                "scenario_id": f"EH-{i % 7:03}",
                "scenario_name": "Corporate card used late at night",
                "system": "e_hojo",
                "department": DEPARTMENTS[i % 3],
                "official": f"Official {i % 50}",
                "amount": 1000 + i,
                # Ten alerts share a subject within the window, so correlation spans batches.
                "record_ref": f"V-{i // 10}",
                "raised_at": (T0 + dt.timedelta(minutes=i)).isoformat(),
                "severity": 1 + i % 5,
            }
            fh.write(json.dumps(rec) + "\n")


def _instance(tmp_path: Path, name: str) -> tuple[dict[str, str], Path]:
    folder = tmp_path / name
    db = folder / "haechi.sqlite3"
    env = {
        **os.environ,
        "HAECHI_INSTANCE": str(folder / "instance"),
        "DATABASE_URL": f"sqlite:///{db}",
        "PYTHONPATH": str(ROOT),
        # Cheap Argon2id for the demo accounts: this test is about the bridge, not logins.
        "HAECHI_ARGON2_MEMORY_KIB": "65536",
        "HAECHI_ARGON2_ITERATIONS": "2",
    }
    folder.mkdir()
    source = ["bridge", "source", "add", "cheongbaek", "--kind", "cheongbaek"]
    for args in (["db", "upgrade"], ["demo", "seed"], source):
        done = _flask(env, *args)
        assert done.returncode == 0, done.stdout + done.stderr
    return env, db


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )


def _state(db: Path) -> dict[str, object]:
    """What the import decided, free of random references, keys and ids."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT external_id, case_id FROM bridge_records ORDER BY external_id").fetchall()
        case_of = dict(rows)
        groups = sorted(sorted(e for e, c in case_of.items() if c == cid) for cid in set(case_of.values()))
        one = conn.execute
        return {
            "records": len(rows),
            "groups": groups,
            "cases": one("SELECT COUNT(*) FROM cases WHERE kind = 'alert'").fetchone()[0],
            "entries": one(
                "SELECT COUNT(*) FROM case_entries e JOIN cases c ON c.id = e.case_id WHERE c.kind = 'alert'"
            ).fetchone()[0],
            "links": one("SELECT COUNT(*) FROM case_links").fetchone()[0],
            "severities": sorted(r[0] for r in one("SELECT severity FROM cases WHERE kind = 'alert'")),
            "jobs": one("SELECT status FROM bridge_imports").fetchall(),
            "quarantined": one("SELECT COUNT(*) FROM quarantined_records").fetchone()[0],
        }


def _position(db: Path) -> tuple[str, int] | None:
    try:
        with sqlite3.connect(db, timeout=0.2) as conn:
            row = conn.execute("SELECT status, position FROM bridge_imports ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:
        return None  # locked for a moment by the importer's commit
    return (row[0], row[1]) if row else None


def test_an_import_killed_with_sigkill_and_run_again_ends_as_one_uninterrupted_run(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    _feed(feed)
    size = feed.stat().st_size

    env, db = _instance(tmp_path, "killed")
    proc = subprocess.Popen(
        [str(BIN / "flask"), "--app", "wsgi", "bridge", "import", "cheongbaek", str(feed)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            seen = _position(db)
            if seen is not None and seen[0] == "running" and seen[1] > size // 4:
                break  # a quarter committed, more to come: kill it wherever it is
            assert proc.poll() is None, "the import finished before it could be killed; make the feed longer"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    status, position = _position(db) or ("", 0)
    assert status == "running" and 0 < position < size  # really killed half-way

    resumed = _flask(env, "bridge", "import", "cheongbaek", str(feed))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "duplicates 0," in resumed.stdout, resumed.stdout  # nothing committed before the kill is redone

    env2, db2 = _instance(tmp_path, "uninterrupted")
    whole = _flask(env2, "bridge", "import", "cheongbaek", str(feed))
    assert whole.returncode == 0, whole.stdout + whole.stderr

    killed, clean = _state(db), _state(db2)
    assert killed["records"] == RECORDS and killed["quarantined"] == 0
    assert killed == clean
