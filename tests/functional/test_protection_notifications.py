"""The protection team hears of every alert and complaint, read back from a real local SMTP server.

Alerts raised inside a reporter's request (at submission) and a reporter's
retaliation complaint are reporter-timed: they reach nobody at today's run,
only in the next day's digest. Alerts a custodian raises go out at once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.models import Case, StaffUser
from app.models.cases import CaseKind
from app.protection import persons
from app.runtime import get_secrets, get_settings
from crypto import passwords

from .conftest import PASSWORD
from .test_notifications import body, inbox, send, set_email, smtp, test_settings, tomorrow  # noqa: F401  (fixtures)
from .test_protection_exclusion import _complain
from .test_protection_flow import _event, _import, _submit_as_officer


def _addresses(app, office) -> None:
    set_email(app, office["intake"], "intake1@city.example")
    set_email(app, office["protector"], "protector@city.example")


def _ref(app, kind: str) -> str:
    with app.app_context():
        return get_session().scalar(select(Case.public_ref).where(Case.kind == kind))


def test_an_alert_raised_at_submission_reaches_the_protection_team_only_in_the_next_days_digest(
    app,
    office,
    reporter,
    inbox,  # noqa: F811
):
    _addresses(app, office)
    _import(app, [_event("HR-AHEAD", "transfer", local_today(utcnow()) + dt.timedelta(days=30))])
    _submit_as_officer(reporter)
    send(app)
    assert inbox.to("protector@city.example") == []  # no send time near the reporter's submission
    send(app, tomorrow())
    ref = _ref(app, CaseKind.REPORT.value)
    assert any(f"Retaliation alert: {ref}" in body(m) for m in inbox.to("protector@city.example")), inbox.all_text()
    assert not any("Retaliation alert" in body(m) for m in inbox.to("intake1@city.example"))
    assert "transfer" not in inbox.all_text()


def test_a_reporters_retaliation_complaint_reaches_the_protection_team_only_in_the_next_days_digest(
    app,
    office,
    reporter,
    inbox,  # noqa: F811
):
    _addresses(app, office)
    receipt = reporter.submit_ok(public_officer="yes", name="Kim", employee_number="E-1")
    send(app, tomorrow())  # the new report's own digest, out of the way
    before = len(inbox.to("protector@city.example"))
    _complain(reporter, receipt)
    send(app)
    assert len(inbox.to("protector@city.example")) == before
    # the digest goes out the next day: today's digest already ran, so tell the run it is the day after
    send(app, (local_today(utcnow()) + dt.timedelta(days=2)).isoformat())
    ref = _ref(app, CaseKind.RETALIATION.value)
    assert any(f"Retaliation alert: {ref}" in body(m) for m in inbox.to("protector@city.example")[before:])
    assert not any(ref in body(m) for m in inbox.to("intake1@city.example"))
    assert "SECRET-COMPLAINT" not in inbox.all_text()


def test_an_alert_a_custodian_raises_by_protecting_a_reporter_goes_out_at_once(
    app,
    office,
    reporter,
    inbox,  # noqa: F811
):
    _addresses(app, office)
    reporter.submit_ok(public_officer="no", name="Kim", employee_number="E-9")
    _import(app, [_event("HR-1", "demotion", local_today(utcnow()) + dt.timedelta(days=3), number="E-9")])
    with app.app_context():
        db = get_session()
        case = db.scalar(select(Case).where(Case.kind == CaseKind.REPORT.value))
        user = db.get(StaffUser, office["protector"].id)
        private = passwords.unwrap(PASSWORD, user.wrapped_private_key_ct)
        _person, alerts = persons.protect_from_identity(
            db, get_settings(), get_secrets().protection_key, case, user, private, utcnow()
        )
        assert len(alerts) == 1
        db.commit()
        ref = case.public_ref
    send(app)
    (mail,) = [m for m in inbox.to("protector@city.example") if "Retaliation alert" in m["Subject"]]
    assert ref in mail["Subject"]
    assert not any(ref in m["Subject"] for m in inbox.to("intake1@city.example"))
