"""Joining a team fits the newcomer to the team's conflict-of-interest exclusions.

Two holes when a membership was confirmed after an exclusion:

- a person excluded from a case, later confirmed into a team that still held
  a live grant on it, got the team key and with it the case key (only the
  page check refused them): the exclusion was no longer cryptographic;
- a case the team held only through personal stand-in grants (an exclusion
  had restricted it) never reached anyone who joined afterwards.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from app import audit
from app.cases import keys as case_keys
from app.cases import service as cases
from app.db import get_session, utcnow
from app.models.audit import ActorKind, AuditEvent
from app.models.cases import Case, CaseKeyGrant, GranteeKind
from app.models.staff import Role, StaffUser, Team, TeamKind, TeamMembership
from app.staff import keyring, service, teams
from app.staff.errors import NotATeamMember
from crypto import DecryptionError, open_sealed, passwords

from .conftest import PASSWORD, StaffMember
from .test_case_workflow import _act

SECRET = "SECRET-JOINER-5e3c the bridge inspection report was rewritten"
OTHER = "SECRET-JOINER-OTHER-91aa the school meals were billed twice"


@pytest.fixture
def office_with_admin(app, staff, office) -> dict[str, StaffMember | int]:
    """The office, an admin who proposes members, and the intake team's id (intake1 its only member)."""
    with app.app_context():
        team_id = get_session().scalar(select(Team.id).where(Team.kind == TeamKind.INTAKE.value))
    return {"intake1": office["intake"], "admin": staff.create("root", Role.ADMIN), "team_id": team_id}


def _sign_in(staff, client, who: StaffMember) -> None:
    """A fresh login (it is the login that finishes what a confirmation left pending)."""
    client.delete_cookie("haechi_staff", path="/staff")
    staff.login(who)


def _reports(app, reporter) -> tuple[int, int]:
    reporter.submit_ok(what=SECRET)
    reporter.submit_ok(what=OTHER)
    with app.app_context():
        first, second = get_session().scalars(select(Case.id).order_by(Case.id)).all()
    return first, second


def _private(db, who: StaffMember) -> bytes:
    return passwords.unwrap(PASSWORD, db.get(StaffUser, who.id).wrapped_private_key_ct)


def _add_with_recovery(app, staff, team_id: int, *members: StaffMember) -> None:
    with app.app_context():
        db = get_session()
        team = db.get(Team, team_id)
        team_private = teams.open_team_key_with_recovery(team, staff.recovery.private)
        for member in members:
            teams.add_member_with_key(db, team, team_private, service.get_user(db, member.id), None)
        db.commit()


def _exclude(app, case_id: int, who: StaffMember, by: StaffMember) -> None:
    with app.app_context():
        db = get_session()
        actor = db.get(StaffUser, by.id)
        case = db.get(Case, case_id)
        case_key = case_keys.open_as_staff(db, case, actor, _private(db, by))
        cases.exclude_member(db, case, case_key, db.get(StaffUser, who.id), "conflict", actor, utcnow())
        db.commit()


def _propose(app, team_id: int, who: StaffMember, admin: StaffMember) -> None:
    with app.app_context():
        db = get_session()
        teams.propose_member(db, db.get(Team, team_id), db.get(StaffUser, who.id), db.get(StaffUser, admin.id))
        db.commit()


def _confirm(app, team_id: int, who: StaffMember, by: StaffMember, *, with_own_key: bool) -> None:
    """``by`` confirms ``who`` in the service, passing their own private key or only the team key."""
    with app.app_context():
        db = get_session()
        team, confirmer = db.get(Team, team_id), db.get(StaffUser, by.id)
        private = _private(db, by)
        team_private = teams.open_team_key_for(team, confirmer, private)
        teams.confirm_member(
            team,
            team_private,
            db.get(StaffUser, who.id),
            confirmer,
            confirmer_private=private if with_own_key else None,
        )
        db.commit()


