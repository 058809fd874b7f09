"""PostgreSQL drops every connection of the app mid-run: requests fail cleanly, then succeed again.

The server itself is shared, so instead of restarting it the test terminates
exactly this app's backends (tagged by ``application_name``) with
``pg_terminate_backend``, which is what a restart looks like to the app.
"""

from __future__ import annotations

import http.client
import secrets
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from app.schema import upgrade
from tests.conftest import postgres_schema, postgres_url
from tests.faults.conftest import running_server

LEAKS = ("Traceback", "psycopg", "sqlalchemy", "OperationalError", "terminating connection")


def get(port: int, path: str = "/report") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def test_requests_fail_cleanly_while_connections_are_killed_and_succeed_afterwards(tmp_path: Path):
    name = f"haechi_fault_{secrets.token_hex(4)}"
    with postgres_schema("haechi_fault") as url:
        upgrade(url)
        with running_server(tmp_path, f"{url}&application_name={name}") as server:
            for _ in range(6):  # every worker holds pooled connections
                assert get(server.port)[0] == 200
            admin = sa.create_engine(postgres_url())
            results: list[tuple[int, str]] = []
            stop = threading.Event()

            def load() -> None:
                while not stop.is_set():
                    results.append(get(server.port))

            threads = [threading.Thread(target=load) for _ in range(3)]
            for t in threads:
                t.start()
            killed = 0
            try:
                for _ in range(10):
                    with admin.begin() as conn:
                        killed += len(
                            conn.execute(
                                sa.text(
                                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"
                                ),
                                {"n": name},
                            ).all()
                        )
                    time.sleep(0.2)
            finally:
                stop.set()
                for t in threads:
                    t.join()
                admin.dispose()
            assert killed > 0 and results
            for status, body in results:
                assert status in (200, 500), status
                assert not any(leak in body for leak in LEAKS), body[:1000]
                if status == 500:
                    assert "Something went wrong" in body
            # Afterwards every request succeeds again (pool pre-ping replaces the dead connections).
            assert [get(server.port)[0] for _ in range(10)] == [200] * 10
            failed = sum(1 for s, _ in results if s != 200)
            print(f"{len(results)} requests during {killed} terminated connections: {failed} failed cleanly")
