"""Conflict-of-interest exclusions reach the protection side: retaliation cases and every protection page.

An officer excluded from a report must not read the retaliation complaint
about it (the case key is sealed around them, as ``exclude_member`` does)
nor see its reference, answers and alerts on the protection pages, nor act
on them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.models.cases import Case, CaseExcludedMember, CaseKeyGrant, CaseKind, GranteeKind
from app.models.protection import ProtectedPerson, RetaliationAlert
from app.models.staff import Role, Team, TeamKind
from app.staff import service, teams
from app.staff.keyring import case_key_context
from crypto import DecryptionError, open_sealed

from .conftest import csrf_token
from .test_case_workflow import _act, _as, tf  # noqa: F401  (tf is a fixture)
from .test_protection_flow import NUMBER, _event, _import

SECRET = "SECRET-COMPLAINT my manager moved me to the archive"
DASHBOARD = "/staff/protection/"


@pytest.fixture
def second_protector(app, staff, office):
    """A second confirmed member of the protection team (so sealing around the first leaves someone)."""
    other = staff.create("protector2", Role.PROTECTION)
    with app.app_context():
        db = get_session()
        team = db.scalar(select(Team).where(Team.kind == TeamKind.PROTECTION.value))
        team_private = teams.open_team_key_with_recovery(team, staff.recovery.private)
        teams.add_member_with_key(db, team, team_private, service.get_user(db, other.id), None)
        db.commit()
    return other


def _excluded_report(app, staff, client, reporter, tf, office) -> tuple[str, Case]:  # noqa: F811
    """A protected public officer's report from which the protector is excluded by intake."""
    receipt = reporter.submit_ok(public_officer="yes", name="Kim", employee_number=NUMBER)
    with app.app_context():
        original = get_session().scalar(select(Case).where(Case.kind == CaseKind.REPORT.value))
        get_session().expunge(original)
    _as(staff, client, tf["intake"])
    r = _act(staff, client, original.id, "exclude", user_id=str(office["protector"].id), reason="spouse")
    assert r.status_code in (302, 303), r.status_code
    return receipt, original


def _complain(reporter, receipt: str) -> None:
    assert reporter.login(receipt).status_code == 303
    page = reporter.client.get("/receipt/retaliation").get_data(as_text=True)
    r = reporter.post_multipart(
        "/receipt/retaliation",
        {"csrf_token": csrf_token(page), "what": SECRET, "measure_type": "", "measure_on": ""},
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:1500]


def _retaliation_case(app) -> Case:
    with app.app_context():
        case = get_session().scalar(select(Case).where(Case.kind == CaseKind.RETALIATION.value))
        get_session().expunge(case)
        return case


def _assert_sealed_around(app, staff, case_id: int, excluded_id: int, reader_id: int) -> None:
    """The exclusion is copied and no live grant opens with the excluded officer's team key or own key."""
    with app.app_context():
        db = get_session()
        assert db.get(CaseExcludedMember, (case_id, excluded_id)) is not None
        team = db.scalar(select(Team).where(Team.kind == TeamKind.PROTECTION.value))
        team_private = teams.open_team_key_with_recovery(team, staff.recovery.private)
        live = list(db.scalars(select(CaseKeyGrant).where(CaseKeyGrant.case_id == case_id)))
        live = [g for g in live if g.revoked_at is None]
        assert not [g for g in live if g.grantee_kind == GranteeKind.TEAM.value and g.team_id == team.id]
        assert not [g for g in live if g.user_id == excluded_id]
        readers = [g for g in live if g.grantee_kind == GranteeKind.USER.value and g.user_id == reader_id]
        assert readers
        # The personal grant stands in for the protection team: leaving the team revokes it.
        assert all(g.via_team_id == team.id for g in readers)
        for grant in live:
            with pytest.raises(DecryptionError):
                open_sealed(team_private, grant.sealed_key_ct, case_key_context(case_id))


def test_a_complaint_about_a_report_is_sealed_around_the_officer_excluded_from_the_report(
    app,
    staff,
    client,
    reporter,
    tf,  # noqa: F811
    office,
    second_protector,
):
    receipt, _original = _excluded_report(app, staff, client, reporter, tf, office)
    _complain(reporter, receipt)
    ret = _retaliation_case(app)
    _assert_sealed_around(app, staff, ret.id, office["protector"].id, second_protector.id)
    _as(staff, client, office["protector"])
    assert client.get(f"/staff/cases/{ret.id}").status_code == 404
    assert client.get(f"/staff/protection/cases/{ret.id}").status_code == 404
    _as(staff, client, second_protector)
    page = client.get(f"/staff/cases/{ret.id}")
    assert page.status_code == 200 and SECRET in page.get_data(as_text=True)


