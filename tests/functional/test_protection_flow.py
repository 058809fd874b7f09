"""Retaliation monitoring end to end: a protected reporter, personnel events, alerts, complaints, compliance."""

from __future__ import annotations

import datetime as dt
import json
import re

import sqlalchemy as sa
from sqlalchemy import func, select

from app.cases import service as case_service
from app.cases.deadlines import add_months, local_today
from app.db import Base, get_session, utcnow
from app.models.bridge import BridgeSource
from app.models.cases import Case, CaseKind
from app.models.protection import (
    CheckIn,
    ComplianceCheck,
    PersonnelEvent,
    ProtectedPerson,
    RetaliationAlert,
    RetaliationRecord,
)
from app.runtime import get_secrets, get_settings
from monitoring_bridge.blind_index import blind_index
from monitoring_bridge.importer import import_batch

from .conftest import csrf_token

NUMBER = "CANARY-EMP-7731"
NEEDLES = [b"CANARY-EMP-7731", b"CANARYEMP7731", b"EMP-7731", b"EMP7731", b"canary-emp-7731"]


def _submit_as_officer(reporter, **extra) -> str:
    return reporter.submit_ok(public_officer="yes", name="Kim", employee_number=NUMBER, **extra)


def _event(event_id: str, event_type: str, effective_on: dt.date, number: str = NUMBER) -> bytes:
    return (
        json.dumps(
            {
                "event_id": event_id,
                "employee_number": number,
                "event_type": event_type,
                "effective_on": effective_on.isoformat(),
            }
        ).encode()
        + b"\n"
    )


def _import(app, lines: list[bytes]):
    with app.app_context():
        db = get_session()
        if db.scalar(select(BridgeSource).where(BridgeSource.name == "personnel")) is None:
            db.add(BridgeSource(name="personnel", kind="personnel", adapter="personnel", active=True))
            db.commit()
        summary = import_batch(db, get_settings(), "personnel", lines, bridge_key=get_secrets().bridge_key)
        db.commit()
        return summary


def _scan_for_number(app) -> int:
    """Every value of every table; fails on any plaintext form of the employee number. Returns values scanned."""
    scanned = 0
    with app.app_context():
        db = get_session()
        for table in Base.metadata.sorted_tables:
            for row in db.execute(sa.select(table)).all():
                for value in row:
                    blob = value if isinstance(value, bytes) else str(value).encode()
                    scanned += 1
                    for needle in NEEDLES:
                        assert needle not in blob and needle.hex().encode() not in blob, table.name
    return scanned


def test_a_public_officer_who_gives_an_employee_number_is_protected_by_blind_index_only(app, office, reporter):
    _submit_as_officer(reporter)
    with app.app_context():
        db = get_session()
        person = db.scalar(select(ProtectedPerson))
        case = db.get(Case, person.case_id)
        assert person.blind_index == blind_index(get_secrets().protection_key, NUMBER)
        assert person.protected_from == case.received_on
        assert person.protected_until == case.received_on.replace(year=case.received_on.year + 2)
        assert person.created_at.time() == dt.time(0)  # a reporter action: the day only
        due = [c.due_on for c in db.scalars(select(CheckIn).order_by(CheckIn.due_on))]
        assert due[:3] == [case.received_on + dt.timedelta(days=d) for d in (30, 90, 180)]
        assert len(due) == 6  # then every six months while protected
    assert _scan_for_number(app) > 0


def test_a_reporter_who_is_not_a_public_officer_is_not_protected(app, office, reporter):
    reporter.submit_ok(public_officer="no", employee_number="AB-12345")
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(ProtectedPerson)) == 0


def test_an_adverse_event_raises_exactly_one_alert_even_when_replayed(app, office, reporter):
    _submit_as_officer(reporter)
    today = local_today(utcnow())
    line = _event("HR-1", "demotion", today)
    first = _import(app, [line])
    again = _import(app, [line, line])
    assert first.accepted == 1 and again.accepted == 0
    with app.app_context():
        db = get_session()
        [alert] = db.scalars(select(RetaliationAlert)).all()
        assert alert.days_since_report == 0 and alert.status == "open"
    assert _scan_for_number(app) > 0


