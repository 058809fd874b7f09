"""Check-in schedule and the missed-check-in flag at their date edges; compliance-check schedule."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.db import get_session
from app.models.cases import Case
from app.models.protection import CheckIn, ProtectedPerson
from app.protection import checkins
from app.protection.matching import Period, ProtectedIndex, alert_due
from app.protection.retaliation import apply_by, compliance_schedule
from config import ConfigError

REPORTED = dt.date(2026, 3, 2)


def test_default_schedule_is_30_90_180_days_then_every_six_months_while_protected(test_settings):
    until = dt.date(2028, 3, 2)
    assert checkins.schedule(test_settings, REPORTED, until) == [
        dt.date(2026, 4, 1),
        dt.date(2026, 5, 31),
        dt.date(2026, 8, 29),
        dt.date(2027, 2, 28),
        dt.date(2027, 8, 29),
        dt.date(2028, 2, 29),
    ]


def test_a_check_in_due_on_the_last_protected_day_is_kept_and_one_after_is_not(test_settings):
    assert checkins.schedule(test_settings, REPORTED, dt.date(2028, 2, 29))[-1] == dt.date(2028, 2, 29)
    assert checkins.schedule(test_settings, REPORTED, dt.date(2028, 2, 28))[-1] == dt.date(2027, 8, 29)


def test_the_schedule_is_configurable(test_settings):
    settings = test_settings.with_(checkin_days="10,20", checkin_every_months=3)
    assert checkins.schedule(settings, REPORTED, dt.date(2026, 9, 1)) == [
        dt.date(2026, 3, 12),
        dt.date(2026, 3, 22),
        dt.date(2026, 6, 22),
    ]


@pytest.mark.parametrize("raw", ["", "30,x", "90,30", "0,30", "30,30"])
def test_a_malformed_check_in_schedule_refuses_to_start(test_settings, raw):
    with pytest.raises(ConfigError):
        test_settings.with_(checkin_days=raw)


@pytest.fixture
def person(app):
    with app.app_context():
        db = get_session()
        case = Case(public_ref="HC-2026-PPPPPP", kind="report", source="web", status="received", received_on=REPORTED)
        db.add(case)
        db.flush()
        p = ProtectedPerson(
            case_id=case.id,
            blind_index=b"i" * 32,
            identity_ct=b"ct",
            protected_from=REPORTED,
            protected_until=dt.date(2028, 3, 2),
        )
        db.add(p)
        db.flush()
        yield db, case, p
        db.rollback()


def test_scheduling_twice_adds_nothing_and_an_extension_adds_the_new_ones(person, test_settings):
    db, _case, p = person
    assert len(checkins.schedule_for(db, test_settings, p, REPORTED)) == 6
    assert checkins.schedule_for(db, test_settings, p, REPORTED) == []
    p.protected_until = dt.date(2029, 3, 2)
    assert [c.due_on for c in checkins.schedule_for(db, test_settings, p, REPORTED)] == [
        dt.date(2028, 8, 29),
        dt.date(2029, 2, 28),
    ]


def test_a_check_in_opens_in_the_inbox_on_its_due_day_not_before(person, test_settings):
    db, case, p = person
    checkins.schedule_for(db, test_settings, p, REPORTED)
    assert checkins.open_for_reporter(db, case, dt.date(2026, 3, 31)) == []
    assert [c.due_on for c in checkins.open_for_reporter(db, case, dt.date(2026, 4, 1))] == [dt.date(2026, 4, 1)]


def test_a_missed_check_in_is_flagged_the_day_after_its_grace_ends_and_only_once(person, test_settings):
    db, _case, p = person
    checkins.schedule_for(db, test_settings, p, REPORTED)  # first due 2026-04-01, grace 14 days
    assert checkins.flag_missed(db, test_settings, dt.date(2026, 4, 15)) == []
    [flagged] = checkins.flag_missed(db, test_settings, dt.date(2026, 4, 16))
    assert flagged.due_on == dt.date(2026, 4, 1) and flagged.flagged_on == dt.date(2026, 4, 16)
    assert checkins.flag_missed(db, test_settings, dt.date(2026, 4, 17)) == []


def test_an_answered_check_in_is_never_flagged(person, test_settings):
    db, _case, p = person
    checkins.schedule_for(db, test_settings, p, REPORTED)
    first = db.scalar(select(CheckIn).order_by(CheckIn.due_on))
    first.answered_on, first.answer = dt.date(2026, 4, 15), "all_well"
    assert checkins.flag_missed(db, test_settings, dt.date(2026, 5, 1)) == []


def test_compliance_checks_come_every_six_months_for_two_years_after_the_decision():
    assert compliance_schedule(dt.date(2026, 8, 31)) == [
        dt.date(2027, 2, 28),
        dt.date(2027, 8, 31),
        dt.date(2028, 2, 29),
        dt.date(2028, 8, 31),
    ]


def test_the_one_year_limit_to_apply_counts_from_the_retaliatory_measure():
    assert apply_by(dt.date(2026, 5, 31)) == dt.date(2027, 5, 31)
    assert apply_by(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)


def test_the_in_memory_index_applies_the_same_rule_as_the_database_matcher():
    period = Period(1, 1, REPORTED, REPORTED, dt.date(2028, 3, 2))
    index = ProtectedIndex([(b"a" * 32, period)])
    assert index.matches(b"a" * 32, "transfer", REPORTED) == [period]
    assert index.matches(b"a" * 32, "transfer", dt.date(2028, 3, 2)) == [period]
    assert index.matches(b"a" * 32, "transfer", dt.date(2028, 3, 3)) == []
    assert index.matches(b"a" * 32, "promotion", REPORTED) == []
    assert index.matches(b"b" * 32, "transfer", REPORTED) == []
    assert not alert_due(period, "dismissal", REPORTED - dt.timedelta(days=1))
