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
from app.models.staff import Role, StaffUser, Team, TeamKind, TeamMembership
from app.staff import keyring, service, teams
from app.staff.errors import LastToOpenCases
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


# The last staff member who can open a case does not leave the team with it.


def _remove_as(app, team_id: int, leaver: StaffMember, by: StaffMember) -> None:
    """``by``, a member holding the team key, removes ``leaver`` in the service (re-keyed at once)."""
    with app.app_context():
        db = get_session()
        team = db.get(Team, team_id)
        by_user = db.get(StaffUser, by.id)
        team_key = keyring.open_team_key(team, by_user, passwords.unwrap(PASSWORD, by_user.wrapped_private_key_ct))
        teams.remove_member(db, team, db.get(StaffUser, leaver.id), team_key, actor_user_id=by.id)
        db.commit()


def _can_open(app, case_id: int, who: StaffMember) -> bool:
    with app.app_context():
        db = get_session()
        user = db.get(StaffUser, who.id)
        try:
            case_keys.open_as_staff(
                db, db.get(Case, case_id), user, passwords.unwrap(PASSWORD, user.wrapped_private_key_ct)
            )
        except case_keys.NoAccess:
            return False
        return True


def _live_staff_grants(app, case_id: int) -> list[tuple[str, int | None, int | None, int | None]]:
    """(kind, team, user, via team) of the case's live staff grants."""
    with app.app_context():
        rows = get_session().scalars(
            select(CaseKeyGrant)
            .where(CaseKeyGrant.case_id == case_id, CaseKeyGrant.revoked_at.is_(None))
            .order_by(CaseKeyGrant.id)
        )
        return [
            (g.grantee_kind, g.team_id, g.user_id, g.via_team_id) for g in rows if g.grantee_kind in ("team", "user")
        ]


def test_removing_the_last_member_who_can_open_a_case_is_refused_and_changes_nothing(
    app, staff, client, reporter, intake
):
    excluded_case, _other = _two_reports(app, reporter)
    team_id = intake["team_id"]
    _sign_in(staff, client, intake["intake1"])
    _act(staff, client, excluded_case, "exclude", user_id=str(intake["intake3"].id), reason="conflict")
    _sign_in(staff, client, intake["supervisor"])
    r = staff.post(f"/staff/admin/teams/{team_id}/members/{intake['intake1'].id}/remove", page="/staff/admin/teams")
    assert r.status_code == 302  # intake2 still holds the case
    with app.app_context():
        db = get_session()
        ref = db.get(Case, excluded_case).public_ref
        before = (db.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)), db.get(Team, team_id))
        last_audit, rekey_pending = before[0], before[1].rekey_pending
    live_before = _live_staff_grants(app, excluded_case)
    assert live_before == [("user", None, intake["intake2"].id, team_id)]

    r = staff.post(f"/staff/admin/teams/{team_id}/members/{intake['intake2'].id}/remove", page="/staff/admin/teams")
    assert r.status_code == 302
    page = client.get("/staff/admin/teams").get_data(as_text=True)
    assert "intake2 is the last one who can open" in page and ref in page
    with app.app_context():
        db = get_session()
        assert db.get(TeamMembership, (team_id, intake["intake2"].id)).is_confirmed
        assert db.get(Team, team_id).rekey_pending == rekey_pending
        # Not even the removal's own audit row: nothing was removed.
        since = db.scalars(select(AuditEvent.action).where(AuditEvent.id > last_audit)).all()
        assert not {"team.member_removed", "case.grant_revoked", "team.rekeyed"} & set(since), since
    assert _live_staff_grants(app, excluded_case) == live_before
    assert _can_open(app, excluded_case, intake["intake2"])

    # Once the case is assigned to a colleague by name, the removal goes through.
    colleague = staff.create("investigator", Role.INVESTIGATOR)
    _sign_in(staff, client, intake["intake2"])
    assert _act(staff, client, excluded_case, "assign", user_id=str(colleague.id)).status_code == 302
    _sign_in(staff, client, intake["supervisor"])
    r = staff.post(f"/staff/admin/teams/{team_id}/members/{intake['intake2'].id}/remove", page="/staff/admin/teams")
    assert r.status_code == 302
    with app.app_context():
        assert get_session().get(TeamMembership, (team_id, intake["intake2"].id)) is None
    assert _live_staff_grants(app, excluded_case) == [("user", None, colleague.id, None)]
    assert not _can_open(app, excluded_case, intake["intake2"])
    assert _can_open(app, excluded_case, colleague)