def test_neutral_out_of_period_and_unprotected_events_raise_nothing_and_store_no_number(app, office, reporter):
    _submit_as_officer(reporter)
    today = local_today(utcnow())
    _import(
        app,
        [
            _event("HR-2", "promotion", today),
            _event("HR-3", "dismissal", today - dt.timedelta(days=1)),  # before the report
            _event("HR-4", "dismissal", today + dt.timedelta(days=2 * 366)),  # after the period
            _event("HR-5", "dismissal", today, number="CANARY-EMP-9999"),  # nobody protects them
        ],
    )
    with app.app_context():
        db = get_session()
        assert db.scalar(select(func.count()).select_from(RetaliationAlert)) == 0
        assert db.scalar(select(func.count()).select_from(PersonnelEvent)) == 4
    NEEDLES.append(b"CANARY-EMP-9999")
    try:
        _scan_for_number(app)
    finally:
        NEEDLES.pop()


def test_a_retaliation_case_from_an_alert_is_linked_both_ways_and_urgent(app, office, reporter, staff, client):
    _submit_as_officer(reporter)
    _import(app, [_event("HR-6", "disciplinary_action", local_today(utcnow()))])
    staff.login(office["protector"])
    page = client.get("/staff/protection/").get_data(as_text=True)
    with app.app_context():
        alert = get_session().scalar(select(RetaliationAlert))
        original_id = alert.case_id
    r = client.post(f"/staff/protection/alerts/{alert.id}/open-case", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 303
    # Opening again goes to the same case.
    client.post(f"/staff/protection/alerts/{alert.id}/open-case", data={"csrf_token": csrf_token(page)})
    with app.app_context():
        db = get_session()
        alert = db.get(RetaliationAlert, alert.id)
        [new] = db.scalars(select(Case).where(Case.kind == CaseKind.RETALIATION.value)).all()
        assert alert.retaliation_case_id == new.id and alert.status == "acknowledged"
        rec = db.get(RetaliationRecord, new.id)
        assert rec.alert_id == alert.id and rec.origin == "alert"
        assert rec.apply_by == rec.measure_on.replace(year=rec.measure_on.year + 1)
        assert new.ack_due_on == new.received_on + dt.timedelta(days=3)
        original = db.get(Case, original_id)
        assert [(v.relation, v.other_id) for v in case_service.links_of(db, new)] == [("retaliation_of", original_id)]
        assert [(v.relation, v.other_id) for v in case_service.links_of(db, original)] == [("has_retaliation", new.id)]
    record_page = client.get(f"/staff/protection/cases/{new.id}").get_data(as_text=True)
    assert rec.apply_by.isoformat() in record_page and "Disciplinary action" in record_page


def test_a_reporter_reports_retaliation_from_the_inbox_as_a_linked_case_kept_to_the_day(app, office, reporter):
    receipt = _submit_as_officer(reporter)
    assert reporter.login(receipt).status_code == 303
    inbox = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    assert "/receipt/retaliation" in inbox
    page = reporter.client.get("/receipt/retaliation").get_data(as_text=True)
    today = local_today(utcnow())
    r = reporter.post_multipart(
        "/receipt/retaliation",
        {
            "csrf_token": csrf_token(page),
            "what": "CANARY-RETALIATION-77 I was moved to a basement office",
            "measure_type": "transfer",
            "measure_on": today.isoformat(),
        },
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    with app.app_context():
        db = get_session()
        new = db.scalar(select(Case).where(Case.kind == CaseKind.RETALIATION.value))
        original = db.scalar(select(Case).where(Case.kind == CaseKind.REPORT.value))
        assert new.created_at is None and new.received_on == today
        assert all(g.created_at is None for g in new.grants)
        assert [(v.relation, v.other_id) for v in case_service.links_of(db, original)] == [("has_retaliation", new.id)]
        rec = db.get(RetaliationRecord, new.id)
        assert (rec.origin, rec.measure_type, rec.measure_on) == ("reporter", "transfer", today)
        ref = new.public_ref
    assert ref in reporter.client.get("/receipt/inbox").get_data(as_text=True)
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            for row in get_session().execute(sa.select(table)).all():
                for value in row:
                    blob = value if isinstance(value, bytes) else str(value).encode()
                    assert b"CANARY-RETALIATION-77" not in blob, table.name


def test_a_due_check_in_is_answered_from_the_inbox_to_the_day_with_its_text_encrypted(app, office, reporter):
    receipt = _submit_as_officer(reporter)
    with app.app_context():
        db = get_session()
        first = db.scalar(select(CheckIn).order_by(CheckIn.due_on))
        first.due_on = local_today(utcnow())  # make the first check-in due today
        db.commit()
        check_in_id = first.id
    reporter.login(receipt)
    assert "/receipt/check-ins" in reporter.client.get("/receipt/inbox").get_data(as_text=True)
    page = reporter.client.get("/receipt/check-ins").get_data(as_text=True)
    r = reporter.post_multipart(
        "/receipt/check-ins",
        {
            "csrf_token": csrf_token(page),
            "check_in": str(check_in_id),
            "answer": "concern",
            "kinds": "transfer",
            "text": "CANARY-CHECKIN-55 my manager stopped talking to me",
        },
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    with app.app_context():
        db = get_session()
        answered = db.get(CheckIn, check_in_id)
        assert answered.answer == "concern" and answered.answered_on == local_today(utcnow())
        assert b"CANARY-CHECKIN-55" not in answered.free_text_ct
    assert "/receipt/check-ins" not in reporter.client.get("/receipt/inbox").get_data(as_text=True)


def test_compliance_checks_are_scheduled_every_six_months_for_two_years_and_recorded(
    app, office, reporter, staff, client
):
    _submit_as_officer(reporter)
    _import(app, [_event("HR-7", "dismissal", local_today(utcnow()))])
    staff.login(office["protector"])
    page = client.get("/staff/protection/").get_data(as_text=True)
    with app.app_context():
        alert_id = get_session().scalar(select(RetaliationAlert.id))
    client.post(f"/staff/protection/alerts/{alert_id}/open-case", data={"csrf_token": csrf_token(page)})
    with app.app_context():
        case_id = get_session().scalar(select(Case.id).where(Case.kind == CaseKind.RETALIATION.value))
    detail = client.get(f"/staff/cases/{case_id}")
    assert detail.status_code == 200
    for target, reasons in [
        ("assessing", ""),
        ("measure_requested", ""),
        ("measure_decided", "Transfer to be reversed"),
        ("compliance_monitoring", ""),
    ]:
        with app.app_context():
            version = get_session().get(Case, case_id).version
        r = client.post(
            f"/staff/cases/{case_id}/transition",
            data={
                "csrf_token": csrf_token(detail.get_data(as_text=True)),
                "target": target,
                "reasons": reasons,
                "version": str(version),
            },
        )
        assert r.status_code in (302, 303), (target, r.status_code)
    today = local_today(utcnow())
    with app.app_context():
        db = get_session()
        case = db.get(Case, case_id)
        assert case.status == "compliance_monitoring" and case.acknowledged_at is not None
        rec = db.get(RetaliationRecord, case_id)
        assert rec.measure_requested_on == today and rec.measure_decided_on == today
        checks = list(db.scalars(select(ComplianceCheck).order_by(ComplianceCheck.due_on)))
        assert [c.due_on for c in checks] == [add_months(today, m) for m in (6, 12, 18, 24)]
        assert case.next_due_on == checks[0].due_on
        first_id = checks[0].id
    page = client.get(f"/staff/protection/cases/{case_id}").get_data(as_text=True)
    r = client.post(
        f"/staff/protection/cases/{case_id}/checks/{first_id}",
        data={"csrf_token": csrf_token(page), f"c{first_id}-result": "complied", f"c{first_id}-notes": "Back in post"},
    )
    assert r.status_code == 303
    with app.app_context():
        db = get_session()
        check = db.get(ComplianceCheck, first_id)
        assert check.result == "complied" and check.checked_on == today and check.notes_ct is not None
        assert db.get(Case, case_id).next_due_on == add_months(today, 12)


def test_the_protection_dashboard_lists_by_reference_never_by_name(app, office, reporter, staff, client):
    _submit_as_officer(reporter)
    staff.login(office["protector"])
    html = client.get("/staff/protection/").get_data(as_text=True)
    with app.app_context():
        ref = get_session().scalar(select(Case.public_ref))
    assert ref in html and "Kim" not in html and NUMBER not in html
    assert re.search(r"<h1[^>]*>Protection of reporters</h1>", html)


def test_an_event_on_file_before_the_report_raises_its_alert_at_submission_dated_to_the_day(app, office, reporter):
    # A transfer announced ahead (effective next month) is on file when the officer reports:
    # protecting them raises the alert inside the reporter's request, so the alert, like
    # every row that request writes, must carry the day only, never the instant.
    today = local_today(utcnow())
    _import(app, [_event("HR-AHEAD", "transfer", today + dt.timedelta(days=30))])
    _submit_as_officer(reporter)
    with app.app_context():
        db = get_session()
        [alert] = db.scalars(select(RetaliationAlert)).all()
        assert alert.days_since_report == 30
        assert alert.created_at.time() == dt.time(0)
