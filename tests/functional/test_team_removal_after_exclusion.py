"""Leaving a team after a conflict-of-interest exclusion: the team is re-keyed and the leaver loses the cases.

An exclusion revokes the team's grant (its sealed copy destroyed) and seals
the case to the other members one by one. Re-keying the team used to try to
open that destroyed copy: a removal by a member answered 500, and a removal
by someone without the team key left a re-key that broke every remaining
member's login. And the personal grants the exclusion made stayed with a
member who left the team.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.cases import keys as case_keys
from app.cases import service as cases
from app.db import get_session, utcnow
from app.models.audit import AuditEvent
from app.models.cases import Case, CaseKeyGrant
from app.models.staff import Role, StaffUser, Team, TeamKind
from app.staff import keyring, service, teams
from crypto import DecryptionError, open_sealed, passwords

from .conftest import PASSWORD, StaffMember
from .test_case_workflow import _act

SECRET = "SECRET-EXCLUDED-4b1e the deputy signed the invoices of his cousin"
OTHER = "SECRET-UNTOUCHED-8c27 the parking fines were never banked"


@pytest.fixture
def intake(app, staff, office) -> dict[str, StaffMember | int]:
    """The intake team with three confirmed members (intake1 from the office, intake2, intake3) and a supervisor."""
    people: dict[str, StaffMember | int] = {
        "intake1": office["intake"],
        "intake2": staff.create("intake2", Role.INTAKE),
        "intake3": staff.create("intake3", Role.INTAKE),
        "supervisor": staff.create("sup", Role.SUPERVISOR),
    }
    _add_to_intake(app, staff, people["intake2"], people["intake3"])  # type: ignore[arg-type]
    with app.app_context():
        people["team_id"] = get_session().scalar(select(Team.id).where(Team.kind == TeamKind.INTAKE.value))
    return people


def _add_to_intake(app, staff, *members: StaffMember) -> None:
    with app.app_context():
        db = get_session()
        team = db.scalar(select(Team).where(Team.kind == TeamKind.INTAKE.value))
        team_private = teams.open_team_key_with_recovery(team, staff.recovery.private)
        for member in members:
            teams.add_member_with_key(db, team, team_private, service.get_user(db, member.id), None)
        db.commit()


def _sign_in(staff, client, who: StaffMember) -> None:
    """A fresh login (it is the login that finishes a pending re-key)."""
    client.delete_cookie("haechi_staff", path="/staff")
    staff.login(who)


def _two_reports(app, reporter) -> tuple[int, int]:
    reporter.submit_ok(what=SECRET)
    reporter.submit_ok(what=OTHER)
    with app.app_context():
        first, second = get_session().scalars(select(Case.id).order_by(Case.id)).all()
    return first, second


def _keys_of(app, who: StaffMember, team_id: int) -> tuple[bytes, bytes]:
    """``who``'s private key and their current copy of the team key."""
    with app.app_context():
        db = get_session()
        user = db.get(StaffUser, who.id)
        private = passwords.unwrap(PASSWORD, user.wrapped_private_key_ct)
        team_key = keyring.open_team_key(db.get(Team, team_id), user, private)
        assert team_key is not None
        return private, team_key


def _assert_no_live_grant_opens(app, case_ids: tuple[int, ...], *keys: bytes) -> None:
    with app.app_context():
        db = get_session()
        for case_id in case_ids:
            context = keyring.case_key_context(case_id)
            for grant in db.scalars(select(CaseKeyGrant).where(CaseKeyGrant.case_id == case_id)):
                if grant.revoked_at is not None:
                    assert grant.sealed_key_ct == b""
                    continue
                for key in keys:
                    with pytest.raises(DecryptionError):
                        open_sealed(key, grant.sealed_key_ct, context)


def _page(client, case_id: int) -> tuple[int, str]:
    r = client.get(f"/staff/cases/{case_id}")
    return r.status_code, r.get_data(as_text=True)


def test_after_an_exclusion_a_removal_without_the_team_key_is_rekeyed_at_the_next_login_and_nobody_is_locked_out(
    app, staff, client, reporter, intake
):
    excluded_case, other_case = _two_reports(app, reporter)
    team_id = intake["team_id"]
    _sign_in(staff, client, intake["intake1"])
    r = _act(staff, client, excluded_case, "exclude", user_id=str(intake["intake3"].id), reason="conflict")
    assert r.status_code == 302
    leaver_keys = _keys_of(app, intake["intake2"], team_id)

    # A supervisor, who holds no intake key, removes intake2: the re-key waits for a member's login.
    _sign_in(staff, client, intake["supervisor"])
    r = staff.post(f"/staff/admin/teams/{team_id}/members/{intake['intake2'].id}/remove", page="/staff/admin/teams")
    assert r.status_code == 302
    with app.app_context():
        assert get_session().get(Team, team_id).rekey_pending

    # Every remaining member signs in (the first finishes the re-key) and keeps what they had.
    _sign_in(staff, client, intake["intake1"])
    with app.app_context():
        team = get_session().get(Team, team_id)
        assert not team.rekey_pending and team.key_version == 2
    status, body = _page(client, excluded_case)
    assert status == 200 and SECRET in body
    assert OTHER in _page(client, other_case)[1]
    _sign_in(staff, client, intake["intake3"])
    assert OTHER in _page(client, other_case)[1]
    assert _page(client, excluded_case)[0] == 404  # still excluded

    # The leaver opens neither case, by the pages or with the keys they held.
    _sign_in(staff, client, intake["intake2"])
    assert _page(client, excluded_case)[0] == 404
    assert _page(client, other_case)[0] == 404
    _assert_no_live_grant_opens(app, (excluded_case, other_case), *leaver_keys)