def test_a_member_holding_the_team_key_is_refused_too_and_the_team_is_not_rekeyed(app, staff, reporter, intake):
    excluded_case, _other = _two_reports(app, reporter)
    team_id = intake["team_id"]
    with app.app_context():
        db = get_session()
        first = db.get(StaffUser, intake["intake1"].id)
        case = db.get(Case, excluded_case)
        case_key = case_keys.open_as_staff(db, case, first, passwords.unwrap(PASSWORD, first.wrapped_private_key_ct))
        cases.exclude_member(db, case, case_key, db.get(StaffUser, intake["intake3"].id), "x", first, utcnow())
        ref = case.public_ref
        db.commit()
    _remove_as(app, team_id, intake["intake1"], intake["intake2"])
    with app.app_context():
        db = get_session()
        team = db.get(Team, team_id)
        version = team.key_version
        leaver = db.get(StaffUser, intake["intake2"].id)
        team_key = keyring.open_team_key(team, leaver, passwords.unwrap(PASSWORD, leaver.wrapped_private_key_ct))
        with pytest.raises(LastToOpenCases) as refused:
            teams.remove_member(db, team, leaver, team_key, actor_user_id=intake["intake3"].id)
        assert refused.value.refs == [ref]
        db.commit()  # whatever the service left pending would be saved now
    with app.app_context():
        db = get_session()
        assert db.get(Team, team_id).key_version == version
        assert db.get(TeamMembership, (team_id, intake["intake2"].id)).is_confirmed
    assert _can_open(app, excluded_case, intake["intake2"])


# A member of two teams keeps a case the other team still entitles them to.


@pytest.fixture
def two_teams(app, staff, reporter, intake) -> dict[str, StaffMember | int]:
    """``both`` is in intake and in an investigation team with ``ex``; the first report is assigned to investigation."""
    case_id, _other = _two_reports(app, reporter)
    both = staff.create("both", Role.INTAKE, Role.INVESTIGATOR)
    ex = staff.create("ex", Role.INVESTIGATOR)
    inv_id = staff.team("investigation", TeamKind.INVESTIGATION, both, ex)
    _add_to_intake(app, staff, both)
    with app.app_context():
        db = get_session()
        first = db.get(StaffUser, intake["intake1"].id)
        case = db.get(Case, case_id)
        case_key = case_keys.open_as_staff(db, case, first, passwords.unwrap(PASSWORD, first.wrapped_private_key_ct))
        cases.assign_team(db, case, case_key, db.get(Team, inv_id), first, utcnow())
        # Investigation is sealed to ``both`` alone; intake keeps its team grant (``ex`` is not in it yet).
        cases.exclude_member(db, case, case_key, db.get(StaffUser, ex.id), "conflict", first, utcnow())
        db.commit()
    return {**intake, "case_id": case_id, "both": both, "ex": ex, "inv_id": inv_id}


def test_leaving_one_of_two_teams_that_hold_a_case_through_stand_ins_keeps_the_case(app, staff, two_teams):
    case_id, both, ex = two_teams["case_id"], two_teams["both"], two_teams["ex"]
    intake_id, inv_id = two_teams["team_id"], two_teams["inv_id"]
    _add_to_intake(app, staff, ex)  # intake is now sealed to its members one by one; ``both`` already holds a grant
    grants = _live_staff_grants(app, case_id)
    assert ("user", None, both.id, inv_id) in grants
    assert not [g for g in grants if g[0] == "team"]

    _remove_as(app, inv_id, both, ex)
    assert ("user", None, both.id, intake_id) in _live_staff_grants(app, case_id)
    assert _can_open(app, case_id, both)
    with app.app_context():
        db = get_session()
        grant = db.scalar(select(CaseKeyGrant).where(CaseKeyGrant.case_id == case_id, CaseKeyGrant.user_id == both.id))
        moved = db.scalar(select(AuditEvent).where(AuditEvent.action == "case.stand_in_moved"))
        assert moved.case_id == case_id and moved.target == f"grant:{grant.id},team:{intake_id}"
        assert moved.actor_user_id == ex.id
        assert not db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "case.grant_revoked", AuditEvent.target == f"grant:{grant.id}"
            )
        )

    # Leaving the second team too, the grant goes with it.
    _remove_as(app, intake_id, both, two_teams["intake1"])
    assert not _can_open(app, case_id, both)
    assert not [g for g in _live_staff_grants(app, case_id) if g[2] == both.id]


def test_leaving_one_team_while_the_other_holds_the_case_by_its_own_grant_revokes_the_stand_in(app, staff, two_teams):
    case_id, both, ex = two_teams["case_id"], two_teams["both"], two_teams["ex"]
    _remove_as(app, two_teams["inv_id"], both, ex)
    assert not [g for g in _live_staff_grants(app, case_id) if g[2] == both.id]
    assert _can_open(app, case_id, both)  # through intake's team grant
