"""The protection box of the reporter's inbox: check-ins to answer and retaliation reports made.

Kept apart from the reporter views so the inbox view can import it without
an import cycle (the protection reporter views build on the inbox's helpers).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.cases.deadlines import local_today
from app.db import utcnow
from app.models.cases import Case
from app.models.protection import CheckIn
from app.protection import checkins, retaliation
from app.protection.forms import REPORTER_STATE_WORDS


@dataclass(frozen=True)
class InboxProtection:
    """What the inbox shows of protection."""

    open_check_ins: list[CheckIn]
    complaints: list[tuple[str, str]]  # (reference, where it stands in plain words)


def for_inbox(db: Session, case: Case) -> InboxProtection:
    """The inbox's protection box for this case today (Seoul)."""
    complaints = [
        (c.public_ref, str(REPORTER_STATE_WORDS.get(c.status, c.status))) for c in retaliation.complaints_of(db, case)
    ]
    return InboxProtection(checkins.open_for_reporter(db, case, local_today(utcnow())), complaints)
