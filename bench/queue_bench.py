"""queue.* benchmarks (issue 5): one queue page out of 100,000 cases.

Builds a migrated database (SQLite in a temporary folder, or a scratch
PostgreSQL database: ``db="postgresql"``), fills it with bulk
``insert()`` executemany (no cryptography: sealed keys are random bytes, as
only their presence matters to a queue), then times the queue page — the
service query plus the rendering — against fetching the same 50 rows by
primary key with a bare DBAPI statement. The page is timed as reloaded (its
frame, statements and rows' HTML kept from the first view, its rows read from
the database anew) and, in ``queue.page_100k_cold``, as a first view.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import insert
from sqlalchemy.pool import NullPool

from bench.harness import Result, backend_label, interleaved_medians, scratch_database

CASES = 100_000
PER_PAGE = 50
TODAY = dt.date(2026, 6, 15)
TEAMS = ("intake", "investigation", "legal", "protection")
# (value, weight) spreads of a plausible office: mostly web reports, most of them settled.
KINDS = (("report", 70), ("alert", 12), ("retaliation", 5), ("training", 5), ("supporter", 4), ("idea", 4))
STATUSES = (
    ("received", 4),
    ("acknowledged", 6),
    ("triage", 8),
    ("investigating", 15),
    ("legal_review", 4),
    ("resolved", 13),
    ("closed", 50),
)
CATEGORIES = ("bribery", "embezzlement", "abuse_of_authority", "subsidy_fraud", "procurement", "other")
SOURCES = (("web", 85), ("cheongbaek", 12), ("hotline", 3))
OPEN_DEADLINE = {"received", "acknowledged", "triage", "investigating", "legal_review"}


def _pick(rng: random.Random, spread: tuple[tuple[str, int], ...], n: int) -> list[str]:
    return rng.choices([v for v, _ in spread], weights=[w for _, w in spread], k=n)


def _populate(conn: Any, rng: random.Random) -> dict[str, int]:
    """Departments, teams, users, 100,000 cases with grants, assignments and a few exclusions."""
    from app.models import (
        Case,
        CaseAssignment,
        CaseExcludedMember,
        CaseKeyGrant,
        Department,
        RecoveryKey,
        StaffUser,
        Team,
        TeamMembership,
    )

    now = dt.datetime(2026, 6, 15, 3, 0, tzinfo=dt.UTC)
    conn.execute(
        insert(Department),
        [{"id": i, "code": f"D{i:02}", "name_ko": f"부서 {i}", "name_en": f"Department {i}"} for i in range(1, 31)],
    )
    conn.execute(insert(RecoveryKey), [{"id": 1, "public_key": os.urandom(32), "active": True}])
    conn.execute(
        insert(Team),
        [
            {
                "id": i,
                "name": name,
                "kind": name,
                "public_key": os.urandom(32),
                "recovery_sealed_key_ct": os.urandom(80),
                "created_at": now,
            }
            for i, name in enumerate(TEAMS, start=1)
        ],
    )
    conn.execute(
        insert(StaffUser),
        [
            {
                "id": i,
                "username": f"officer{i}",
                "display_name": f"Officer {i}",
                "public_key": os.urandom(32),
                "wrapped_private_key_ct": os.urandom(100),
                "password_changed_at": now,
                "created_at": now,
            }
            for i in range(1, 21)
        ],
    )
    # Users 1-5 intake, 6-13 investigation, 14-17 legal, 18-20 protection; user 1 is the reader.
    members = [(1, u) for u in range(1, 6)] + [(2, u) for u in range(6, 14)]
    members += [(3, u) for u in range(14, 18)] + [(4, u) for u in range(18, 21)]
    conn.execute(
        insert(TeamMembership),
        [
            {"team_id": t, "user_id": u, "sealed_team_key_ct": os.urandom(80), "key_version": 1, "created_at": now}
            for t, u in members
        ],
    )

    kinds = _pick(rng, KINDS, CASES)
    statuses = _pick(rng, STATUSES, CASES)
    sources = _pick(rng, SOURCES, CASES)
    cases, grants, assignments = [], [], []
    blob = os.urandom(80)
    for i in range(1, CASES + 1):
        received = TODAY - dt.timedelta(days=int(rng.expovariate(1 / 300)) % 1500)
        status = statuses[i - 1]
        ack = received + dt.timedelta(days=7)
        feedback = ack + dt.timedelta(days=91)
        nxt = (ack if status == "received" else feedback) if status in OPEN_DEADLINE else None
        cases.append(
            {
                "id": i,
                "public_ref": f"HC-{received.year}-{i:06}",
                "kind": kinds[i - 1],
                "source": sources[i - 1],
                "status": status,
                "category": rng.choice(CATEGORIES),
                "department_id": rng.randint(1, 30) if rng.random() < 0.8 else None,
                "severity": rng.randint(0, 5),
                "received_on": received,
                "ack_due_on": ack,
                "feedback_due_on": feedback if status != "received" else None,
                "next_due_on": nxt,
                "waiting_on_reporter": status in OPEN_DEADLINE and rng.random() < 0.15,
                "version": 1,
            }
        )
        live = None if rng.random() > 0.02 else now  # 2 % of grants revoked
        for team, share in ((1, 0.9), (2, 0.4), (3, 0.1), (4, 0.05)):
            if rng.random() < share:
                grants.append(
                    {"case_id": i, "grantee_kind": "team", "team_id": team, "sealed_key_ct": blob, "revoked_at": live}
                )
        grants.append({"case_id": i, "grantee_kind": "recovery", "recovery_key_id": 1, "sealed_key_ct": blob})
        if sources[i - 1] == "web":
            grants.append({"case_id": i, "grantee_kind": "reporter", "sealed_key_ct": blob})
        if rng.random() < 0.05:
            grants.append({"case_id": i, "grantee_kind": "user", "user_id": rng.randint(6, 13), "sealed_key_ct": blob})
        if rng.random() < 0.4:
            assignments.append({"case_id": i, "team_id": 2, "user_id": rng.randint(6, 13), "assigned_at": now})
    conn.execute(insert(Case), cases)
    for key in ("team_id", "recovery_key_id", "user_id", "revoked_at"):
        for g in grants:
            g.setdefault(key, None)
    conn.execute(insert(CaseKeyGrant), grants)
    conn.execute(insert(CaseAssignment), assignments)
    excluded = rng.sample(range(1, CASES + 1), 500)
    conn.execute(
        insert(CaseExcludedMember),
        [{"case_id": c, "user_id": 1 + n % 5, "created_at": now} for n, c in enumerate(excluded)],
    )
    return {"cases": len(cases), "grants": len(grants), "assignments": len(assignments)}


def bench_page_100k(db: str = "sqlite") -> list[Result]:
    """One queue page of 50 (team filter, nearest deadline first), query + render, against a bare PK fetch.

    ``db`` is the backend ("sqlite" or "postgresql"): the query plan, and so the
    ratio, depends on it, which is why `make bench` runs both.
    """
    from flask_login import login_user
    from wtforms.fields.choices import SelectChoice

    from app import create_app
    from app.cases import queues
    from app.cases.queue_views import QueueFilterForm, forget_kept_pages, render_queue
    from app.db import get_session, make_engine
    from app.models import StaffUser
    from app.schema import upgrade
    from config import Settings
    from crypto.kdf import Argon2Params

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="haechi-bench-") as tmp, scratch_database(db, Path(tmp)) as url:
        upgrade(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            counts = _populate(conn, random.Random(5))
            conn.exec_driver_sql("ANALYZE")
        engine.dispose()
        setup = time.perf_counter() - started

        settings = Settings(
            instance_path=Path(tmp) / "instance",
            database_url=url,
            testing=True,
            argon2=Argon2Params(memory_kib=64, iterations=1, lanes=1),
        )
        app = create_app(settings)
        query = queues.QueueQuery(view=queues.QueueView.STATE, team_id=1, sort=queues.QueueSort.DUE)
        # The baseline speaks to the driver itself (sqlite3 or psycopg), outside SQLAlchemy and its pool.
        raw_engine = sa.create_engine(url, poolclass=NullPool)
        raw_pooled = raw_engine.raw_connection()
        raw: Any = raw_pooled.driver_connection
        mark = "?" if raw_engine.dialect.paramstyle == "qmark" else "%s"
        try:
            with app.test_request_context(
                "/staff/queues/?view=state&team=1&sort=due", headers={"Accept-Language": "en"}
            ):
                session = get_session()
                user = session.get(StaffUser, 1)
                assert user is not None
                login_user(user)
                form = QueueFilterForm(formdata=None, view="state", team="1", sort="due")
                form.team.choices = [SelectChoice("", ""), SelectChoice("1", "intake")]
                page = queues.queue_page(session, user, query, TODAY, settings.due_soon_days)
                ids = [r.id for r in page.rows]
                assert len(ids) == PER_PAGE, len(ids)
                sql = (
                    "SELECT c.id, c.public_ref, c.kind, c.status, c.severity, c.category, d.name_ko, d.name_en,"
                    " c.received_on, c.next_due_on, c.waiting_on_reporter FROM cases c"
                    " LEFT JOIN departments d ON d.id = c.department_id"
                    f" WHERE c.id IN ({', '.join([mark] * len(ids))})"
                )

                def ours() -> None:
                    result = queues.queue_page(session, user, query, TODAY, settings.due_soon_days)
                    render_queue(form, result)

                def bare() -> None:
                    rows = raw.execute(sql, ids).fetchall()
                    assert len(rows) == PER_PAGE

                def query_only() -> None:
                    queues.queue_page(session, user, query, TODAY, settings.due_soon_days)

                # The page statement exactly as the service sends it, captured from the driver
                # call, then run through the bare DBAPI: what the database itself costs.
                seen: list[tuple[str, Any]] = []

                def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
                    seen.append((statement, parameters))

                engine = app.extensions["haechi.engine"]
                queues.REPLAY.clear()  # so that SQLAlchemy sends it, where the capture sees it
                sa.event.listen(engine, "before_cursor_execute", capture)
                try:
                    query_only()
                finally:
                    sa.event.remove(engine, "before_cursor_execute", capture)
                page_sql, page_params = seen[-1]
                assert "ORDER BY" in page_sql, page_sql

                def statement_only() -> None:
                    rows = raw.execute(page_sql, page_params).fetchall()
                    assert len(rows) == PER_PAGE + 1

                def cold() -> None:
                    # A first view: no frame for these filters, no replay of these statements, no row written.
                    forget_kept_pages()
                    ours()

                t_ours, t_raw = interleaved_medians(ours, bare, runs=15)
                t_cold, t_raw_c = interleaved_medians(cold, bare, runs=15)
                t_query, t_raw_q = interleaved_medians(query_only, bare, runs=15)
                t_stmt, t_raw_s = interleaved_medians(statement_only, bare, runs=15)
        finally:
            raw_pooled.close()
            raw_engine.dispose()
            app.extensions["haechi.engine"].dispose()
    return [
        _in_ms(
            "queue.page_100k",
            t_ours,
            t_raw,
            f"{backend_label(url)}, {counts['cases']:,} cases, {counts['grants']:,} grants, "
            f"{counts['assignments']:,} assignments; first page of 50 (more follow: {page.has_next}) for a member "
            "of the filtered team, nearest deadline first, as an officer reloads it: service query (51 rows "
            "read anew, no count; its statements replayed through the driver) + render (the page's frame and "
            "its rows' HTML kept from the first view; counts and page links written anew); baseline: bare "
            f"DBAPI SELECT of the same 50 rows by id; setup {setup:.1f} s (goal ratio >= 0.25)",
        ),
        _in_ms(
            "queue.page_100k_cold",
            t_cold,
            t_raw_c,
            "the same page as a first view (new filters, or rows not shown before): no frame, no statement "
            "replay, no row kept, so SQLAlchemy renders the statements, Jinja the whole page and Python every "
            "row, against the same bare fetch",
        ),
        _in_ms(
            "queue.query_100k",
            t_query,
            t_raw_q,
            "the same page's service query alone (visibility, team filter, 51 rows; no "
            "rendering), against the same bare fetch: shows what the indexes buy apart from Jinja",
        ),
        _in_ms(
            "queue.statement_100k",
            t_stmt,
            t_raw_s,
            "the page statement alone, as the service sends it, run through the bare DBAPI "
            "(no SQLAlchemy, no Python rows, no rendering), against the same bare fetch: the database's "
            "own share, which bounds queue.page_100k from above",
        ),
    ]


def _in_ms(name: str, seconds: float, raw_seconds: float, note: str) -> Result:
    """A timed row in milliseconds against its bare fetch, measured in the same interleaved run."""
    ms, raw_ms = seconds * 1000, raw_seconds * 1000
    return Result(
        name=name, value=round(ms, 3), unit="ms", baseline=round(raw_ms, 3), ratio=round(raw_ms / ms, 3), note=note
    )


BENCHMARKS = [bench_page_100k]
