"""http.queue_page (issue 10): requests per second of a logged-in queue page under gunicorn.

Two gunicorn servers run side by side with the same command line and worker
count: one serves Haechi (``wsgi:app`` on a fresh instance with 60 reports
submitted, an intake officer logged in with password and TOTP), the other a
bare Flask app with one route answering a constant string. The same client —
a few threads, each a browser of its own with the officer's cookies — sends
bursts of requests to one then the other, alternately, and the medians of the
bursts' request rates are compared. The ratio is what Haechi's whole request
path (session check, staff key in the session, the visibility query, Jinja,
CSRF and security headers) keeps of what gunicorn and Flask can do at all.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from flask import Flask

from bench.harness import Result, backend_label, scratch_database
from crypto.kdf import DEFAULT_PARAMS

WORKERS = 3
CLIENTS = 4
PER_BURST = 60  # requests per burst, shared by the client threads
BURSTS = 5
REPORTS = 60
QUEUE_PATH = "/staff/queues/?view=state&state=received"


def bare_app() -> Flask:
    """The baseline: Flask with one trivial route (gunicorn spec ``bench.http_bench:bare_app()``)."""
    app = Flask("haechi_bench_bare")

    @app.get("/")
    def index() -> str:
        return "ok"

    return app


def _burst(base: str, path: str, cookies: dict[str, str]) -> float:
    """Requests per second of PER_BURST GETs of ``path`` sent by CLIENTS threads at once (all must answer 200)."""
    from load.client import Browser, LoadError

    failures: list[str] = []
    share = PER_BURST // CLIENTS

    def client() -> None:
        b = Browser(base)
        b.cookies = dict(cookies)
        for _ in range(share):
            r = b.get(path, path)
            if r.status != 200:
                failures.append(f"{path}: HTTP {r.status}")
                return

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise LoadError(failures[0])
    return share * CLIENTS / elapsed


def _seed(instance: Path, url: str) -> None:
    """Migrate, create the demo staff and submit REPORTS reports, in process (the setup is not measured)."""
    from app import create_app
    from app.schema import upgrade
    from bench.submit_bench import submit_once
    from config import Settings

    upgrade(url)
    settings = Settings(
        instance_path=instance,
        database_url=url,
        testing=True,
        argon2=DEFAULT_PARAMS,
        form_min_seconds=0,
        submit_rate="100000/minute",
    )
    app = create_app(settings)
    try:
        seeded = app.test_cli_runner().invoke(args=["demo", "seed"])
        if seeded.exit_code != 0:
            raise RuntimeError(f"demo seed failed: {seeded.output}")
        client = app.test_client()
        for _ in range(REPORTS):
            submit_once(client, os.urandom(1024))
    finally:
        app.extensions["haechi.engine"].dispose()


def bench_queue_page(db: str = "sqlite") -> list[Result]:
    """Queue page req/s under gunicorn against a bare Flask route under the same server and client."""
    import json

    from load.actors import StaffLogin, staff_login
    from load.client import Browser
    from load.server import gunicorn, instance_env

    with tempfile.TemporaryDirectory(prefix="haechi-http-bench-") as tmp, scratch_database(db, Path(tmp)) as url:
        instance = Path(tmp) / "instance"
        _seed(instance, url)
        creds = json.loads((instance / "demo-credentials.json").read_text())
        intake = next(u for u in creds["users"] if u["username"] == "intake")
        env = instance_env(instance, url)
        log = Path(tmp) / "gunicorn.log"
        with (
            gunicorn("wsgi:app", env, WORKERS, log) as haechi,
            gunicorn("bench.http_bench:bare_app()", env, WORKERS, log, ready_path="/") as bare,
        ):
            officer = Browser(haechi)
            staff_login(officer, StaffLogin(intake["username"], intake["password"], intake["totp_secret"]))
            page = officer.get(QUEUE_PATH, "queue")
            rows = page.text.count('href="/staff/cases/')
            if page.status != 200 or rows == 0:
                raise RuntimeError(f"the queue page shows no cases (HTTP {page.status})")
            ours_rates, bare_rates = [], []
            _burst(haechi, QUEUE_PATH, officer.cookies)  # warm both servers' workers
            _burst(bare, "/", {})
            for _ in range(BURSTS):
                ours_rates.append(_burst(haechi, QUEUE_PATH, officer.cookies))
                bare_rates.append(_burst(bare, "/", {}))
    ours, raw = statistics.median(ours_rates), statistics.median(bare_rates)
    return [
        Result(
            name="http.queue_page",
            value=round(ours, 1),
            unit="req/s",
            baseline=round(raw, 1),
            ratio=round(ours / raw, 3),
            note=f"{backend_label(url)}; gunicorn {WORKERS} sync workers on loopback, {CLIENTS} client threads, "
            f"medians of {BURSTS} alternating bursts of {PER_BURST} requests; ours: GET {QUEUE_PATH} logged in as "
            f"intake ({rows} case links on the page, {REPORTS} reports in the database); baseline: a bare Flask "
            "route returning 'ok' under the same gunicorn command",
        )
    ]


BENCHMARKS = [bench_queue_page]