def test_after_an_exclusion_a_member_who_holds_the_key_removes_a_colleague_and_the_team_is_rekeyed_at_once(
    app, staff, client, reporter, intake
):
    lead = staff.create("lead", Role.INTAKE, Role.SUPERVISOR)
    _add_to_intake(app, staff, lead)
    excluded_case, other_case = _two_reports(app, reporter)
    team_id = intake["team_id"]
    _sign_in(staff, client, intake["intake1"])
    assert (
        _act(staff, client, excluded_case, "exclude", user_id=str(intake["intake3"].id), reason="x").status_code == 302
    )
    leaver_keys = _keys_of(app, intake["intake2"], team_id)

    _sign_in(staff, client, lead)
    r = staff.post(f"/staff/admin/teams/{team_id}/members/{intake['intake2'].id}/remove", page="/staff/admin/teams")
    assert r.status_code == 302
    with app.app_context():
        team = get_session().get(Team, team_id)
        assert not team.rekey_pending and team.key_version == 2
    assert SECRET in _page(client, excluded_case)[1]
    assert OTHER in _page(client, other_case)[1]

    _sign_in(staff, client, intake["intake2"])
    assert _page(client, excluded_case)[0] == 404
    assert _page(client, other_case)[0] == 404
    _assert_no_live_grant_opens(app, (excluded_case, other_case), *leaver_keys)


def test_a_rekey_skips_the_revoked_team_grant_and_reseals_the_live_ones(app, staff, reporter, intake):
    excluded_case, other_case = _two_reports(app, reporter)
    team_id = intake["team_id"]
    with app.app_context():
        db = get_session()
        team = db.get(Team, team_id)
        first = db.get(StaffUser, intake["intake1"].id)
        first_private = passwords.unwrap(PASSWORD, first.wrapped_private_key_ct)
        case = db.get(Case, excluded_case)
        case_key = case_keys.open_as_staff(db, case, first, first_private)
        cases.exclude_member(db, case, case_key, db.get(StaffUser, intake["intake3"].id), "x", first, utcnow())
        team_key = keyring.open_team_key(team, first, first_private)
        teams.remove_member(db, team, db.get(StaffUser, intake["intake2"].id), team_key, actor_user_id=first.id)
        db.commit()
        grants = db.scalars(select(CaseKeyGrant).where(CaseKeyGrant.team_id == team_id)).all()
        by_case = {g.case_id: g for g in grants}
        assert by_case[excluded_case].revoked_at is not None and by_case[excluded_case].sealed_key_ct == b""
        assert by_case[other_case].key_version == 2
        new_team_key = keyring.open_team_key(team, first, first_private)
        assert new_team_key is not None
        assert len(open_sealed(new_team_key, by_case[other_case].sealed_key_ct, keyring.case_key_context(other_case)))


def test_leaving_the_team_revokes_the_grants_that_stood_in_for_it_and_audits_each(app, staff, client, reporter, intake):
    excluded_case, _other = _two_reports(app, reporter)
    team_id = intake["team_id"]
    _sign_in(staff, client, intake["intake1"])
    _act(staff, client, excluded_case, "exclude", user_id=str(intake["intake3"].id), reason="conflict")
    with app.app_context():
        stand_in = get_session().scalar(
            select(CaseKeyGrant).where(
                CaseKeyGrant.case_id == excluded_case, CaseKeyGrant.user_id == intake["intake2"].id
            )
        )
        assert stand_in.via_team_id == team_id and stand_in.revoked_at is None
        stand_in_id = stand_in.id
    _sign_in(staff, client, intake["supervisor"])
    staff.post(f"/staff/admin/teams/{team_id}/members/{intake['intake2'].id}/remove", page="/staff/admin/teams")
    with app.app_context():
        db = get_session()
        grant = db.get(CaseKeyGrant, stand_in_id)
        assert grant.revoked_at is not None and grant.sealed_key_ct == b""
        audited = db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "case.grant_revoked", AuditEvent.target == f"grant:{grant.id}"
            )
        )
        assert audited is not None
        assert audited.case_id == excluded_case and audited.actor_user_id == intake["supervisor"].id
        # The colleagues' own stand-in grants are untouched.
        assert db.scalar(
            select(CaseKeyGrant).where(
                CaseKeyGrant.case_id == excluded_case,
                CaseKeyGrant.user_id == intake["intake1"].id,
                CaseKeyGrant.revoked_at.is_(None),
            )
        )


def test_a_member_also_assigned_the_case_by_name_keeps_it_after_leaving_the_team(app, staff, client, reporter, intake):
    excluded_case, _other = _two_reports(app, reporter)
    team_id = intake["team_id"]
    _sign_in(staff, client, intake["intake1"])
    _act(staff, client, excluded_case, "exclude", user_id=str(intake["intake3"].id), reason="conflict")
    assert _act(staff, client, excluded_case, "assign", user_id=str(intake["intake2"].id)).status_code == 302
    _sign_in(staff, client, intake["supervisor"])
    staff.post(f"/staff/admin/teams/{team_id}/members/{intake['intake2'].id}/remove", page="/staff/admin/teams")
    _sign_in(staff, client, intake["intake2"])
    status, body = _page(client, excluded_case)
    assert status == 200 and SECRET in body
