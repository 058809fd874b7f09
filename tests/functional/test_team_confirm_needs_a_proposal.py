"""Four eyes on team membership: a member confirms only what an admin proposed, never alone.

The confirm button used to create the membership when nobody had proposed
it, so any member of a team could hand its key (and every case sealed to it)
to anyone.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import get_session
from app.models.cases import Case
from app.models.staff import Role, StaffUser, Team, TeamKind, TeamMembership
from app.staff import service, teams
from app.staff.errors import NotATeamMember

from .conftest import StaffMember

SECRET = "SECRET-FOUR-EYES-2d9a the canteen contract was split in two"


def _intake_id(app) -> int:
    with app.app_context():
        return get_session().scalar(select(Team.id).where(Team.kind == TeamKind.INTAKE.value))


def _membership(app, team_id: int, who: StaffMember) -> TeamMembership | None:
    with app.app_context():
        return get_session().get(TeamMembership, (team_id, who.id))


def _confirm(staff, team_id: int, who: StaffMember):
    return staff.post(f"/staff/admin/teams/{team_id}/members/{who.id}/confirm")


def _propose(staff, team_id: int, who: StaffMember):
    return staff.post(f"/staff/admin/teams/{team_id}/propose", {"user_id": str(who.id)}, page="/staff/admin/teams")


def test_a_member_cannot_add_someone_nobody_proposed(app, staff, client, office, reporter):
    reporter.submit_ok(what=SECRET)
    outsider = staff.create("outsider", Role.INVESTIGATOR)
    team_id = _intake_id(app)
    staff.login(office["intake"])
    assert _confirm(staff, team_id, outsider).status_code == 403
    assert _membership(app, team_id, outsider) is None
    staff.logout()
    staff.login(outsider)
    with app.app_context():
        case_id = get_session().scalar(select(Case.id))
    page = client.get(f"/staff/cases/{case_id}")
    assert page.status_code == 404 and SECRET not in page.get_data(as_text=True)


def test_an_admin_who_is_a_member_cannot_confirm_their_own_proposal(app, staff, office):
    admin = staff.create("root", Role.ADMIN, Role.INTAKE)
    with app.app_context():
        db = get_session()
        team = db.scalar(select(Team).where(Team.kind == TeamKind.INTAKE.value))
        team_private = teams.open_team_key_with_recovery(team, staff.recovery.private)
        teams.add_member_with_key(db, team, team_private, service.get_user(db, admin.id), None)
        db.commit()
    newcomer = staff.create("newcomer", Role.INTAKE)
    team_id = _intake_id(app)
    staff.login(admin)
    assert _propose(staff, team_id, newcomer).status_code == 302
    assert _confirm(staff, team_id, newcomer).status_code == 403
    assert not _membership(app, team_id, newcomer).is_confirmed
    staff.logout()
    # A second person completes it.
    staff.login(office["intake"])
    assert _confirm(staff, team_id, newcomer).status_code == 302
    assert _membership(app, team_id, newcomer).is_confirmed


def test_a_disabled_account_is_not_confirmed(app, staff, office):
    admin = staff.create("root", Role.ADMIN)
    leaver = staff.create("leaver", Role.INTAKE)
    team_id = _intake_id(app)
    staff.login(admin)
    assert _propose(staff, team_id, leaver).status_code == 302
    staff.logout()
    with app.app_context():
        db = get_session()
        db.get(StaffUser, leaver.id).is_active = False
        db.commit()
    staff.login(office["intake"])
    assert _confirm(staff, team_id, leaver).status_code == 403
    assert not _membership(app, team_id, leaver).is_confirmed


def test_confirm_member_refuses_anything_but_a_pending_proposal_by_someone_else(app, staff, office):
    admin = staff.create("root", Role.ADMIN)
    bob = staff.create("bob", Role.INTAKE)
    with app.app_context():
        db = get_session()
        team = db.scalar(select(Team).where(Team.kind == TeamKind.INTAKE.value))
        key = teams.open_team_key_with_recovery(team, staff.recovery.private)
        member = db.get(StaffUser, office["intake"].id)
        user = db.get(StaffUser, bob.id)
        with pytest.raises(NotATeamMember):
            teams.confirm_member(team, key, user, member)  # nobody proposed bob
        teams.propose_member(db, team, user, member)
        with pytest.raises(NotATeamMember):
            teams.confirm_member(team, key, user, member)  # proposed by the confirmer
        db.rollback()
        team = db.scalar(select(Team).where(Team.kind == TeamKind.INTAKE.value))
        member, user = db.get(StaffUser, office["intake"].id), db.get(StaffUser, bob.id)
        teams.propose_member(db, team, user, db.get(StaffUser, admin.id))
        assert teams.confirm_member(team, key, user, member).is_confirmed
        with pytest.raises(NotATeamMember):
            teams.confirm_member(team, key, user, member)  # already confirmed