def _live_grants(db, case_id: int) -> list[CaseKeyGrant]:
    return list(
        db.scalars(select(CaseKeyGrant).where(CaseKeyGrant.case_id == case_id, CaseKeyGrant.revoked_at.is_(None)))
    )


def _assert_opens_nothing(app, case_id: int, team_id: int, who: StaffMember) -> None:
    """Neither ``who``'s own key nor their copy of the team key opens a live grant of the case."""
    with app.app_context():
        db = get_session()
        user = db.get(StaffUser, who.id)
        private = _private(db, who)
        team_key = keyring.open_team_key(db.get(Team, team_id), user, private)
        assert team_key is not None  # they are a confirmed member: the team key is theirs
        context = keyring.case_key_context(case_id)
        for grant in _live_grants(db, case_id):
            for key in (private, team_key):
                with pytest.raises(DecryptionError):
                    open_sealed(key, grant.sealed_key_ct, context)


def _page(client, case_id: int) -> tuple[int, str]:
    r = client.get(f"/staff/cases/{case_id}")
    return r.status_code, r.get_data(as_text=True)


def _audited(app, action: str, case_id: int) -> list[AuditEvent]:
    with app.app_context():
        return list(
            get_session().scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.case_id == case_id))
        )


# A. An excluded person confirmed into a team that holds the case.


def test_an_excluded_person_confirmed_into_the_team_gets_no_key_that_opens_the_case(
    app, staff, client, reporter, office_with_admin
):
    excluded_case, other_case = _reports(app, reporter)
    intake1, admin, team_id = office_with_admin["intake1"], office_with_admin["admin"], office_with_admin["team_id"]
    joiner = staff.create("joiner", Role.INTAKE)
    _sign_in(staff, client, intake1)
    r = _act(staff, client, excluded_case, "exclude", user_id=str(joiner.id), reason="the mayor's nephew")
    assert r.status_code == 302
    _propose(app, team_id, joiner, admin)

    # Confirmed on the web, as a member does it.
    r = staff.post(f"/staff/admin/teams/{team_id}/members/{joiner.id}/confirm")
    assert r.status_code == 302

    with app.app_context():
        db = get_session()
        assert db.get(TeamMembership, (team_id, joiner.id)).is_confirmed
        live = _live_grants(db, excluded_case)
        assert not [g for g in live if g.grantee_kind == GranteeKind.TEAM.value and g.team_id == team_id]
        stand_in = [g for g in live if g.user_id == intake1.id]
        assert len(stand_in) == 1 and stand_in[0].via_team_id == team_id
        # The case the joiner is not excluded from keeps its team grant.
        assert [g for g in _live_grants(db, other_case) if g.team_id == team_id]
    _assert_opens_nothing(app, excluded_case, team_id, joiner)
    restricted = _audited(app, "case.restricted_to_members", excluded_case)
    assert restricted and restricted[-1].actor_user_id == intake1.id

    status, body = _page(client, excluded_case)
    assert status == 200 and SECRET in body
    _sign_in(staff, client, joiner)
    assert _page(client, excluded_case)[0] == 404
    status, body = _page(client, other_case)
    assert status == 200 and OTHER in body


def test_the_recovery_cli_adding_an_excluded_person_seals_the_case_around_them_too(
    app, staff, reporter, office_with_admin
):
    excluded_case, _other = _reports(app, reporter)
    intake1, team_id = office_with_admin["intake1"], office_with_admin["team_id"]
    joiner = staff.create("joiner", Role.INTAKE)
    _exclude(app, excluded_case, joiner, intake1)
    _add_with_recovery(app, staff, team_id, joiner)
    with app.app_context():
        live = _live_grants(get_session(), excluded_case)
        assert not [g for g in live if g.grantee_kind == GranteeKind.TEAM.value]
        assert [g.user_id for g in live if g.via_team_id == team_id] == [intake1.id]
    _assert_opens_nothing(app, excluded_case, team_id, joiner)
    restricted = _audited(app, "case.restricted_to_members", excluded_case)
    assert restricted and restricted[-1].actor_user_id is None and restricted[-1].actor_kind == "system"


