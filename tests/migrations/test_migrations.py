"""Migrations are tested (STYLE.md 10): head matches the models, every revision goes down and up again.

Each test runs on SQLite and, when it answers, on PostgreSQL in a schema of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from app import schema
from app.db import Base, make_engine
from app.models import (
    Case,
    CaseEntry,
    CaseKeyGrant,
    Department,
    Disbursement,
    RecoveryKey,
    StaffUser,
    SupportRequest,
    Team,
)
from tests.conftest import postgres_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a new SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    with postgres_schema("haechi_mig") as url:
        yield url


def _differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _revisions_oldest_first() -> list[tuple[str, str]]:
    """(revision, the one before it or "base") for every revision, oldest first."""
    script = ScriptDirectory.from_config(schema.alembic_config())
    revisions = list(script.walk_revisions())
    revisions.reverse()
    return [(r.revision, str(r.down_revision) if r.down_revision else "base") for r in revisions]


def test_head_matches_the_models(empty_db: str) -> None:
    schema.upgrade(empty_db)
    assert _differences(empty_db) == []
    assert schema.current(empty_db) == _revisions_oldest_first()[-1][0]


def test_head_has_every_check_constraint_the_models_declare(empty_db: str) -> None:
    # Autogenerate does not compare CHECK constraints; their names at least must all be there.
    schema.upgrade(empty_db)
    engine = make_engine(empty_db)
    try:
        inspector = sa.inspect(engine)
        for table in Base.metadata.sorted_tables:
            declared = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
            found = {c["name"] for c in inspector.get_check_constraints(table.name)}
            assert found == declared, table.name
    finally:
        engine.dispose()


def test_downgrade_base_leaves_no_tables(empty_db: str) -> None:
    schema.upgrade(empty_db)
    schema.downgrade(empty_db, "base")
    assert _tables(empty_db) <= {"alembic_version"}
    assert schema.current(empty_db) is None


def test_upgrade_downgrade_upgrade_ends_where_it_started(empty_db: str) -> None:
    schema.upgrade(empty_db)
    schema.downgrade(empty_db, "base")
    schema.upgrade(empty_db)
    assert _differences(empty_db) == []


def test_every_revision_goes_down_and_up_again(empty_db: str) -> None:
    for revision, previous in _revisions_oldest_first():
        schema.upgrade(empty_db, revision)
        schema.downgrade(empty_db, previous)
        schema.upgrade(empty_db, revision)
        assert schema.current(empty_db) == revision


def test_upgrade_accepts_a_handed_over_connection(empty_db: str) -> None:
    engine = make_engine(empty_db)
    try:
        with engine.begin() as conn:
            schema.upgrade(conn)
        assert "cases" in _tables(empty_db)
    finally:
        engine.dispose()


def test_migrated_schema_takes_a_full_case_with_its_grants(empty_db: str) -> None:
    schema.upgrade(empty_db)
    engine = make_engine(empty_db)
    try:
        with Session(engine) as session:
            user = StaffUser(
                username="legal1",
                display_name="Legal One",
                public_key=b"u" * 32,
                wrapped_private_key_ct=b"wrapped",
            )
            team = Team(name="intake", kind="intake", public_key=b"t" * 32, recovery_sealed_key_ct=b"sealed")
            recovery = RecoveryKey(public_key=b"r" * 32)
            department = Department(code="FIN", name_ko="재무과", name_en="Finance")
            session.add_all([user, team, recovery, department])
            session.flush()
            case = Case(
                public_ref="HC-2026-000001",
                kind="report",
                source="web",
                status="received",
                department=department,
                received_on=dt.date(2026, 3, 2),
                ack_due_on=dt.date(2026, 3, 9),
                report_type="corruption",
                channel="web",
                receipt_lookup_id=b"l" * 32,
                receipt_scheme=1,
            )
            case.grants = [
                CaseKeyGrant(grantee_kind="team", team_id=team.id, sealed_key_ct=b"g1"),
                CaseKeyGrant(grantee_kind="user", user_id=user.id, sealed_key_ct=b"g2", granted_by=user.id),
                CaseKeyGrant(grantee_kind="reporter", sealed_key_ct=b"g3"),
                CaseKeyGrant(grantee_kind="recovery", recovery_key_id=recovery.id, sealed_key_ct=b"g4"),
            ]
            case.entries = [CaseEntry(kind="report", body_ct=b"body", created_on=dt.date(2026, 3, 2))]
            session.add(case)
            session.flush()
            request = SupportRequest(
                case_id=case.id,
                type="relief_medical",
                amount_requested=1_500_000,
                amount_approved=1_200_000,
                decided_by=user.id,
                requested_on=dt.date(2026, 3, 5),
            )
            session.add(request)
            session.flush()
            session.add(
                Disbursement(
                    support_request_id=request.id,
                    amount=1_200_000,
                    paid_on=dt.date(2026, 4, 1),
                    payment_ref="TX-1",
                    created_by=user.id,
                )
            )
            session.commit()
            case_id = case.id

        with Session(engine) as session:
            stored = session.get_one(Case, case_id)
            assert stored.version == 1
            assert sorted(g.grantee_kind for g in stored.grants) == ["recovery", "reporter", "team", "user"]
            assert stored.department is not None and stored.department.code == "FIN"
            # The CHECK constraints came through the migration, not only through create_all.
            session.add(CaseKeyGrant(case_id=case_id, grantee_kind="team", sealed_key_ct=b"x"))
            with pytest.raises(sa.exc.IntegrityError):
                session.flush()
    finally:
        engine.dispose()


def _insert_case_in_state(url: str, status: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO cases (public_ref, kind, source, status, received_on, version, severity)"
                    " VALUES (:ref, 'idea', 'bridge', :status, '2026-11-02', 1, 0)"
                ),
                {"ref": f"HC-2026-{status[:6]}", "status": status},
            )
    finally:
        engine.dispose()


def test_0009_lets_cases_take_the_idea_and_retaliation_states_and_refuses_going_back_over_them(
    empty_db: str,
) -> None:
    schema.upgrade(empty_db, "0008")
    with pytest.raises(sa.exc.IntegrityError):
        _insert_case_in_state(empty_db, "under_review")
    schema.upgrade(empty_db, "0009")
    for status in ("under_review", "adopted", "not_adopted", "assessing", "compliance_monitoring"):
        _insert_case_in_state(empty_db, status)
    with pytest.raises(RuntimeError, match="5 case"):
        schema.downgrade(empty_db, "0008")
    assert schema.current(empty_db) == "0009"


def _execute(url: str, *statements: tuple[str, dict[str, object]]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for sql, params in statements:
                conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def _insert_staff_user(url: str) -> None:
    _execute(
        url,
        (
            "INSERT INTO staff_users (id, username, display_name, locale, is_active, public_key,"
            " wrapped_private_key_ct, failed_logins, password_changed_at, created_at)"
            " VALUES (1, 'kim', 'Kim', 'ko', :t, :k, :k, 0, :now, :now)",
            {"t": True, "k": b"k", "now": dt.datetime(2026, 3, 2, tzinfo=dt.UTC)},
        ),
    )


def _case_id(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT MIN(id) FROM cases")).scalar_one())
    finally:
        engine.dispose()


def test_0011_refuses_going_back_while_notifications_or_preferences_exist(empty_db: str) -> None:
    schema.upgrade(empty_db, "0011")
    _insert_staff_user(empty_db)
    _insert_case_in_state(empty_db, "under_review")
    _execute(
        empty_db,
        (
            "INSERT INTO notification_preferences (user_id, event, delivery) VALUES (1, 'new_case', 'immediate')",
            {},
        ),
        (
            "INSERT INTO notifications (user_id, event, case_id, delivery, status, created_on, attempts)"
            " VALUES (1, 'new_case', :case, 'immediate', 'pending', '2026-03-02', 0)",
            {"case": _case_id(empty_db)},
        ),
    )
    with pytest.raises(RuntimeError, match="2 notification"):
        schema.downgrade(empty_db, "0010")
    assert schema.current(empty_db) == "0011"


def test_0012_refuses_going_back_while_staff_named_case_subjects_exist(empty_db: str) -> None:
    schema.upgrade(empty_db, "0012")
    _insert_case_in_state(empty_db, "under_review")
    _execute(
        empty_db,
        (
            "INSERT INTO case_subjects (case_id, kind, blind_index, value_ct, created_at)"
            " VALUES (:case, 'official', :index, :ct, :now)",
            {
                "case": _case_id(empty_db),
                "index": b"i" * 32,
                "ct": b"ct",
                "now": dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
            },
        ),
    )
    with pytest.raises(RuntimeError, match="1 case subject"):
        schema.downgrade(empty_db, "0011")
    assert schema.current(empty_db) == "0012"
    assert "case_subjects" in _tables(empty_db)


def test_0013_refuses_going_back_while_attachments_are_stored_in_the_database(empty_db: str) -> None:
    schema.upgrade(empty_db, "0013")
    _execute(
        empty_db,
        ("INSERT INTO blob_objects (key, committed, started_on) VALUES ('b1', :t, '2026-03-02')", {"t": True}),
        ("INSERT INTO blob_chunks (blob_key, seq, data) VALUES ('b1', 0, :d)", {"d": b"ciphertext"}),
    )
    with pytest.raises(RuntimeError, match="1 blob"):
        schema.downgrade(empty_db, "0012")
    assert schema.current(empty_db) == "0013"
    assert {"blob_objects", "blob_chunks"} <= _tables(empty_db)


def test_0015_erases_the_unkeyed_record_hashes_and_renames_the_column_to_data_mac(empty_db: str) -> None:
    schema.upgrade(empty_db, "0014")
    now = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    _execute(
        empty_db,
        (
            "INSERT INTO bridge_sources (id, name, kind, adapter, active, created_at)"
            " VALUES (1, 'training', 'training', 'training', :t, :now)",
            {"t": True, "now": now},
        ),
        (
            "INSERT INTO bridge_records (source_id, external_id, data_sha256, payload_ct, received_at)"
            " VALUES (1, 'EDU-1', :digest, :ct, :now)",
            {"digest": b"d" * 32, "ct": b"ct", "now": now},
        ),
    )
    schema.upgrade(empty_db, "0015")
    engine = make_engine(empty_db)
    try:
        with engine.connect() as conn:
            # The old value was the leak (a dictionary of names matched it); the importer re-keys on replay.
            assert conn.execute(sa.text("SELECT external_id, data_mac FROM bridge_records")).all() == [("EDU-1", None)]
    finally:
        engine.dispose()
    schema.downgrade(empty_db, "0014")
    assert schema.current(empty_db) == "0014"
