"""Staff e-mail notifications: each person's choices, and the outbox the cron sender empties.

The outbox row is written in the same transaction as the event it announces,
so a rolled-back action never mails anyone, and no request ever waits on (or
fails because of) an SMTP server: ``flask notifications send`` delivers later.

Nothing here names content: a row is (who, which event, which case, which
day). Rows carry the day only, never a time, because two of the events are a
reporter's actions (a new web report, a reply), whose time is never stored
(DESIGN.md section 5); attempts are counted in sender runs, not timestamped.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, intpk, one_of


class NotificationEvent(enum.StrEnum):
    """What a member of staff can be told about (issue 9)."""

    NEW_CASE = "new_case"
    DEADLINE_DUE_SOON = "deadline_due_soon"
    DEADLINE_OVERDUE = "deadline_overdue"
    REPORTER_REPLIED = "reporter_replied"
    SUPPORT_AWAITING_APPROVAL = "support_awaiting_approval"
    RETALIATION_ALERT = "retaliation_alert"
    IDENTITY_REQUEST = "identity_request"


class Delivery(enum.StrEnum):
    """How a person wants one kind of event: not at all, at the next sender run, or in the daily digest."""

    OFF = "off"
    IMMEDIATE = "immediate"
    DIGEST = "digest"


class OutboxStatus(enum.StrEnum):
    """Where an outbox row stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up after ``Settings.mail_max_attempts`` runs
    DROPPED = "dropped"  # the recipient lost their address, account or access before it went out


class NotificationPreference(Base):
    """One person's choice for one event; an event without a row uses the default (immediate)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        CheckConstraint(one_of("event", NotificationEvent), name="event"),
        CheckConstraint(one_of("delivery", Delivery), name="delivery"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True)
    event: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery: Mapped[str] = mapped_column(String(20))


class Notification(Base):
    """An outbox row: tell ``user_id`` that ``event`` happened on ``case_id`` (once per person, event, case, day)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "event", "case_id", "created_on"),
        CheckConstraint(one_of("event", NotificationEvent), name="event"),
        CheckConstraint(one_of("delivery", (Delivery.IMMEDIATE, Delivery.DIGEST)), name="delivery"),
        CheckConstraint(one_of("status", OutboxStatus), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    # CASCADE: a purged case leaves no reference behind in the outbox either.
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    delivery: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING.value, index=True)
    created_on: Mapped[dt.date] = mapped_column(Date)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_on: Mapped[dt.date | None] = mapped_column(Date)
