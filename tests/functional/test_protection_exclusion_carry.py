"""An exclusion added to a report after its retaliation complaint was opened reaches the complaint too.

Intake (who excludes) holds no grant of the complaint, so the team grant is
re-sealed around the excluded officer at the next login of another member
of the protection team; the access checks refuse the excluded officer at once.
"""

from __future__ import annotations

from sqlalchemy import select

from app.db import get_session
from app.models.audit import AuditEvent
from app.models.cases import Case, CaseExcludedMember, CaseKeyGrant, CaseKind, GranteeKind
from app.models.staff import Team, TeamKind
from app.staff import teams

from .test_case_workflow import _act, _as, tf  # noqa: F401  (tf is a fixture)
from .test_protection_exclusion import (
    SECRET,
    _assert_sealed_around,
    _complain,
    _retaliation_case,
    second_protector,  # noqa: F401  (a fixture)
)
from .test_protection_flow import NUMBER


def _live_team_grants(app, case_id: int) -> list[CaseKeyGrant]:
    with app.app_context():
        db = get_session()
        team = db.scalar(select(Team).where(Team.kind == TeamKind.PROTECTION.value))
        return list(
            db.scalars(
                select(CaseKeyGrant).where(
                    CaseKeyGrant.case_id == case_id,
                    CaseKeyGrant.grantee_kind == GranteeKind.TEAM.value,
                    CaseKeyGrant.team_id == team.id,
                    CaseKeyGrant.revoked_at.is_(None),
                )
            )
        )


def test_an_exclusion_after_the_complaint_is_carried_to_it_and_resealed_at_a_colleagues_login(
    app,
    staff,
    client,
    reporter,
    tf,  # noqa: F811
    office,
    second_protector,  # noqa: F811
):
    receipt = reporter.submit_ok(public_officer="yes", name="Kim", employee_number=NUMBER)
    _complain(reporter, receipt)
    ret = _retaliation_case(app)
    assert _live_team_grants(app, ret.id)  # sealed to the whole team: nobody was excluded yet
    _as(staff, client, office["protector"])
    assert client.get(f"/staff/cases/{ret.id}").status_code == 200

    with app.app_context():
        original = get_session().scalar(select(Case).where(Case.kind == CaseKind.REPORT.value))
        original_id = original.id
    _as(staff, client, tf["intake"])
    r = _act(staff, client, original_id, "exclude", user_id=str(office["protector"].id), reason="spouse")
    assert r.status_code in (302, 303), r.status_code

    # At once: the access checks refuse the excluded officer on the complaint, and the exclusion is audited.
    with app.app_context():
        db = get_session()
        assert db.get(CaseExcludedMember, (ret.id, office["protector"].id)) is not None
        actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.case_id == ret.id)))
        assert {"case.member_excluded", "retaliation.exclusion_reseal_pending"} <= actions
    _as(staff, client, office["protector"])
    assert client.get(f"/staff/cases/{ret.id}").status_code == 404
    assert client.get(f"/staff/protection/cases/{ret.id}").status_code == 404
    # Intake could not open the complaint's key: the team grant waits for a member of the team.
    assert _live_team_grants(app, ret.id)

    # The colleague's login re-seals it personally and destroys the team grant.
    _as(staff, client, second_protector)
    _assert_sealed_around(app, staff, ret.id, office["protector"].id, second_protector.id)
    page = client.get(f"/staff/cases/{ret.id}")
    assert page.status_code == 200 and SECRET in page.get_data(as_text=True)


def test_a_login_reseals_nothing_when_no_complaint_excludes_a_member_of_the_team(
    app,
    staff,
    reporter,
    office,
    second_protector,  # noqa: F811
):
    receipt = reporter.submit_ok(public_officer="yes", name="Kim", employee_number=NUMBER)
    _complain(reporter, receipt)
    ret = _retaliation_case(app)
    with app.app_context():
        db = get_session()
        from app.models.staff import StaffUser
        from crypto import passwords

        from .conftest import PASSWORD

        user = db.get(StaffUser, second_protector.id)
        teams.finish_pending_rekeys(db, user, passwords.unwrap(PASSWORD, user.wrapped_private_key_ct))
        db.commit()
    assert len(_live_team_grants(app, ret.id)) == 1
