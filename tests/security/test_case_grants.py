"""Role by route by case grant: a case opens only for those it is sealed to, whatever their role.

Every route whose URL names a case or a file of one is called (GET and POST,
with a valid CSRF token and a form that passes validation, so the grant check
is what answers) by a member of each role who holds no grant, and by a team
member excluded for a conflict of interest. The documented answer is 404 (the
case might as well not exist) or 403 where the role itself is outside the
route's rule; never a 500, never a byte of the case, never a change. A granted
member is the control: the same URLs do open for them. Reporter sessions
against staff routes, and staff sessions against reporter routes, are refused
the same way.
"""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from app.authz import REPORTER, STAFF
from app.db import Base, get_session
from app.models.cases import Department
from app.models.staff import Role, TeamKind
from tests.functional.conftest import csrf_token

from .conftest import SECRET_FILE, SECRET_NAME, SECRET_WHAT, fill, routes

IDENTITY_NAME = "SECRET-IDENTITY-0b7e"
# One value for every field a case form has: each passes its validators, so a refusal is the grant's doing.
VALID_FIELDS = {
    "body": "a note",
    "reason": "needed for the interview",
    "kind": "official",
    "value": "Kim Official",
    "decision": "approve",
    "target": "acknowledged",
    "version": "0",
    "severity": "3",
    "labels": "urgent",
    "relation": "related",
    "other_ref": "R-1",
    "team_id": "1",
    "user_id": "1",
    "type": "legal_counsel",
    "amount_requested": "1000",
    "details": "details",
    "amount": "1000",
    "reasons": "reasons",
    "paid_on": "2026-01-05",
    "payment_ref": "P-1",
    "language": "en",
    "r1-decision": "approve",  # the decision form of identity request 1 is prefixed with its id
    "r1-reason": "the interview needs it",
}
# Tables whose rows are about who did what, not case state (a refused request may be audited).
NOT_STATE = {"audit_events", "audit_checkpoints", "staff_sessions", "notifications"}


def _case_routes(app):
    """Staff routes whose URL names a case (or a file of one): the ones a grant must guard."""
    for endpoint, rule, methods, auth in routes(app):
        if isinstance(auth, tuple) and auth[0] == STAFF and "<int:case_id>" in rule:
            yield endpoint, rule, methods, auth[1]


def _state(app) -> dict[str, int]:
    with app.app_context():
        db = get_session()
        return {
            t.name: db.scalar(sa.select(sa.func.count()).select_from(t))
            for t in Base.metadata.sorted_tables
            if t.name not in NOT_STATE
        }


@pytest.fixture
def world(app, staff, client, reporter):
    """Two intake members sealed to a report (one then excluded), an identity request, outsiders of every role."""
    intake, conflicted = staff.create("intake-a", Role.INTAKE), staff.create("intake-b", Role.INTAKE)
    protector = staff.create("custodian", Role.PROTECTION)
    staff.team("intake", TeamKind.INTAKE, intake, conflicted)
    staff.team("protection", TeamKind.PROTECTION, protector)
    with app.app_context():
        db = get_session()
        db.add(Department(code="PERMITS", name_ko="인허가과", name_en="Permits", active=True))
        db.commit()
    receipt = reporter.submit_ok(files=[(io.BytesIO(SECRET_FILE), SECRET_NAME)], what=SECRET_WHAT, name=IDENTITY_NAME)
    staff.login(intake)
    r = staff.post("/staff/cases/1/identity/request", {"reason": "to protect them at the interview"})
    assert r.status_code in (302, 303)
    r = staff.post("/staff/cases/1/exclude", {"user_id": str(conflicted.id), "reason": "works in that office"})
    assert r.status_code == 302, r.status_code
    staff.logout()
    outsiders = {role: staff.create(f"outsider-{role.value}", role) for role in Role}
    return {"intake": intake, "conflicted": conflicted, "outsiders": outsiders, "receipt": receipt}


def _urls(app):
    values = {"case_id": 1, "attachment_id": 1, "req_id": 1}
    for endpoint, rule, methods, roles in _case_routes(app):
        for method in sorted(methods):
            yield endpoint, method, fill(rule, values), roles


