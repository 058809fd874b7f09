"""Sealing to the protection team and re-keying it serialise on the team row (PostgreSQL row locks).

Two real sessions on two connections: the reporter's transaction seals to
the team's key while the team is re-keyed in another. Without the lock the
re-key lists what to re-seal before the reporter's transaction commits, and
the answer (or identity) stays under the dead key, unreadable by everyone.
SQLite admits one writer at a time, so the race needs PostgreSQL.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.cases.deadlines import local_today
from app.db import utcnow
from app.models.cases import Case, IdentityRecord
from app.models.protection import CheckIn
from app.models.staff import StaffUser, Team, TeamKind
from app.protection import answer_keys, checkins
from app.staff import keyring, teams
from crypto import open_sealed, passwords
from tests.conftest import BACKEND

from .conftest import PASSWORD

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="row locks: the race needs two PostgreSQL connections")


def _wait_until_someone_waits_for_a_lock(db: Session, deadline_s: float = 20.0) -> None:
    """Poll until another backend of this database waits on a lock (the re-key, blocked), or give up."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        waiting = db.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        )
        db.rollback()
        if waiting:
            return
        time.sleep(0.05)


def _protector_private(mk, user_id: int) -> bytes:
    db = mk()
    try:
        return passwords.unwrap(PASSWORD, db.get(StaffUser, user_id).wrapped_private_key_ct)
    finally:
        db.close()


def _rekey_in_thread(mk, team_id: int, protector_id: int, private: bytes, errors: list[BaseException]):
    def run() -> None:
        a = mk()
        try:
            team = a.get(Team, team_id)
            user = a.get(StaffUser, protector_id)
            teams.rekey(a, team, keyring.open_team_key(team, user, private))
            a.commit()
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)
        finally:
            a.close()

    return threading.Thread(target=run)


def test_an_answer_sealed_while_the_team_is_rekeyed_is_resealed_to_the_new_key(app, office, reporter):
    reporter.submit_ok(public_officer="yes", name="Kim", employee_number="E-77")
    mk = app.extensions["haechi.sessionmaker"]
    private = _protector_private(mk, office["protector"].id)
    b, watcher, c = mk(), mk(), mk()
    try:
        first = b.scalar(select(CheckIn).order_by(CheckIn.due_on))
        first.due_on = local_today(utcnow())
        b.commit()
        check_in_id = first.id
        team_id = b.scalar(select(Team.id).where(Team.kind == TeamKind.PROTECTION.value))
        # The reporter's request seals the answer to the team's key; not committed yet.
        case = b.get(Case, first.case_id)
        checkins.answer(
            b, case, check_in_id, checkins.Answer("concern", ("transfer",), "my boss"), local_today(utcnow())
        )
        b.flush()
        errors: list[BaseException] = []
        worker = _rekey_in_thread(mk, team_id, office["protector"].id, private, errors)
        worker.start()
        _wait_until_someone_waits_for_a_lock(watcher)
        b.commit()
        worker.join(30)
        assert not worker.is_alive() and not errors, errors

        check_in = c.get(CheckIn, check_in_id)
        team = c.get(Team, team_id)
        assert team.key_version == 2
        assert check_in.key_version == team.key_version
        user = c.get(StaffUser, office["protector"].id)
        key = answer_keys.open_as_custodian(c, check_in, user, private)
        assert key is not None
    finally:
        for session in (b, watcher, c):
            session.close()


def test_an_identity_sealed_at_submission_while_the_team_is_rekeyed_is_resealed_to_the_new_key(
    app, office, reporter, monkeypatch
):
    """The submission locks the protection team before sealing the identity key; the re-key waits for it."""
    from app.reporting import service

    mk = app.extensions["haechi.sessionmaker"]
    private = _protector_private(mk, office["protector"].id)
    with mk() as db:
        team_id = db.scalar(select(Team.id).where(Team.kind == TeamKind.PROTECTION.value))
    errors: list[BaseException] = []
    started: list[threading.Thread] = []
    real_record = service.record

    def record_then_race(db, action, **kw):
        # Inside the submission, after sealing and before commit: start the re-key and let it block.
        if action == "report.submitted" and not started:
            worker = _rekey_in_thread(mk, team_id, office["protector"].id, private, errors)
            worker.start()
            started.append(worker)
            watcher = mk()
            _wait_until_someone_waits_for_a_lock(watcher)
            watcher.close()
        return real_record(db, action, **kw)

    monkeypatch.setattr(service, "record", record_then_race)
    reporter.submit_ok(public_officer="yes", name="Kim", employee_number="E-78")
    assert started
    started[0].join(30)
    assert not started[0].is_alive() and not errors, errors
    c = mk()
    try:
        record = c.scalar(select(IdentityRecord))
        team = c.get(Team, team_id)
        assert team.key_version == 2 and record.key_version == 2
        user = c.get(StaffUser, office["protector"].id)
        team_private = keyring.open_team_key(team, user, private)
        assert open_sealed(
            team_private, record.sealed_to_protection_key_ct, keyring.identity_key_context(record.case_id)
        )
    finally:
        c.close()
