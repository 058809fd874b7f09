"""Protection of reporters who are public officers: blind-indexed persons, check-ins, HR events, alerts.

Matching personnel events to protected persons compares blind indexes (HMAC
of the employee number under the instance's protection key), so the matcher
never decrypts anyone's identity and a stolen database cannot list who is
protected by employee number.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, ciphertext, intpk, one_of, str40, timestamp, utcnow


class CheckInAnswer(enum.StrEnum):
    """A reporter's answer to a periodic check-in."""

    ALL_WELL = "all_well"
    CONCERN = "concern"
    RETALIATION = "retaliation"


class AlertStatus(enum.StrEnum):
    """Where a retaliation alert stands."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class ProtectedPerson(Base):
    """A reporter under protection for a period, known to the matcher only by a blind index."""

    __tablename__ = "protected_persons"
    __table_args__ = (CheckConstraint("protected_until >= protected_from", name="period"),)

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    blind_index: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    identity_ct: Mapped[ciphertext]
    protected_from: Mapped[dt.date] = mapped_column(Date)
    protected_until: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)

    check_ins: Mapped[list[CheckIn]] = relationship(back_populates="protected_person", passive_deletes=True)


class CheckIn(Base):
    """A periodic check-in the reporter answers through their receipt; a missed one is flagged.

    Belongs to a case (any reporter may be checked on) and, when there is one,
    to the protected person it follows up.
    """

    __tablename__ = "check_ins"
    __table_args__ = (CheckConstraint(one_of("answer", CheckInAnswer), name="answer"),)

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    protected_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("protected_persons.id", ondelete="CASCADE"), index=True
    )
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    answered_on: Mapped[dt.date | None] = mapped_column(Date)  # the day only: it is a reporter action
    answer: Mapped[str | None] = mapped_column(String(20))
    free_text_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    flagged_missed: Mapped[bool] = mapped_column(Boolean, default=False)

    protected_person: Mapped[ProtectedPerson | None] = relationship(back_populates="check_ins")


class PersonnelEvent(Base):
    """A personnel event from the HR bridge (transfer, demotion, discipline, rating, non-renewal…).

    Only the blind index, the type and the date are kept in plaintext: enough
    to match and to count days, nothing that names the person.
    """

    __tablename__ = "personnel_events"

    id: Mapped[intpk]
    bridge_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("bridge_records.id", ondelete="SET NULL"), unique=True
    )
    blind_index: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    event_type: Mapped[str40]
    effective_on: Mapped[dt.date] = mapped_column(Date)
    received_at: Mapped[timestamp] = mapped_column(default=utcnow)


class RetaliationAlert(Base):
    """An adverse personnel event within a protection period; one per (person, event)."""

    __tablename__ = "retaliation_alerts"
    __table_args__ = (
        UniqueConstraint("protected_person_id", "personnel_event_id"),
        CheckConstraint(one_of("status", AlertStatus), name="status"),
        CheckConstraint("days_since_report >= 0", name="days_since_report"),
    )

    id: Mapped[intpk]
    protected_person_id: Mapped[int] = mapped_column(ForeignKey("protected_persons.id", ondelete="CASCADE"))
    personnel_event_id: Mapped[int] = mapped_column(ForeignKey("personnel_events.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # The linked `retaliation` case opened for this alert, once there is one.
    retaliation_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    days_since_report: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=AlertStatus.OPEN.value, index=True)
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
