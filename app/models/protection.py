"""Protection of reporters who are public officers: blind-indexed persons, check-ins, HR events, alerts.

Matching personnel events to protected persons compares blind indexes (HMAC
of the employee number under the instance's protection key), so the matcher
never decrypts anyone's identity and a stolen database cannot list who is
protected by employee number.

Retaliation cases (kind ``retaliation``) keep what the law asks to record in
plaintext dates: the retaliatory measure's date and the one-year limit to
apply for protective measures that counts from it, when a measure was
requested and decided, and a compliance check every six months for two
years. What anyone wrote about them is ciphertext under the case key.
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


class RetaliationOrigin(enum.StrEnum):
    """How a retaliation case began: the reporter's complaint, or a staff member acting on an alert."""

    REPORTER = "reporter"
    ALERT = "alert"


class ComplianceResult(enum.StrEnum):
    """What a compliance check of a protective measure found."""

    COMPLIED = "complied"
    PARTLY_COMPLIED = "partly_complied"
    NOT_COMPLIED = "not_complied"


class ProtectedPerson(Base):
    """A reporter under protection for a period, known to the matcher only by a blind index.

    One per case (a report has one reporter). ``identity_ct`` is the identity
    as JSON under the case's *identity* key (purpose ``identity``, the same
    format as :class:`~app.models.cases.IdentityRecord`), so only the
    protection team's custodians open it, and re-keying the team, which
    re-seals the identity key, never strands it.
    """

    __tablename__ = "protected_persons"
    __table_args__ = (CheckConstraint("protected_until >= protected_from", name="period"),)

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True, unique=True)
    blind_index: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    identity_ct: Mapped[ciphertext]
    protected_from: Mapped[dt.date] = mapped_column(Date)
    protected_until: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)

    check_ins: Mapped[list[CheckIn]] = relationship(back_populates="protected_person", passive_deletes=True)


class CheckIn(Base):
    """A periodic check-in the reporter answers through their receipt; a missed one is flagged.

    Belongs to a case (any reporter may be checked on) and, when there is one,
    to the protected person it follows up. What the reporter ticked and wrote
    is encrypted under a fresh key sealed only to the protection team and
    recovery (never under the case key, which investigators hold).
    """

    __tablename__ = "check_ins"
    __table_args__ = (
        CheckConstraint(one_of("answer", CheckInAnswer), name="answer"),
        # One check-in per case and day: scheduling again (an extension, a replay of the cron) adds nothing twice.
        UniqueConstraint("case_id", "due_on"),
    )

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    protected_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("protected_persons.id", ondelete="CASCADE"), index=True
    )
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    answered_on: Mapped[dt.date | None] = mapped_column(Date)  # the day only: it is a reporter action
    answer: Mapped[str | None] = mapped_column(String(20))
    free_text_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The answer's details are under a key of their own, sealed like an identity key to the protection
    # team (at this key version) and to recovery: check-ins are for custodians, not for whoever holds
    # the case key. Re-keying the team re-seals it (app.staff.teams.rekey).
    protection_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"), index=True)
    key_version: Mapped[int | None] = mapped_column(Integer)
    sealed_to_protection_key_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    recovery_sealed_key_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    flagged_missed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The day the missed check-in was flagged to the protection team (a staff-side fact, by the cron).
    flagged_on: Mapped[dt.date | None] = mapped_column(Date)

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


class RetaliationRecord(Base):
    """What the law asks to record of a retaliation case, beside the case row (one per case).

    ``apply_by`` is the last day the reporter may apply for protective
    measures: one year after the retaliatory measure (``measure_on``). The
    measure's type and dates are plaintext like every workflow date; what the
    reporter wrote about it is an encrypted entry of the case.
    """

    __tablename__ = "retaliation_records"
    __table_args__ = (
        CheckConstraint(one_of("origin", RetaliationOrigin), name="origin"),
        CheckConstraint("apply_by IS NULL OR measure_on IS NOT NULL", name="apply_by"),
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    origin: Mapped[str] = mapped_column(String(20))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("retaliation_alerts.id", ondelete="SET NULL"), unique=True)
    measure_type: Mapped[str | None] = mapped_column(String(40))
    measure_on: Mapped[dt.date | None] = mapped_column(Date)
    apply_by: Mapped[dt.date | None] = mapped_column(Date)
    measure_requested_on: Mapped[dt.date | None] = mapped_column(Date)
    measure_decided_on: Mapped[dt.date | None] = mapped_column(Date)


class ComplianceCheck(Base):
    """One scheduled check that a protective measure is complied with (every six months for two years).

    Each check is recorded when done: the day, who, the result and the
    officer's notes (encrypted under the case key).
    """

    __tablename__ = "compliance_checks"
    __table_args__ = (
        UniqueConstraint("case_id", "due_on"),
        CheckConstraint(one_of("result", ComplianceResult), name="result"),
        CheckConstraint(
            "(checked_on IS NULL AND result IS NULL) OR (checked_on IS NOT NULL AND result IS NOT NULL)",
            name="recorded",
        ),
    )

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    checked_on: Mapped[dt.date | None] = mapped_column(Date)
    result: Mapped[str | None] = mapped_column(String(20))
    notes_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    checked_at: Mapped[dt.datetime | None]
