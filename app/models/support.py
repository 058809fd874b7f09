"""Legal and financial support for reporters: requests, decisions, the disbursement ledger, budgets.

Money is whole won in BigInteger columns, never floats (rounding must not
move a reporter's relief). The database refuses negative amounts where the
law knows none. The ledger's "never more than approved" rule spans rows: the
support service checks it under a row lock, and the database enforces it too
through ``paid_total``, which a trigger on ``disbursements`` (migration 0007)
keeps equal to the sum of the request's entries, under a CHECK. Other triggers
refuse any UPDATE or DELETE of a disbursement and a reversal that does not
exactly undo the entry it names.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, intpk, one_of, str100, timestamp, utcnow, won


class SupportType(enum.StrEnum):
    """Kinds of support (DESIGN.md section 7)."""

    LEGAL_COUNSEL = "legal_counsel"
    LITIGATION_COSTS = "litigation_costs"
    RELIEF_MEDICAL = "relief_medical"
    RELIEF_RELOCATION = "relief_relocation"
    RELIEF_LOST_WAGES = "relief_lost_wages"
    RELIEF_LEGAL_COSTS = "relief_legal_costs"
    REWARD = "reward"
    COMPENSATION = "compensation"


class SupportStatus(enum.StrEnum):
    """Where a support request stands."""

    REQUESTED = "requested"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    PARTLY_APPROVED = "partly_approved"
    REFUSED = "refused"
    PAID = "paid"
    CLOSED = "closed"


class SupportRequest(Base):
    """A reporter's request for support, and the legal officer's decision on it.

    Above a threshold a second approver signs too; the database only insists
    that the two are different people.
    """

    __tablename__ = "support_requests"
    __table_args__ = (
        CheckConstraint(one_of("type", SupportType), name="type"),
        CheckConstraint(one_of("status", SupportStatus), name="status"),
        CheckConstraint("amount_requested >= 0", name="amount_requested"),
        CheckConstraint("amount_approved >= 0", name="amount_approved"),
        CheckConstraint("recovered_amount >= 0", name="recovered_amount"),
        # The law caps a reward at 30 % of what was recovered; basis points keep it an integer.
        CheckConstraint("reward_rate_bp BETWEEN 0 AND 3000", name="reward_rate_bp"),
        CheckConstraint("second_approver_id IS NULL OR second_approver_id <> decided_by", name="four_eyes"),
        # Threat: a bug or a hand-written statement paying more than was approved, or
        # paying a request nobody approved. NULL would pass a plain comparison, hence the IS NOT NULL.
        CheckConstraint(
            "paid_total = 0 OR (amount_approved IS NOT NULL AND paid_total <= amount_approved)",
            name="paid_within_approved",
        ),
        CheckConstraint("paid_total >= 0", name="paid_total"),
    )

    id: Mapped[intpk]
    # RESTRICT: a purge must decide what happens to financial records; they are never dropped by accident.
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default=SupportStatus.REQUESTED.value, index=True)
    amount_requested: Mapped[won]
    amount_approved: Mapped[won | None]
    recovered_amount: Mapped[won | None]
    final_decision_on: Mapped[dt.date | None] = mapped_column(Date)  # reward input: final court/admin decision
    reward_rate_bp: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="RESTRICT"))
    decided_at: Mapped[dt.datetime | None]
    second_approver_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="RESTRICT"))
    reasons_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    details_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A reporter may file the request: keep the day, and a time only when staff file it.
    requested_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime | None]
    # Staff member who entered the request; NULL when the reporter filed it through the receipt.
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="RESTRICT"))
    confirmed_at: Mapped[dt.datetime | None]
    # Sum of the ledger entries, kept by a database trigger (never written by the ORM).
    paid_total: Mapped[won] = mapped_column(default=0, server_default="0")
    # Optimistic lock: a decision or payment made from a stale page fails instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    disbursements: Mapped[list[Disbursement]] = relationship(back_populates="support_request")


class Disbursement(Base):
    """One ledger entry paying (or reversing a payment of) an approved request.

    Entries are never edited: a mistake is undone by a reversing entry with a
    negative amount that points at the one it reverses, at most once.
    """

    __tablename__ = "disbursements"
    __table_args__ = (
        CheckConstraint(
            "(reverses_id IS NULL AND amount > 0) OR (reverses_id IS NOT NULL AND amount < 0)",
            name="amount_sign",
        ),
    )

    id: Mapped[intpk]
    support_request_id: Mapped[int] = mapped_column(ForeignKey("support_requests.id", ondelete="RESTRICT"), index=True)
    amount: Mapped[won]
    paid_on: Mapped[dt.date] = mapped_column(Date)
    payment_ref: Mapped[str100]
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("disbursements.id", ondelete="RESTRICT"), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="RESTRICT"))
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)

    support_request: Mapped[SupportRequest] = relationship(back_populates="disbursements")


class SupportBudget(Base):
    """The year's budget for one type of support, for the dashboard's spent-versus-budget view."""

    __tablename__ = "support_budgets"
    __table_args__ = (
        UniqueConstraint("year", "support_type"),
        CheckConstraint(one_of("support_type", SupportType), name="support_type"),
        CheckConstraint("amount >= 0", name="amount"),
    )

    id: Mapped[intpk]
    year: Mapped[int] = mapped_column(Integer)
    support_type: Mapped[str] = mapped_column(String(30))
    amount: Mapped[won]


class SupportReceipt(Base):
    """A receipt of a relief claim: an attachment of the case (encrypted like any file) tied to the request."""

    __tablename__ = "support_receipts"

    support_request_id: Mapped[int] = mapped_column(
        ForeignKey("support_requests.id", ondelete="CASCADE"), primary_key=True
    )
    # CASCADE: a retention purge destroys the files; the link goes with them, the money stays.
    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True, index=True
    )
