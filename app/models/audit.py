"""The append-only audit log: hash-chained rows and signed checkpoints.

Rows hold who, what, which case and when, never content. They carry no
foreign keys on purpose: the log must outlive purged cases and departed
staff, and its rows are never updated or deleted.
"""

from __future__ import annotations

import enum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, intpk, one_of, timestamp, utcnow


class ActorKind(enum.StrEnum):
    """Who acted: a staff member, an anonymous reporter, the system itself, or a bridge source."""

    STAFF = "staff"
    REPORTER = "reporter"
    SYSTEM = "system"
    BRIDGE = "bridge"


class AuditEvent(Base):
    """One audited action, chained to the previous row by its hash.

    ``prev_hash`` is unique too: two writers appending after the same row
    cannot both succeed, so the chain never forks.
    """

    __tablename__ = "audit_events"
    __table_args__ = (CheckConstraint(one_of("actor_kind", ActorKind), name="actor_kind"),)

    # BIGSERIAL on PostgreSQL; SQLite only autoincrements an INTEGER primary key (64-bit anyway).
    id: Mapped[int] = mapped_column(Integer().with_variant(BigInteger, "postgresql"), primary_key=True)
    # For reporter actions the audit service must store the day only (DESIGN.md section 5).
    at: Mapped[timestamp] = mapped_column(default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    target: Mapped[str | None] = mapped_column(String(100))
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    row_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)


class AuditCheckpoint(Base):
    """An Ed25519 signature over the chain up to ``event_id``, made with the instance's signing key."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[intpk]
    event_id: Mapped[int] = mapped_column(
        Integer().with_variant(BigInteger, "postgresql"),
        ForeignKey("audit_events.id", ondelete="RESTRICT"),
        unique=True,
    )
    row_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))  # which signing key, so keys can rotate
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
