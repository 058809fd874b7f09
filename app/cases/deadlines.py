"""Legal deadlines, counted in days in Asia/Seoul (DESIGN.md section 6).

A report received late on a Monday evening in Seoul is received on Monday,
whatever UTC says; deadlines are dates, never instants.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
ACK_DAYS = 7


def local_today(now: dt.datetime) -> dt.date:
    """The date in Seoul at instant ``now`` (which must be timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(SEOUL).date()


def ack_due_on(received_on: dt.date, days: int = ACK_DAYS) -> dt.date:
    """Acknowledgement is due ``days`` calendar days after receipt."""
    return received_on + dt.timedelta(days=days)