def test_a_confirmation_that_would_leave_a_case_to_nobody_is_refused_and_changes_nothing(
    app, staff, reporter, office_with_admin
):
    excluded_case, _other = _reports(app, reporter)
    intake1, team_id = office_with_admin["intake1"], office_with_admin["team_id"]
    joiner = staff.create("joiner", Role.INTAKE)
    _exclude(app, excluded_case, joiner, intake1)
    with app.app_context():
        db = get_session()
        db.get(StaffUser, intake1.id).is_active = False  # the team's only other member has left the office
        db.commit()
    with app.app_context():
        db = get_session()
        team = db.get(Team, team_id)
        team_private = teams.open_team_key_with_recovery(team, staff.recovery.private)
        with pytest.raises(NotATeamMember):
            teams.add_member_with_key(db, team, team_private, db.get(StaffUser, joiner.id), None)
        db.rollback()
        membership = db.get(TeamMembership, (team_id, joiner.id))
        assert membership is None or not membership.is_confirmed
        assert [g for g in _live_grants(db, excluded_case) if g.team_id == team_id]


# B. A newcomer and the cases the team holds through stand-in grants.


@pytest.fixture
def restricted_case(app, staff, reporter, office_with_admin) -> dict[str, StaffMember | int]:
    """Intake1 and intake2 in intake; intake2 excluded from the first report (sealed to intake1 alone); a newcomer
    proposed by the admin."""
    case_id, other_id = _reports(app, reporter)
    intake1, team_id = office_with_admin["intake1"], office_with_admin["team_id"]
    intake2 = staff.create("intake2", Role.INTAKE)
    _add_with_recovery(app, staff, team_id, intake2)
    _exclude(app, case_id, intake2, intake1)
    newcomer = staff.create("newcomer", Role.INTAKE)
    _propose(app, team_id, newcomer, office_with_admin["admin"])
    with app.app_context():
        live = _live_grants(get_session(), case_id)
        assert not [g for g in live if g.grantee_kind == GranteeKind.TEAM.value]
    return {
        "case_id": case_id,
        "other_id": other_id,
        "team_id": team_id,
        "intake1": intake1,
        "intake2": intake2,
        "newcomer": newcomer,
    }


def test_a_newcomer_confirmed_by_a_member_who_holds_the_case_gets_it_as_a_stand_in_grant(
    app, staff, client, restricted_case
):
    case_id, team_id, newcomer = restricted_case["case_id"], restricted_case["team_id"], restricted_case["newcomer"]
    _confirm(app, team_id, newcomer, restricted_case["intake1"], with_own_key=True)
    with app.app_context():
        mine = [g for g in _live_grants(get_session(), case_id) if g.user_id == newcomer.id]
        assert len(mine) == 1 and mine[0].via_team_id == team_id
    granted = _audited(app, "case.stand_in_granted", case_id)
    assert len(granted) == 1 and granted[0].actor_user_id == restricted_case["intake1"].id
    assert not _audited(app, teams.STAND_IN_PENDING, case_id)
    _sign_in(staff, client, newcomer)
    status, body = _page(client, case_id)
    assert status == 200 and SECRET in body
    assert OTHER in _page(client, restricted_case["other_id"])[1]


def test_a_newcomer_confirmed_with_the_team_key_alone_gets_the_case_at_a_members_next_login(
    app, staff, client, restricted_case
):
    case_id, team_id, newcomer = restricted_case["case_id"], restricted_case["team_id"], restricted_case["newcomer"]
    _confirm(app, team_id, newcomer, restricted_case["intake1"], with_own_key=False)
    pending = _audited(app, teams.STAND_IN_PENDING, case_id)
    assert len(pending) == 1 and pending[0].target == f"team:{team_id},user:{newcomer.id}"
    _sign_in(staff, client, newcomer)
    assert _page(client, case_id)[0] == 404  # nobody who could open it has signed in yet

    _sign_in(staff, client, restricted_case["intake2"])  # excluded from the case: cannot finish it
    _sign_in(staff, client, restricted_case["intake1"])
    assert len(_audited(app, "case.stand_in_granted", case_id)) == 1
    _sign_in(staff, client, newcomer)
    status, body = _page(client, case_id)
    assert status == 200 and SECRET in body

    # Done once: a later login seals nothing more.
    _sign_in(staff, client, restricted_case["intake1"])
    assert len(_audited(app, "case.stand_in_granted", case_id)) == 1


