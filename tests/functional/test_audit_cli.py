"""`flask audit verify` names the first broken row after tampering; `flask audit checkpoint` signs the head."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from app import audit
from app.db import get_session
from app.models.audit import AuditCheckpoint, AuditEvent


@pytest.fixture
def chain(app) -> list[int]:
    """Six audit rows made the way the app makes them; returns their ids."""
    with app.app_context():
        db = get_session()
        ids = [audit.record(db, "test.step", actor_user_id=1, target=f"user:{i}").id for i in range(6)]
        db.commit()
        return ids


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", *args])


def _sql(app, statement: str, **params: object) -> None:
    with app.app_context():
        db = get_session()
        db.execute(text(statement), params)
        db.commit()


def test_an_intact_chain_verifies_with_counts(app, chain):
    assert _run(app, "checkpoint").output.strip() == f"checkpoint signed at row {chain[-1]}"
    r = _run(app, "verify")
    assert r.exit_code == 0
    assert r.output.splitlines()[0] == "audit chain intact: 6 rows, 1 checkpoints"


def test_an_empty_log_verifies_and_has_nothing_to_sign(app):
    assert _run(app, "checkpoint").output.strip() == "the audit log is empty; nothing to sign"
    r = _run(app, "verify")
    assert r.exit_code == 0 and "intact: 0 rows, 0 checkpoints" in r.output


def test_a_changed_field_is_named(app, chain):
    _sql(app, "UPDATE audit_events SET action = 'test.harmless' WHERE id = :id", id=chain[2])
    r = _run(app, "verify")
    assert r.exit_code == 1
    assert f"audit chain BROKEN at row {chain[2]}: content changed" in r.output


def test_swapped_rows_are_named(app, chain):
    a, b = chain[1], chain[4]
    for old, new in ((a, -1), (b, a), (-1, b)):
        _sql(app, "UPDATE audit_events SET id = :new WHERE id = :old", old=old, new=new)
    r = _run(app, "verify")
    assert r.exit_code == 1
    assert f"audit chain BROKEN at row {a}: previous row missing or reordered" in r.output


def test_a_deleted_middle_row_is_named_by_the_row_after_it(app, chain):
    _sql(app, "DELETE FROM audit_events WHERE id = :id", id=chain[3])
    r = _run(app, "verify")
    assert r.exit_code == 1
    assert f"audit chain BROKEN at row {chain[4]}: previous row missing or reordered" in r.output


def test_a_bad_checkpoint_signature_is_named(app, chain):
    _run(app, "checkpoint")
    with app.app_context():
        db = get_session()
        cp = db.scalars(select(AuditCheckpoint)).one()
        db.execute(update(AuditCheckpoint).values(signature=cp.signature[:1] + bytes(64)))
        db.commit()
    r = _run(app, "verify")
    assert r.exit_code == 1
    assert f"audit chain BROKEN at row {chain[-1]}: bad checkpoint signature" in r.output


def test_rows_after_the_newest_checkpoint_are_reported(app, chain):
    _run(app, "checkpoint")
    with app.app_context():
        db = get_session()
        audit.record(db, "test.later")
        db.commit()
        assert db.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) > chain[-1]
    r = _run(app, "verify")
    assert r.exit_code == 0 and "1 row(s) after the newest checkpoint" in r.output


def test_staff_commands_are_audited_as_the_system(app, staff):
    runner = app.test_cli_runner()
    assert (
        runner.invoke(
            args=["users", "create", "dora", "--role", "legal", "--password", "a long passphrase 42"]
        ).exit_code
        == 0
    )
    assert runner.invoke(args=["users", "disable", "dora"]).exit_code == 0
    assert runner.invoke(args=["teams", "create", "legal", "--kind", "legal", "--member", "dora"]).exit_code == 0
    assert runner.invoke(args=["departments", "add", "HR", "--ko", "인사과", "--en", "HR"]).exit_code == 0
    with app.app_context():
        rows = get_session().scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [r.action for r in rows] == [
        "user.created",
        "user.disabled",
        "team.created",
        "team.member_added",
        "department.added",
    ]
    assert {r.actor_kind for r in rows} == {"system"} and all(r.actor_user_id is None for r in rows)
    assert "dora" not in " ".join(r.target or "" for r in rows)
