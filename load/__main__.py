"""`make load`: a bounded load test of a real deployment shape, then an integrity check.

Usage: python -m load [--seconds 60] [--workers 4] [--reporters 6] [--pollers 3] [--max-submissions 400]

Sets up a fresh instance folder and a scratch PostgreSQL database (dropped at
the end), migrates it, seeds the demo staff and a signed bridge source, and
starts ``gunicorn wsgi:app`` with several workers on a free loopback port,
with Redis holding the rate limits and used form tickets across workers.
Then, for a bounded time (and at most ``--max-submissions`` reports):

* reporters submit reports with one file of a random size up to 1 MiB;
* other reporters open their inbox with an earlier receipt and poll it;
* intake staff and a supervisor page the queues and move reports forward;
  an investigator pages the investigation queue and moves cases to legal review;
* a monitoring feed posts signed batches of alerts.

It prints and writes build/load.json: throughput, p50/p95/p99 per route and
errors. Then every accepted submission is opened with its own receipt, its
text compared and its file's bytes hashed against what was sent, and the
audit chain is verified (`flask audit verify`). The exit status is non-zero
on any error, any lost or corrupted submission, or a broken audit chain.

The reporter routes' rate limits and the form's minimum fill time exist to
slow down floods and bots; a load test *is* a flood from one machine, so the
run lifts them through the environment (printed at the start) and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.harness import PG_ADMIN_URL, postgres_answers, scratch_database
from load import actors
from load.client import Browser, LoadError, Stats
from load.server import flask, gunicorn, instance_env

MIB = 1024 * 1024
OUT = Path("build") / "load.json"
LOG = Path("build") / "load-gunicorn.log"
# Budgets far above what one machine can send, so the limiter counts but never refuses.
LIFTED_LIMITS = {
    "HAECHI_SUBMIT_RATE": "1000000/minute",
    "HAECHI_RECEIPT_RATE": "1000000/minute",
    "HAECHI_BRIDGE_FEED_RATE": "1000000/minute",
    "HAECHI_FORM_MIN_SECONDS": "0",
}


class Run:
    """The shared state of one load run: deadline, accepted submissions, statistics."""

    def __init__(self, base: str, seconds: float, max_submissions: int) -> None:
        self.base = base
        self.deadline = time.monotonic() + seconds
        self.max_submissions = max_submissions
        self.stats = Stats()
        self.accepted: list[actors.Submission] = []
        self.lock = threading.Lock()
        self.started = 0
        self.moves: dict[str, int] = {}
        self.alerts = 0

    def going(self) -> bool:
        return time.monotonic() < self.deadline

    def claim_submission(self) -> bool:
        """Reserve one of the bounded number of submissions; False once all are taken."""
        with self.lock:
            if self.started >= self.max_submissions:
                return False
            self.started += 1
            return True

    def some_submission(self, rng: random.Random) -> actors.Submission | None:
        with self.lock:
            return rng.choice(self.accepted) if self.accepted else None

    def moved(self, state: str) -> None:
        with self.lock:
            self.moves[state] = self.moves.get(state, 0) + 1


def _guard(run: Run, label: str, step: Callable[[], None]) -> None:
    """Repeat ``step`` until the deadline; each failure is an error of the run, not the end of the actor."""
    while run.going():
        try:
            step()
        except (LoadError, OSError, ValueError) as exc:
            run.stats.error(label, f"{type(exc).__name__}: {exc}")
            time.sleep(0.2)


def reporter(run: Run, n: int) -> None:
    rng = random.Random(n)

    def step() -> None:
        if not run.claim_submission():
            time.sleep(0.5)
            return
        token = secrets.token_hex(8)
        what = f"Load test report {token}: the contracts office split one purchase into many small ones"
        data = os.urandom(rng.randint(1, MIB))
        sub = actors.submit_report(Browser(run.base, run.stats), what, f"evidence-{token}.bin", data)
        with run.lock:
            run.accepted.append(sub)

    _guard(run, "reporter", step)


def poller(run: Run, n: int) -> None:
    rng = random.Random(1000 + n)

    def step() -> None:
        sub = run.some_submission(rng)
        if sub is None:
            time.sleep(0.5)
            return
        b = Browser(run.base, run.stats)
        actors.receipt_login(b, sub.receipt)
        page = ""
        for _ in range(3):
            page = actors.poll_inbox(b)
            if sub.what not in page:
                raise LoadError("inbox does not show the report that was sent")
            time.sleep(0.3)
        actors.leave_inbox(b, page)

    _guard(run, "poller", step)


def staff_worker(run: Run, who: actors.StaffLogin, states: tuple[str, ...], share: tuple[int, int]) -> None:
    """Page queues and move cases forward; ``share`` (k, n) takes the cases with id % n == k (no two race)."""
    b = Browser(run.base, run.stats)
    try:
        actors.staff_login(b, who)
    except LoadError as exc:
        run.stats.error("staff", f"{who.username}: {exc}")
        return
    k, n = share

    def step() -> None:
        moved = False
        for state in states:
            for page in (1, 2):
                ids = [i for i in actors.queue_case_ids(b, state, page) if i % n == k]
                for case_id in ids[:2]:
                    target = actors.move_forward(b, case_id)
                    if target is not None:
                        run.moved(target)
                        moved = True
        if not moved:
            time.sleep(0.5)

    _guard(run, "staff", step)


def feed(run: Run, source: str, key: bytes) -> None:
    counter = [0]

    def step() -> None:
        actors.bridge_batch(Browser(run.base, run.stats), source, key, counter[0], 25)
        counter[0] += 25
        with run.lock:
            run.alerts += 25
        time.sleep(1.0)

    _guard(run, "bridge", step)


def count_web_reports(url: str) -> int:
    """Cases the database holds from the web form: more than accepted would mean an answer was lost."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM cases WHERE source = 'web'")).scalar_one())
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m load")
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("LOAD_SECONDS", "60")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("LOAD_WORKERS", "4")))
    parser.add_argument("--reporters", type=int, default=6)
    parser.add_argument("--pollers", type=int, default=3)
    parser.add_argument("--max-submissions", type=int, default=400)
    parser.add_argument("--redis", default=os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    if not postgres_answers():
        print(f"PostgreSQL does not answer at {PG_ADMIN_URL} (HAECHI_BENCH_PG_URL): cannot run", file=sys.stderr)
        return 2
    print("Rate limits and the form's minimum fill time are lifted for this run:", flush=True)
    for k, v in LIFTED_LIMITS.items():
        print(f"  {k}={v}")

    with (
        tempfile.TemporaryDirectory(prefix="haechi-load-") as tmp,
        scratch_database("postgresql", Path(tmp), prefix="haechi_load") as url,
    ):
        env = instance_env(Path(tmp) / "instance", url, {"REDIS_URL": args.redis, **LIFTED_LIMITS})
        return _run(args, env, url, Path(tmp))


def _run(args: argparse.Namespace, env: dict[str, str], url: str, tmp: Path) -> int:
    flask(env, "db", "upgrade")
    flask(env, "demo", "seed")
    creds = json.loads((tmp / "instance" / "demo-credentials.json").read_text())
    logins = {u["username"]: actors.StaffLogin(u["username"], u["password"], u["totp_secret"]) for u in creds["users"]}
    source_key = bytes.fromhex(flask(env, "bridge", "source", "add", "loadfeed", "--kind", "cheongbaek").split()[-1])

    with gunicorn("wsgi:app", env, args.workers, LOG) as base:
        print(f"gunicorn: {args.workers} workers at {base}; running {args.seconds:.0f} s", flush=True)
        run = Run(base, args.seconds, args.max_submissions)
        threads = [threading.Thread(target=reporter, args=(run, i)) for i in range(args.reporters)]
        threads += [threading.Thread(target=poller, args=(run, i)) for i in range(args.pollers)]
        # Intake and the supervisor share the received..triage reports by id parity, so no two race for a
        # case; the supervisor also sends its share on from investigation to legal review. The investigator
        # pages its team's queue (reports reach that team only when routed to it, which the load does not do).
        intake_states = ("received", "acknowledged", "triage")
        threads += [
            threading.Thread(target=staff_worker, args=(run, logins["intake"], intake_states, (0, 2))),
            threading.Thread(
                target=staff_worker, args=(run, logins["supervisor"], (*intake_states, "investigating"), (1, 2))
            ),
            threading.Thread(target=staff_worker, args=(run, logins["investigator"], ("investigating",), (0, 1))),
            threading.Thread(target=feed, args=(run, "loadfeed", source_key)),
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        summary = run.stats.summary(elapsed)

        print(f"verifying {len(run.accepted)} accepted submissions with their own receipts…", flush=True)
        problems: list[str] = []
        broken = 0
        verify_stats = Stats()
        for sub in run.accepted:
            found = actors.verify_submission(Browser(base, verify_stats), sub)
            broken += bool(found)
            problems += found
    stored = count_web_reports(url)
    audit = _audit_verify(env)

    report = {
        "workers": args.workers,
        "database": "PostgreSQL (scratch database on 127.0.0.1)",
        "lifted_limits": LIFTED_LIMITS,
        "load": summary,
        "submissions": {
            "accepted": len(run.accepted),
            "stored_web_cases": stored,
            "verified_intact": len(run.accepted) - broken,
            "problems": problems[:50],
        },
        "staff_moves": run.moves,
        "bridge_alerts_sent": run.alerts,
        "audit_verify": audit,
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    _print(report)
    failed = summary["errors"] or problems or stored != len(run.accepted) or not audit["ok"]
    print(f"wrote {args.out}: {'FAILED' if failed else 'OK'}")
    return 1 if failed else 0


def markdown(report: dict[str, Any]) -> str:
    """The README's load table: per route, then the integrity lines."""
    load, subs = report["load"], report["submissions"]
    moves = ", ".join(f"{n} to {state}" for state, n in report["staff_moves"].items()) or "none"
    lines = [
        "| route | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, r in load["routes"].items():
        lines.append(
            f"| `{label}` | {r['requests']} | {r['per_second']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} "
            f"| {r['errors']} |"
        )
    lines.append(
        f"| **all** | {load['requests']} | {load['per_second']} | | | | {load['errors']} |\n\n"
        f"{report['workers']} gunicorn workers, {load['seconds']} s. Submissions accepted {subs['accepted']}, "
        f"stored {subs['stored_web_cases']}, reopened with their own receipt with text and file bytes intact "
        f"{subs['verified_intact']}; staff moves {moves}; bridge alerts sent "
        f"{report['bridge_alerts_sent']}; audit chain {'verifies' if report['audit_verify']['ok'] else 'BROKEN'}."
    )
    return "\n".join(lines) + "\n"


def _audit_verify(env: dict[str, str]) -> dict[str, object]:
    try:
        return {"ok": True, "output": flask(env, "audit", "verify").strip()}
    except RuntimeError as exc:
        return {"ok": False, "output": str(exc)}


def _print(report: dict[str, object]) -> None:
    load = report["load"]
    assert isinstance(load, dict)
    print(f"\n{'route':36} {'n':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for label, r in load["routes"].items():
        print(
            f"{label:36} {r['requests']:>6} {r['per_second']:>7} {r['p50_ms']!s:>8} {r['p95_ms']!s:>8} "
            f"{r['p99_ms']!s:>8} {r['errors']:>6}"
        )
    print(f"total {load['requests']} requests in {load['seconds']} s = {load['per_second']} req/s", end="")
    print(f"; errors {load['errors']}")
    for sample in load["error_samples"]:
        print(f"  error: {sample}")
    subs = report["submissions"]
    assert isinstance(subs, dict)
    print(
        f"submissions accepted {subs['accepted']}, stored {subs['stored_web_cases']}, "
        f"opened intact with their receipt {subs['verified_intact']}"
    )
    for p in subs["problems"]:
        print(f"  problem: {p}")
    print(f"staff moves {report['staff_moves']}; bridge alerts sent {report['bridge_alerts_sent']}")
    audit = report["audit_verify"]
    assert isinstance(audit, dict)
    print(f"audit chain: {'verifies' if audit['ok'] else 'BROKEN'} ({audit['output'][-200:]})")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