def test_a_newcomer_confirmed_on_the_web_reads_the_restricted_case_at_once(app, staff, client, restricted_case):
    """The confirm page passes the confirmer's own key, so the stand-in grant is sealed with the confirmation."""
    case_id, team_id, newcomer = restricted_case["case_id"], restricted_case["team_id"], restricted_case["newcomer"]
    _sign_in(staff, client, restricted_case["intake1"])
    assert staff.post(f"/staff/admin/teams/{team_id}/members/{newcomer.id}/confirm").status_code == 302
    _sign_in(staff, client, newcomer)
    status, body = _page(client, case_id)
    assert status == 200 and SECRET in body


def test_a_stand_in_grant_revoked_on_purpose_is_not_sealed_again_at_the_next_login(app, staff, client, restricted_case):
    case_id, team_id, newcomer = restricted_case["case_id"], restricted_case["team_id"], restricted_case["newcomer"]
    intake1 = restricted_case["intake1"]
    _confirm(app, team_id, newcomer, intake1, with_own_key=False)
    _sign_in(staff, client, intake1)  # finishes the pending grant
    with app.app_context():
        db = get_session()
        grant = next(g for g in _live_grants(db, case_id) if g.user_id == newcomer.id)
        cases.revoke_grant(db, db.get(Case, case_id), grant, db.get(StaffUser, intake1.id), utcnow())
        db.commit()
    _sign_in(staff, client, intake1)
    with app.app_context():
        assert not [g for g in _live_grants(get_session(), case_id) if g.user_id == newcomer.id]
    _sign_in(staff, client, newcomer)
    assert _page(client, case_id)[0] == 404


def test_a_newcomer_excluded_from_the_restricted_case_gets_nothing_of_it(app, staff, client, restricted_case):
    case_id, team_id, newcomer = restricted_case["case_id"], restricted_case["team_id"], restricted_case["newcomer"]
    _exclude(app, case_id, newcomer, restricted_case["intake1"])
    _confirm(app, team_id, newcomer, restricted_case["intake1"], with_own_key=True)
    with app.app_context():
        db = get_session()
        assert not [
            g
            for g in db.scalars(select(CaseKeyGrant).where(CaseKeyGrant.case_id == case_id))
            if g.user_id == newcomer.id
        ]
    assert not _audited(app, "case.stand_in_granted", case_id)
    assert not _audited(app, teams.STAND_IN_PENDING, case_id)
    _assert_opens_nothing(app, case_id, team_id, newcomer)
    _sign_in(staff, client, restricted_case["intake1"])
    _sign_in(staff, client, newcomer)
    assert _page(client, case_id)[0] == 404
    assert OTHER in _page(client, restricted_case["other_id"])[1]


def test_a_newcomer_who_leaves_the_team_loses_the_stand_in_grant_they_were_given(app, staff, client, restricted_case):
    case_id, team_id, newcomer = restricted_case["case_id"], restricted_case["team_id"], restricted_case["newcomer"]
    intake1 = restricted_case["intake1"]
    _confirm(app, team_id, newcomer, intake1, with_own_key=True)
    with app.app_context():
        db = get_session()
        team = db.get(Team, team_id)
        team_key = keyring.open_team_key(team, db.get(StaffUser, intake1.id), _private(db, intake1))
        teams.remove_member(db, team, db.get(StaffUser, newcomer.id), team_key, actor_user_id=intake1.id)
        db.commit()
        assert not [g for g in _live_grants(db, case_id) if g.user_id == newcomer.id]
    _sign_in(staff, client, newcomer)
    assert _page(client, case_id)[0] == 404


