"""`flask protection checkins` through Flask's CLI runner: the grace period's edges, flagged once, audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.db import get_session
from app.models.audit import AuditEvent
from app.models.cases import Case
from app.models.protection import CheckIn

from .test_protection_flow import NUMBER


def _first_check_in(app, reporter) -> tuple[int, dt.date, str]:
    reporter.submit_ok(public_officer="yes", name="Kim Minji", employee_number=NUMBER)
    with app.app_context():
        db = get_session()
        first = db.scalar(select(CheckIn).order_by(CheckIn.due_on))
        return first.id, first.due_on, db.get(Case, first.case_id).public_ref


def _run(app, day: dt.date):
    result = app.test_cli_runner().invoke(args=["protection", "checkins", "--today", day.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def _missed_audits(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        rows = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "protection.checkin_missed"))
        return [(e.actor_kind, e.target) for e in rows]


def test_a_check_in_is_on_time_through_its_grace_end_and_flagged_once_the_day_after(app, office, reporter):
    check_in_id, due, ref = _first_check_in(app, reporter)
    grace_end = due + dt.timedelta(days=14)  # the default grace (HAECHI_CHECKIN_GRACE_DAYS)
    for day in (due, grace_end):
        assert "no check-in newly missed (grace 14 days)" in _run(app, day)
    flagged = _run(app, grace_end + dt.timedelta(days=1))
    assert "1 check-in(s) missed" in flagged and f"{ref}  due {due}" in flagged
    assert "Kim" not in flagged and NUMBER not in flagged  # references and dates only
    for day in (grace_end + dt.timedelta(days=1), grace_end + dt.timedelta(days=2)):
        assert "no check-in newly missed" in _run(app, day)  # flagged once, however often the cron runs
    with app.app_context():
        check_in = get_session().get(CheckIn, check_in_id)
        assert check_in.flagged_missed and check_in.flagged_on == grace_end + dt.timedelta(days=1)
    assert _missed_audits(app) == [("system", f"checkin:{check_in_id}")]


def test_an_answered_check_in_is_never_flagged(app, office, reporter):
    check_in_id, due, _ref = _first_check_in(app, reporter)
    with app.app_context():
        db = get_session()
        check_in = db.get(CheckIn, check_in_id)
        check_in.answered_on, check_in.answer = due + dt.timedelta(days=20), "all_well"
        db.commit()
    assert "no check-in newly missed" in _run(app, due + dt.timedelta(days=30))
    assert _missed_audits(app) == []


def test_the_grace_period_follows_the_setting(app, office, reporter):
    _id, due, _ref = _first_check_in(app, reporter)
    app.extensions["haechi.settings"] = app.extensions["haechi.settings"].with_(checkin_grace_days=0)
    assert "no check-in newly missed (grace 0 days)" in _run(app, due)
    assert "1 check-in(s) missed" in _run(app, due + dt.timedelta(days=1))


def test_a_malformed_day_is_refused_and_flags_nothing(app, office, reporter):
    _first_check_in(app, reporter)
    result = app.test_cli_runner().invoke(args=["protection", "checkins", "--today", "2030-02-30"])
    assert result.exit_code == 2 and "--today" in result.output
    assert _missed_audits(app) == []