def _call(staff, method: str, url: str, token: str):
    if method == "GET":
        return staff.client.get(url)
    return staff.client.post(url, data={"csrf_token": token, **VALID_FIELDS}, content_type="multipart/form-data")


def _assert_refused_everywhere(app, staff, member, role: Role) -> int:
    before = _state(app)
    staff.login(member)
    token = csrf_token(staff.client.get("/staff/").get_data(as_text=True))
    checked = 0
    for endpoint, method, url, roles in _urls(app):
        r = _call(staff, method, url, token)
        expected = 403 if roles and role not in roles else 404
        assert r.status_code == expected, (role, endpoint, method, r.status_code, r.location)
        body = r.get_data()
        assert SECRET_WHAT.encode() not in body and SECRET_FILE not in body and IDENTITY_NAME.encode() not in body
        checked += 1
    staff.logout()
    assert _state(app) == before, role
    return checked


def test_no_role_opens_a_case_it_holds_no_grant_for_on_any_route(app, staff, world):
    for role, member in world["outsiders"].items():
        checked = _assert_refused_everywhere(app, staff, member, role)
        assert checked >= 25


def test_a_team_member_excluded_for_a_conflict_of_interest_is_refused_like_an_outsider(app, staff, world):
    _assert_refused_everywhere(app, staff, world["conflicted"], Role.INTAKE)


def test_the_granted_member_does_open_the_same_urls(app, staff, world):
    """The control: the refusals above are the grant's, not broken URLs."""
    staff.login(world["intake"])
    page = staff.client.get("/staff/cases/1")
    assert page.status_code == 200 and SECRET_WHAT in page.get_data(as_text=True)
    download = staff.client.get("/staff/cases/1/files/1")
    assert download.status_code == 200 and download.get_data() == SECRET_FILE
    assert staff.client.get("/staff/cases/1/identity").status_code == 200
    assert staff.client.get("/staff/cases/1/subjects").status_code == 200
    assert staff.client.get("/staff/cases/1/support/").status_code == 200


def test_a_reporter_session_opens_no_staff_route(app, reporter, world):
    assert reporter.login(world["receipt"]).status_code == 303
    assert reporter.client.get("/receipt/inbox").status_code == 200
    token = csrf_token(reporter.client.get("/receipt/inbox").get_data(as_text=True))
    checked = 0
    for endpoint, rule, methods, auth in routes(app):
        if not (isinstance(auth, tuple) and auth[0] == STAFF):
            continue
        url = fill(rule)
        for method in methods:
            if method == "GET":
                r = reporter.client.get(url)
            else:
                r = reporter.client.post(url, data={"csrf_token": token, **VALID_FIELDS})
            # A reporter is nobody to the staff side: sent to the staff login (or the POST lacks a staff CSRF token).
            if r.status_code != 400:
                assert r.status_code == 302 and "/staff/login" in r.location, (endpoint, method, r.status_code)
            assert SECRET_WHAT.encode() not in r.get_data()
            checked += 1
    assert checked >= 60


def test_a_staff_session_opens_no_reporter_route(app, staff, world):
    staff.login(world["intake"])
    token = csrf_token(staff.client.get("/staff/").get_data(as_text=True))
    for endpoint, rule, methods, auth in routes(app):
        if auth != REPORTER:
            continue
        for method in methods:
            url = fill(rule)
            r = staff.client.get(url) if method == "GET" else staff.client.post(url, data={"csrf_token": token})
            assert r.status_code == 303 and r.location.endswith("/receipt"), (endpoint, method, r.status_code)
            assert SECRET_WHAT.encode() not in r.get_data() and SECRET_FILE not in r.get_data()


def test_a_reporter_cannot_open_a_file_of_another_case(app, reporter, world):
    other = reporter.submit_ok(what="A second, unrelated report about the parking office.")
    assert reporter.login(other).status_code == 303
    r = reporter.client.get("/receipt/files/1")
    assert r.status_code == 404 and SECRET_FILE not in r.get_data()
