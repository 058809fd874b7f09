"""Legal deadlines, counted in days in Asia/Seoul (DESIGN.md section 6).

A report received late on a Monday evening in Seoul is received on Monday,
whatever UTC says; deadlines are dates, never instants.
"""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
ACK_DAYS = 7


def local_today(now: dt.datetime) -> dt.date:
    """The date in Seoul at instant ``now`` (which must be timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(SEOUL).date()


def day_start(day: dt.date) -> dt.datetime:
    """The instant a Seoul day begins, in UTC: the inverse of :func:`local_today`, for filtering timestamps by day."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=SEOUL).astimezone(dt.UTC)


def ack_due_on(received_on: dt.date, days: int = ACK_DAYS) -> dt.date:
    """Acknowledgement is due ``days`` calendar days after receipt."""
    return received_on + dt.timedelta(days=days)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later; a day that month lacks becomes its last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def is_overdue(due: dt.date | None, today: dt.date) -> bool:
    """A deadline is missed the day after it: due today is still on time."""
    return due is not None and due < today


def is_due_soon(due: dt.date | None, today: dt.date, within_days: int) -> bool:
    """Due today or within the next ``within_days`` days (and not already overdue)."""
    return due is not None and today <= due <= today + dt.timedelta(days=within_days)