# C. Pending rows a login reads: malformed ones are skipped, old ones are no longer read.


@pytest.mark.parametrize("user_part", ["²", "abc", "", "{id}\n", "{id},x", "٣"])
def test_a_malformed_pending_row_is_skipped_and_logged_and_every_login_still_works(
    app, staff, client, restricted_case, caplog, user_part
):
    case_id, team_id, newcomer = restricted_case["case_id"], restricted_case["team_id"], restricted_case["newcomer"]
    _confirm(app, team_id, newcomer, restricted_case["intake1"], with_own_key=False)  # one good pending row
    bad_target = f"team:{team_id},user:" + user_part.format(id=newcomer.id)
    with app.app_context():
        db = get_session()
        audit.record(db, teams.STAND_IN_PENDING, actor_kind=ActorKind.SYSTEM, case_id=case_id, target=bad_target)
        db.commit()
    with caplog.at_level(logging.WARNING, logger="app.staff.teams"):
        _sign_in(staff, client, restricted_case["intake1"])
    assert client.get("/staff/").status_code == 200  # signed in
    warnings = [r for r in caplog.records if r.name == "app.staff.teams"]
    assert warnings and all(r.levelno == logging.WARNING for r in warnings)
    assert not any(bad_target in r.getMessage() or "user:" in r.getMessage() for r in warnings)
    # The well-formed row was still finished.
    assert len(_audited(app, "case.stand_in_granted", case_id)) == 1
    _sign_in(staff, client, newcomer)
    status, body = _page(client, case_id)
    assert status == 200 and SECRET in body


def test_a_pending_row_older_than_the_window_is_no_longer_read_at_login(app, staff, client, restricted_case):
    case_id, team_id, newcomer = restricted_case["case_id"], restricted_case["team_id"], restricted_case["newcomer"]
    intake1 = restricted_case["intake1"]
    long_ago = utcnow() - teams.STAND_IN_PENDING_WINDOW - dt.timedelta(days=1)
    with app.app_context():
        db = get_session()
        team, confirmer = db.get(Team, team_id), db.get(StaffUser, intake1.id)
        team_private = teams.open_team_key_for(team, confirmer, _private(db, intake1))
        teams.confirm_member(team, team_private, db.get(StaffUser, newcomer.id), confirmer, now=long_ago)
        db.commit()
    pending = _audited(app, teams.STAND_IN_PENDING, case_id)
    assert len(pending) == 1 and pending[0].at == long_ago

    _sign_in(staff, client, intake1)  # could open the case and finish it, but the row is too old to be read
    assert not _audited(app, "case.stand_in_granted", case_id)
    _sign_in(staff, client, newcomer)
    assert _page(client, case_id)[0] == 404

    # What the docstring tells them to do: a member assigns them the case.
    _sign_in(staff, client, intake1)
    assert _act(staff, client, case_id, "assign", user_id=str(newcomer.id)).status_code == 302
    _sign_in(staff, client, newcomer)
    status, body = _page(client, case_id)
    assert status == 200 and SECRET in body


def test_a_pending_row_inside_the_window_is_still_finished_at_login(app, staff, client, restricted_case):
    case_id, team_id, newcomer = restricted_case["case_id"], restricted_case["team_id"], restricted_case["newcomer"]
    intake1 = restricted_case["intake1"]
    with app.app_context():
        db = get_session()
        team, confirmer = db.get(Team, team_id), db.get(StaffUser, intake1.id)
        team_private = teams.open_team_key_for(team, confirmer, _private(db, intake1))
        recent = utcnow() - teams.STAND_IN_PENDING_WINDOW + dt.timedelta(days=1)
        teams.confirm_member(team, team_private, db.get(StaffUser, newcomer.id), confirmer, now=recent)
        db.commit()
    _sign_in(staff, client, intake1)
    assert len(_audited(app, "case.stand_in_granted", case_id)) == 1
