"""The protection team's actions, each through its route: extend, alert status, open the identity, protect."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.cases.deadlines import add_months, local_today
from app.db import get_session, utcnow
from app.models.audit import AuditEvent
from app.models.cases import Case
from app.models.protection import CheckIn, ProtectedPerson, RetaliationAlert
from app.models.staff import Role
from app.runtime import get_secrets
from monitoring_bridge.blind_index import blind_index

from .conftest import csrf_token
from .test_protection_flow import NUMBER, _event, _import

DASHBOARD = "/staff/protection/"


def _audits(app, action: str) -> list[tuple[int | None, str | None]]:
    with app.app_context():
        rows = get_session().scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [(e.actor_user_id, e.target) for e in rows]


def _protected(app, reporter) -> ProtectedPerson:
    reporter.submit_ok(public_officer="yes", name="Kim Minji", employee_number=NUMBER)
    with app.app_context():
        person = get_session().scalar(select(ProtectedPerson))
        get_session().expunge(person)
        return person


def _token(client, url: str = DASHBOARD) -> str:
    return csrf_token(client.get(url).get_data(as_text=True))


# -- extend ---------------------------------------------------------------------------------------------------------


def test_a_custodian_extends_a_protection_and_more_check_ins_are_scheduled(app, office, reporter, staff, client):
    person = _protected(app, reporter)
    until = add_months(person.protected_until, 12)
    staff.login(office["protector"])
    url = f"/staff/protection/persons/{person.id}"
    r = client.post(f"{url}/extend", data={"csrf_token": _token(client, url), "until": until.isoformat()})
    assert r.status_code == 303 and r.location.endswith(url)
    with app.app_context():
        db = get_session()
        assert db.get(ProtectedPerson, person.id).protected_until == until
        due = list(db.scalars(select(CheckIn.due_on).where(CheckIn.case_id == person.case_id)))
        assert max(due) > person.protected_until and len(due) == 8  # 3 fixed, then every six months for 3 years
    assert _audits(app, "protection.extended") == [(office["protector"].id, f"person:{person.id}:{until.isoformat()}")]


def test_a_supervisor_may_extend_too(app, office, reporter, staff, client):
    person = _protected(app, reporter)
    boss = staff.create("boss", Role.SUPERVISOR)
    staff.login(boss)
    url = f"/staff/protection/persons/{person.id}"
    until = person.protected_until + dt.timedelta(days=1)
    r = client.post(f"{url}/extend", data={"csrf_token": _token(client, url), "until": until.isoformat()})
    assert r.status_code == 303
    with app.app_context():
        assert get_session().get(ProtectedPerson, person.id).protected_until == until


def test_an_extension_that_does_not_end_later_or_has_no_date_changes_nothing(app, office, reporter, staff, client):
    person = _protected(app, reporter)
    staff.login(office["protector"])
    url = f"/staff/protection/persons/{person.id}"
    same = client.post(
        f"{url}/extend",
        data={"csrf_token": _token(client, url), "until": person.protected_until.isoformat()},
        follow_redirects=True,
    )
    assert "an extension must end after the current end of protection" in same.get_data(as_text=True)
    empty = client.post(f"{url}/extend", data={"csrf_token": _token(client, url), "until": ""}, follow_redirects=True)
    assert "Give the new end of protection." in empty.get_data(as_text=True)
    with app.app_context():
        assert get_session().get(ProtectedPerson, person.id).protected_until == person.protected_until
    assert _audits(app, "protection.extended") == []


def test_an_investigator_cannot_extend_and_a_post_without_csrf_is_refused(app, office, reporter, staff, client):
    person = _protected(app, reporter)
    later = add_months(person.protected_until, 1).isoformat()
    investigator = staff.create("inv", Role.INVESTIGATOR)
    staff.login(investigator)
    url = f"/staff/protection/persons/{person.id}/extend"
    assert client.post(url, data={"csrf_token": _token(client, "/staff/"), "until": later}).status_code == 403
    staff.logout()
    staff.login(office["protector"])
    assert client.post(url, data={"until": later}).status_code == 400
    with app.app_context():
        assert get_session().get(ProtectedPerson, person.id).protected_until == person.protected_until


# -- alert status ---------------------------------------------------------------------------------------------------


def _alert(app, reporter) -> int:
    _protected(app, reporter)
    _import(app, [_event("HR-20", "demotion", local_today(utcnow()))])
    with app.app_context():
        return get_session().scalar(select(RetaliationAlert.id))


def _status(app, alert_id: int) -> str:
    with app.app_context():
        return get_session().get(RetaliationAlert, alert_id).status


def test_an_alert_is_acknowledged_then_closed_and_leaves_the_dashboard(app, office, reporter, staff, client):
    alert_id = _alert(app, reporter)
    staff.login(office["protector"])
    url = f"/staff/protection/alerts/{alert_id}/status"
    r = client.post(url, data={"csrf_token": _token(client), "status": "acknowledged"})
    assert r.status_code == 303 and _status(app, alert_id) == "acknowledged"
    assert "Being looked at" in client.get(DASHBOARD).get_data(as_text=True)
    assert client.post(url, data={"csrf_token": _token(client), "status": "closed"}).status_code == 303
    assert _status(app, alert_id) == "closed"
    assert f"/alerts/{alert_id}/" not in client.get(DASHBOARD).get_data(as_text=True)
    me = office["protector"].id
    assert _audits(app, "protection.alert_acknowledged") == [(me, f"alert:{alert_id}")]
    assert _audits(app, "protection.alert_closed") == [(me, f"alert:{alert_id}")]


def test_a_closed_alert_does_not_reopen_and_an_unknown_status_is_refused(app, office, reporter, staff, client):
    alert_id = _alert(app, reporter)
    staff.login(office["protector"])
    url = f"/staff/protection/alerts/{alert_id}/status"
    client.post(url, data={"csrf_token": _token(client), "status": "closed"})
    back = client.post(url, data={"csrf_token": _token(client), "status": "acknowledged"}, follow_redirects=True)
    assert "Not possible" in back.get_data(as_text=True) and _status(app, alert_id) == "closed"
    assert client.post(url, data={"csrf_token": _token(client), "status": ""}).status_code == 400
    assert _status(app, alert_id) == "closed"


def test_alert_status_is_refused_to_an_investigator_and_without_csrf(app, office, reporter, staff, client):
    alert_id = _alert(app, reporter)
    url = f"/staff/protection/alerts/{alert_id}/status"
    staff.login(staff.create("inv", Role.INVESTIGATOR))
    assert client.post(url, data={"csrf_token": _token(client, "/staff/"), "status": "closed"}).status_code == 403
    staff.logout()
    staff.login(office["protector"])
    assert client.post(url, data={"status": "closed"}).status_code == 400
    assert _status(app, alert_id) == "open"
    assert client.post("/staff/protection/alerts/9999/status", data={"csrf_token": _token(client)}).status_code == 404


# -- open the identity ----------------------------------------------------------------------------------------------


def test_a_custodian_opens_the_identity_and_each_opening_is_audited(app, office, reporter, staff, client):
    person = _protected(app, reporter)
    staff.login(office["protector"])
    url = f"/staff/protection/persons/{person.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Kim Minji" not in page and NUMBER not in page  # not before it is opened
    for _ in range(2):
        html = client.post(f"{url}/identity", data={"csrf_token": csrf_token(page)}).get_data(as_text=True)
        assert "Kim Minji" in html and NUMBER in html
    target = (office["protector"].id, f"person:{person.id}")
    assert _audits(app, "protection.identity_viewed") == [target, target]


def test_the_identity_is_refused_to_a_supervisor_an_investigator_and_without_csrf(app, office, reporter, staff, client):
    person = _protected(app, reporter)
    url = f"/staff/protection/persons/{person.id}/identity"
    for role in (Role.SUPERVISOR, Role.INVESTIGATOR):
        staff.login(staff.create(f"not-{role.value}", role))
        r = client.post(url, data={"csrf_token": _token(client, "/staff/")})
        assert r.status_code == 403 and "Kim Minji" not in r.get_data(as_text=True)
        staff.logout()
    staff.login(office["protector"])
    assert client.post(url).status_code == 400
    assert client.get(url).status_code == 405
    assert _audits(app, "protection.identity_viewed") == []


def test_a_custodian_of_another_team_cannot_open_the_identity(app, office, reporter, staff, client):
    from app.models.staff import TeamKind

    person = _protected(app, reporter)
    outsider = staff.create("other-protector", Role.PROTECTION)
    staff.team("other protection", TeamKind.PROTECTION, outsider)
    staff.login(outsider)
    url = f"/staff/protection/persons/{person.id}/identity"
    assert client.post(url, data={"csrf_token": _token(client)}).status_code == 404
    assert _audits(app, "protection.identity_viewed") == []


# -- protect from the identity record -------------------------------------------------------------------------------


def _unprotected_case(app, reporter, **identity) -> str:
    reporter.submit_ok(public_officer="no", name="Lee Jun", **identity)
    with app.app_context():
        return get_session().scalar(select(Case.public_ref))


def test_a_custodian_protects_a_reporter_from_the_number_in_the_identity_record(app, office, reporter, staff, client):
    ref = _unprotected_case(app, reporter, employee_number="EMP-5150")
    staff.login(office["protector"])
    r = client.post(f"{DASHBOARD}protect", data={"csrf_token": _token(client), "public_ref": ref.lower()})
    assert r.status_code == 303
    with app.app_context():
        db = get_session()
        person = db.scalar(select(ProtectedPerson))
        assert r.location.endswith(f"/staff/protection/persons/{person.id}")
        assert person.blind_index == blind_index(get_secrets().protection_key, "EMP-5150")
        assert db.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.case_id == person.case_id)) == 6
    assert _audits(app, "protection.person_protected") == [(office["protector"].id, f"person:{person.id}")]


def test_a_typed_number_replaces_a_missing_one_and_protecting_twice_is_refused(app, office, reporter, staff, client):
    ref = _unprotected_case(app, reporter)
    staff.login(office["protector"])
    missing = client.post(
        f"{DASHBOARD}protect", data={"csrf_token": _token(client), "public_ref": ref}, follow_redirects=True
    )
    assert "type it in" in missing.get_data(as_text=True)
    typed = {"csrf_token": _token(client), "public_ref": ref, "employee_number": "EMP-6060"}
    assert client.post(f"{DASHBOARD}protect", data=typed).status_code == 303
    again = client.post(f"{DASHBOARD}protect", data=typed, follow_redirects=True)
    assert "protected already" in again.get_data(as_text=True)
    with app.app_context():
        [person] = get_session().scalars(select(ProtectedPerson)).all()
        assert person.blind_index == blind_index(get_secrets().protection_key, "EMP-6060")


def test_protecting_needs_a_known_reference(app, office, reporter, staff, client):
    _unprotected_case(app, reporter, employee_number="EMP-5150")
    staff.login(office["protector"])
    unknown = client.post(
        f"{DASHBOARD}protect", data={"csrf_token": _token(client), "public_ref": "NOPE-1"}, follow_redirects=True
    )
    assert "No case has this reference." in unknown.get_data(as_text=True)
    blank = client.post(
        f"{DASHBOARD}protect", data={"csrf_token": _token(client), "public_ref": ""}, follow_redirects=True
    )
    assert "Give the case reference." in blank.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(ProtectedPerson)) == 0


def test_protecting_is_refused_to_a_supervisor_an_investigator_and_without_csrf(app, office, reporter, staff, client):
    ref = _unprotected_case(app, reporter, employee_number="EMP-5150")
    for role in (Role.SUPERVISOR, Role.INVESTIGATOR):
        staff.login(staff.create(f"not-{role.value}", role))
        r = client.post(f"{DASHBOARD}protect", data={"csrf_token": _token(client, "/staff/"), "public_ref": ref})
        assert r.status_code == 403
        staff.logout()
    staff.login(office["protector"])
    assert client.post(f"{DASHBOARD}protect", data={"public_ref": ref}).status_code == 400
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(ProtectedPerson)) == 0