def test_a_case_opened_from_an_alert_is_sealed_around_the_officer_excluded_from_the_report(
    app,
    staff,
    client,
    reporter,
    tf,  # noqa: F811
    office,
    second_protector,
):
    _receipt, _original = _excluded_report(app, staff, client, reporter, tf, office)
    _import(app, [_event("HR-9", "demotion", local_today(utcnow()))])
    with app.app_context():
        alert_id = get_session().scalar(select(RetaliationAlert.id))
    _as(staff, client, second_protector)
    token = csrf_token(client.get(DASHBOARD).get_data(as_text=True))
    assert client.post(f"/staff/protection/alerts/{alert_id}/open-case", data={"csrf_token": token}).status_code == 303
    ret = _retaliation_case(app)
    _assert_sealed_around(app, staff, ret.id, office["protector"].id, second_protector.id)
    _as(staff, client, office["protector"])
    assert client.get(f"/staff/cases/{ret.id}").status_code == 404


def test_when_every_protection_officer_is_excluded_the_complaint_goes_to_the_supervisors(
    app,
    staff,
    client,
    reporter,
    tf,  # noqa: F811
    office,
):
    receipt, _original = _excluded_report(app, staff, client, reporter, tf, office)
    _complain(reporter, receipt)
    ret = _retaliation_case(app)
    with app.app_context():
        db = get_session()
        users = {
            g.user_id
            for g in db.scalars(select(CaseKeyGrant).where(CaseKeyGrant.case_id == ret.id))
            if g.grantee_kind == GranteeKind.USER.value
        }
        teams_sealed = {
            g.team_id
            for g in db.scalars(select(CaseKeyGrant).where(CaseKeyGrant.case_id == ret.id))
            if g.grantee_kind == GranteeKind.TEAM.value
        }
    assert users == {tf["supervisor"].id} and not teams_sealed
    _as(staff, client, tf["supervisor"])
    page = client.get(f"/staff/cases/{ret.id}")
    assert page.status_code == 200 and SECRET in page.get_data(as_text=True)


def test_an_excluded_officer_gets_404_on_every_protection_page_of_the_case_and_changes_nothing(
    app,
    staff,
    client,
    reporter,
    tf,  # noqa: F811
    office,
    second_protector,
):
    receipt, original = _excluded_report(app, staff, client, reporter, tf, office)
    _import(app, [_event("HR-9", "demotion", local_today(utcnow()))])
    _complain(reporter, receipt)
    ret = _retaliation_case(app)
    with app.app_context():
        db = get_session()
        person = db.scalar(select(ProtectedPerson))
        person_id, until = person.id, person.protected_until
        alert_id = db.scalar(select(RetaliationAlert.id))
    _as(staff, client, office["protector"])
    board = client.get(DASHBOARD).get_data(as_text=True)
    assert original.public_ref not in board and ret.public_ref not in board
    token = csrf_token(board)
    person_url = f"/staff/protection/persons/{person_id}"
    assert client.get(person_url).status_code == 404
    assert client.post(f"{person_url}/identity", data={"csrf_token": token}).status_code == 404
    extended = client.post(f"{person_url}/extend", data={"csrf_token": token, "until": "2099-01-01"})
    assert extended.status_code == 404
    closed = client.post(f"/staff/protection/alerts/{alert_id}/status", data={"csrf_token": token, "status": "closed"})
    assert closed.status_code == 404
    opened = client.post(f"/staff/protection/alerts/{alert_id}/open-case", data={"csrf_token": token})
    assert opened.status_code == 404
    protect = client.post(
        "/staff/protection/protect",
        data={"csrf_token": token, "public_ref": original.public_ref},
        follow_redirects=True,
    )
    assert "No case has this reference." in protect.get_data(as_text=True)
    with app.app_context():
        db = get_session()
        alert = db.get(RetaliationAlert, alert_id)
        assert alert.status == "open" and alert.retaliation_case_id is None
        assert db.get(ProtectedPerson, person_id).protected_until == until
    # The other officer still sees and reaches all of it.
    _as(staff, client, second_protector)
    board = client.get(DASHBOARD).get_data(as_text=True)
    assert original.public_ref in board and ret.public_ref in board
    assert client.get(person_url).status_code == 200
