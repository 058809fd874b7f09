"""Assigning a case to a team with an excluded member seals it around them, as the exclusion did.

A fresh grant to the whole team would open with the excluded person's copy
of the team key, so the exclusion would be a check in the pages only.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import get_session
from app.models.cases import Case, CaseAssignment, CaseKeyGrant, GranteeKind
from app.models.staff import Role, StaffUser, Team, TeamKind
from app.staff import keyring, service, teams
from crypto import DecryptionError, open_sealed, passwords

from .conftest import PASSWORD
from .test_case_workflow import _act

SECRET = "SECRET-REGRANT-61f0 the road survey was paid twice"


@pytest.fixture
def excluded_case(app, staff, client, office, reporter) -> dict[str, object]:
    """A report from which intake2, a confirmed intake member, is excluded by intake1 (signed in)."""
    intake2 = staff.create("intake2", Role.INTAKE)
    with app.app_context():
        db = get_session()
        team = db.scalar(select(Team).where(Team.kind == TeamKind.INTAKE.value))
        team_private = teams.open_team_key_with_recovery(team, staff.recovery.private)
        teams.add_member_with_key(db, team, team_private, service.get_user(db, intake2.id), None)
        db.commit()
        team_id = team.id
    reporter.submit_ok(what=SECRET)
    with app.app_context():
        case_id = get_session().scalar(select(Case.id))
    staff.login(office["intake"])
    assert _act(staff, client, case_id, "exclude", user_id=str(intake2.id), reason="brother-in-law").status_code == 302
    return {"case_id": case_id, "team_id": team_id, "excluded": intake2, "colleague": office["intake"]}


def test_assigning_back_to_the_team_of_an_excluded_member_seals_to_the_others_personally(
    app, staff, client, excluded_case
):
    case_id, team_id = excluded_case["case_id"], excluded_case["team_id"]
    r = _act(staff, client, case_id, "assign", team_id=str(team_id))
    assert r.status_code == 302
    with app.app_context():
        db = get_session()
        live = db.scalars(
            select(CaseKeyGrant).where(CaseKeyGrant.case_id == case_id, CaseKeyGrant.revoked_at.is_(None))
        ).all()
        assert not [g for g in live if g.grantee_kind == GranteeKind.TEAM.value]
        colleague = [g for g in live if g.user_id == excluded_case["colleague"].id]
        assert len(colleague) == 1 and colleague[0].via_team_id == team_id
        assert db.scalar(
            select(CaseAssignment).where(CaseAssignment.case_id == case_id, CaseAssignment.team_id == team_id)
        )
        # Cryptographic: neither the excluded person's own key nor their copy of the team key opens a live grant.
        user = db.get(StaffUser, excluded_case["excluded"].id)
        private = passwords.unwrap(PASSWORD, user.wrapped_private_key_ct)
        team_key = keyring.open_team_key(db.get(Team, team_id), user, private)
        assert team_key is not None
        context = keyring.case_key_context(case_id)
        for grant in live:
            for key in (private, team_key):
                with pytest.raises(DecryptionError):
                    open_sealed(key, grant.sealed_key_ct, context)
    page = client.get(f"/staff/cases/{case_id}")
    assert page.status_code == 200 and SECRET in page.get_data(as_text=True)


def test_a_team_whose_every_member_is_excluded_is_refused_the_case(app, staff, client, excluded_case):
    case_id = excluded_case["case_id"]
    with app.app_context():
        db = get_session()
        lone = db.get(StaffUser, excluded_case["excluded"].id)
        team, _key = teams.create_team(db, "legal", TeamKind.LEGAL, [lone])
        db.commit()
        legal_id = team.id
    r = _act(staff, client, case_id, "assign", team_id=str(legal_id))
    assert r.status_code == 400
    with app.app_context():
        db = get_session()
        assert not db.scalars(
            select(CaseKeyGrant).where(CaseKeyGrant.case_id == case_id, CaseKeyGrant.team_id == legal_id)
        ).all()
        assert db.scalar(select(CaseAssignment).where(CaseAssignment.team_id == legal_id)) is None
