"""Check-in answers are for the protection team: sealed to it, shown to custodians, re-sealed when it is re-keyed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.cases import keys as case_keys
from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.models.audit import AuditEvent
from app.models.cases import Case
from app.models.protection import CheckIn, ProtectedPerson
from app.models.staff import Role, StaffUser, Team
from app.protection import answer_keys
from app.staff import keyring, teams
from crypto import FieldCipher, open_sealed, passwords
from crypto.errors import DecryptionError

from .conftest import PASSWORD, csrf_token

SECRET = "CANARY-ANSWER-4242 <b>my manager</b> moved me to the basement"


def _answer_first_check_in(app, reporter, receipt: str, text: str = SECRET) -> int:
    with app.app_context():
        db = get_session()
        first = db.scalar(select(CheckIn).order_by(CheckIn.due_on))
        first.due_on = local_today(utcnow())
        db.commit()
        check_in_id = first.id
    reporter.login(receipt)
    page = reporter.client.get("/receipt/check-ins").get_data(as_text=True)
    r = reporter.post_multipart(
        "/receipt/check-ins",
        {
            "csrf_token": csrf_token(page),
            "check_in": str(check_in_id),
            "answer": "retaliation",
            "kinds": "transfer",
            "text": text,
        },
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:1000]
    return check_in_id


def _private(user: StaffUser) -> bytes:
    return passwords.unwrap(PASSWORD, user.wrapped_private_key_ct)


@pytest.fixture
def answered(app, office, reporter):
    receipt = reporter.submit_ok(public_officer="yes", name="Kim", employee_number="EMP-1")
    return _answer_first_check_in(app, reporter, receipt)


def test_the_answer_key_is_sealed_to_the_protection_team_and_recovery_not_under_the_case_key(
    app, office, staff, answered
):
    with app.app_context():
        db = get_session()
        check_in = db.get(CheckIn, answered)
        team = db.scalar(select(Team).where(Team.name == "protection"))
        assert check_in.protection_team_id == team.id and check_in.key_version == team.key_version
        context = answer_keys.context(check_in.case_id, check_in.id)
        protector = db.get(StaffUser, office["protector"].id)
        team_private = keyring.open_team_key(team, protector, _private(protector))
        key = open_sealed(team_private, check_in.sealed_to_protection_key_ct, context)
        plain = FieldCipher(key, str(check_in.case_id)).decrypt(f"checkin.answer:{check_in.id}", check_in.free_text_ct)
        assert SECRET.encode() in plain
        assert open_sealed(staff.recovery.private, check_in.recovery_sealed_key_ct, context) == key
        # The intake team holds the case key; it opens the report, not the answer.
        intake = db.get(StaffUser, office["intake"].id)
        case_key = case_keys.open_as_staff(db, db.get(Case, check_in.case_id), intake, _private(intake))
        with pytest.raises(DecryptionError):
            FieldCipher(case_key, str(check_in.case_id)).decrypt(f"checkin.answer:{check_in.id}", check_in.free_text_ct)


def test_a_custodian_reads_the_answer_escaped_on_the_person_page_and_the_reading_is_audited(
    app, office, staff, client, answered
):
    staff.login(office["protector"])
    with app.app_context():
        person_id = get_session().scalar(select(ProtectedPerson.id))
    html = client.get(f"/staff/protection/persons/{person_id}").get_data(as_text=True)
    assert "CANARY-ANSWER-4242 &lt;b&gt;my manager&lt;/b&gt; moved me to the basement" in html
    assert "<b>my manager</b>" not in html
    assert "Transfer to another post" in html
    with app.app_context():
        events = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "protection.checkin_viewed")).all()
        assert [(e.actor_user_id, e.target) for e in events] == [(office["protector"].id, f"checkin:{answered}")]


def test_a_supervisor_who_is_not_a_custodian_sees_the_answer_but_not_what_was_written(
    app, office, staff, client, answered
):
    supervisor = staff.create("boss", Role.SUPERVISOR)
    staff.login(supervisor)
    with app.app_context():
        person_id = get_session().scalar(select(ProtectedPerson.id))
    html = client.get(f"/staff/protection/persons/{person_id}").get_data(as_text=True)
    assert "I have been treated worse because I reported" in html
    assert "CANARY-ANSWER-4242" not in html and "Readable by the protection team only." in html
    with app.app_context():
        assert get_session().scalar(select(AuditEvent).where(AuditEvent.action == "protection.checkin_viewed")) is None


def test_rekeying_the_protection_team_keeps_answers_readable_by_members_and_not_by_the_removed(
    app, office, staff, answered
):
    second = staff.create("protector2", Role.PROTECTION)
    with app.app_context():
        db = get_session()
        team = db.scalar(select(Team).where(Team.name == "protection"))
        first_user = db.get(StaffUser, office["protector"].id)
        first_key = keyring.open_team_key(team, first_user, _private(first_user))
        teams.add_member_with_key(db, team, first_key, db.get(StaffUser, second.id), first_user)
        db.commit()
        teams.remove_member(db, team, first_user, first_key)  # re-keys the team
        db.commit()
        check_in = db.get(CheckIn, answered)
        assert check_in.key_version == team.key_version == 2
        second_user = db.get(StaffUser, second.id)
        key = answer_keys.open_as_custodian(db, check_in, second_user, _private(second_user))
        assert key is not None
        plain = FieldCipher(key, str(check_in.case_id)).decrypt(f"checkin.answer:{check_in.id}", check_in.free_text_ct)
        assert SECRET.encode() in plain
        context = answer_keys.context(check_in.case_id, check_in.id)
        with pytest.raises(DecryptionError):
            open_sealed(first_key, check_in.sealed_to_protection_key_ct, context)


def test_an_all_well_answer_without_details_seals_no_key(app, office, reporter):
    receipt = reporter.submit_ok(public_officer="yes", name="Kim", employee_number="EMP-2")
    with app.app_context():
        db = get_session()
        first = db.scalar(select(CheckIn).order_by(CheckIn.due_on))
        first.due_on = local_today(utcnow())
        db.commit()
        check_in_id = first.id
    reporter.login(receipt)
    page = reporter.client.get("/receipt/check-ins").get_data(as_text=True)
    r = reporter.post_multipart(
        "/receipt/check-ins", {"csrf_token": csrf_token(page), "check_in": str(check_in_id), "answer": "all_well"}
    )
    assert r.status_code == 303
    with app.app_context():
        check_in = get_session().get(CheckIn, check_in_id)
        assert check_in.answer == "all_well" and check_in.free_text_ct is None
        assert check_in.sealed_to_protection_key_ct is None and check_in.protection_team_id is None


@pytest.mark.parametrize("bad", ["²", "9" * 30, "-1", " 1"])
def test_a_check_in_id_that_is_not_a_short_ascii_number_is_refused_with_400_and_records_nothing(
    app, office, reporter, bad
):
    receipt = reporter.submit_ok(public_officer="yes", name="Kim", employee_number="E-77")
    with app.app_context():
        db = get_session()
        first = db.scalar(select(CheckIn).order_by(CheckIn.due_on))
        first.due_on = local_today(utcnow())
        db.commit()
    reporter.login(receipt)
    page = reporter.client.get("/receipt/check-ins").get_data(as_text=True)
    r = reporter.post_multipart(
        "/receipt/check-ins", {"csrf_token": csrf_token(page), "check_in": bad, "answer": "all_well"}
    )
    assert r.status_code == 400
    with app.app_context():
        assert get_session().scalar(select(CheckIn.id).where(CheckIn.answered_on.is_not(None))) is None
