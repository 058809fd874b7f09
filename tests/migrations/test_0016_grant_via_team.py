"""Migration 0016: ``case_key_grants.via_team_id``, the team a personal grant stands in for.

Runs on SQLite and, when it answers, on PostgreSQL (the ``empty_db`` fixture).
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app import schema
from app.db import make_engine

from .test_migrations import _case_id, _execute, _insert_case_in_state, _insert_staff_user, empty_db  # noqa: F401

NOW = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def _team_and_grants(url: str) -> int:
    """A team, a staff user and a case with a team grant and a personal grant; the case id."""
    _insert_staff_user(url)
    _insert_case_in_state(url, "received")
    case_id = _case_id(url)
    _execute(
        url,
        (
            "INSERT INTO teams (id, name, kind, public_key, key_version, recovery_sealed_key_ct, rekey_pending,"
            " created_at) VALUES (1, 'intake', 'intake', :k, 1, :k, :f, :now)",
            {"k": b"k", "f": False, "now": NOW},
        ),
        (
            "INSERT INTO case_key_grants (id, case_id, grantee_kind, team_id, key_version, sealed_key_ct)"
            " VALUES (1, :case, 'team', 1, 1, :ct)",
            {"case": case_id, "ct": b"team-sealed"},
        ),
        (
            "INSERT INTO case_key_grants (id, case_id, grantee_kind, user_id, key_version, sealed_key_ct)"
            " VALUES (2, :case, 'user', 1, 1, :ct)",
            {"case": case_id, "ct": b"user-sealed"},
        ),
    )
    return case_id


def _grants(url: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [
                tuple(r) for r in conn.execute(sa.text("SELECT id, sealed_key_ct FROM case_key_grants ORDER BY id"))
            ]
    finally:
        engine.dispose()


def test_0016_keeps_every_grant_unmarked_and_marks_only_personal_grants(empty_db: str) -> None:  # noqa: F811
    schema.upgrade(empty_db, "0015")
    _team_and_grants(empty_db)
    schema.upgrade(empty_db, "0016")
    assert _grants(empty_db) == [(1, b"team-sealed"), (2, b"user-sealed")]
    engine = make_engine(empty_db)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT via_team_id FROM case_key_grants")).scalars().all() == [None, None]
    finally:
        engine.dispose()
    _execute(empty_db, ("UPDATE case_key_grants SET via_team_id = 1 WHERE id = 2", {}))
    # A team's own grant stands in for nothing.
    with pytest.raises(sa.exc.IntegrityError):
        _execute(empty_db, ("UPDATE case_key_grants SET via_team_id = 1 WHERE id = 1", {}))


def test_0016_refuses_going_back_while_a_live_grant_stands_in_for_a_team(empty_db: str) -> None:  # noqa: F811
    schema.upgrade(empty_db, "0016")
    _team_and_grants(empty_db)
    _execute(empty_db, ("UPDATE case_key_grants SET via_team_id = 1 WHERE id = 2", {}))
    with pytest.raises(RuntimeError, match="1 live grant"):
        schema.downgrade(empty_db, "0015")
    assert schema.current(empty_db) == "0016"
    # Once revoked (its sealed copy destroyed) the marker means nothing more, and going back loses nothing.
    _execute(
        empty_db,
        (
            "UPDATE case_key_grants SET revoked_at = :now, sealed_key_ct = :empty WHERE id = 2",
            {"now": NOW, "empty": b""},
        ),
    )
    schema.downgrade(empty_db, "0015")
    assert schema.current(empty_db) == "0015"
    assert _grants(empty_db) == [(1, b"team-sealed"), (2, b"")]
