"""Deadline arithmetic at its edges: Seoul midnight, month ends, leap days."""

import datetime as dt

import pytest

from app.cases.deadlines import ack_due_on, local_today

UTC = dt.UTC


@pytest.mark.parametrize(
    ("instant", "seoul_date"),
    [
        (dt.datetime(2026, 3, 1, 14, 59, 59, tzinfo=UTC), dt.date(2026, 3, 1)),  # 23:59:59 in Seoul
        (dt.datetime(2026, 3, 1, 15, 0, 0, tzinfo=UTC), dt.date(2026, 3, 2)),  # midnight in Seoul
        (dt.datetime(2026, 12, 31, 15, 0, 0, tzinfo=UTC), dt.date(2027, 1, 1)),  # new year in Seoul first
        (dt.datetime(2028, 2, 28, 15, 30, tzinfo=UTC), dt.date(2028, 2, 29)),  # leap day
    ],
)
def test_the_day_of_receipt_is_the_day_in_seoul(instant, seoul_date):
    assert local_today(instant) == seoul_date


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError):
        local_today(dt.datetime(2026, 3, 1, 12, 0))


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (dt.date(2026, 1, 25), dt.date(2026, 2, 1)),  # across a month end
        (dt.date(2026, 12, 28), dt.date(2027, 1, 4)),  # across a year end
        (dt.date(2028, 2, 22), dt.date(2028, 2, 29)),  # lands on a leap day
        (dt.date(2027, 2, 22), dt.date(2027, 3, 1)),  # no leap day that year
        (dt.date(2026, 11, 28), dt.date(2026, 12, 5)),
    ],
)
def test_acknowledgement_is_due_seven_calendar_days_after_receipt(received, due):
    assert ack_due_on(received) == due


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),  # month end clamps
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),  # leap year
        (dt.date(2026, 11, 30), 3, dt.date(2027, 2, 28)),  # across a year end
        (dt.date(2027, 11, 29), 3, dt.date(2028, 2, 29)),
        (dt.date(2026, 3, 15), 3, dt.date(2026, 6, 15)),
        (dt.date(2026, 8, 31), 3, dt.date(2026, 11, 30)),
        (dt.date(2028, 2, 29), 12, dt.date(2029, 2, 28)),
    ],
)
def test_feedback_months_are_calendar_months_that_clamp_at_month_ends(day, months, expected):
    from app.cases.deadlines import add_months

    assert add_months(day, months) == expected


def test_overdue_starts_the_day_after_the_deadline_and_due_soon_covers_today():
    from app.cases.deadlines import is_due_soon, is_overdue

    today = dt.date(2026, 11, 28)
    assert not is_overdue(today, today) and is_overdue(today - dt.timedelta(days=1), today)
    assert not is_overdue(None, today)
    assert is_due_soon(today, today, 3) and is_due_soon(today + dt.timedelta(days=3), today, 3)
    assert not is_due_soon(today + dt.timedelta(days=4), today, 3)
    assert not is_due_soon(today - dt.timedelta(days=1), today, 3)
