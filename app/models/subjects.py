"""Officials and contracts a case concerns, as staff name them: matched by blind index, read only with the case key.

Why: alerts link to the open reports that concern their department, official
or contract, and an official named in an open case who has not completed
mandatory transparency training is flagged on it. A report's text is sealed to
its handlers, so the bridge cannot read who or what it concerns; staff record
it here. The value is encrypted under the case key (purpose
``subject.<kind>``); what is matched is a keyed blind index under the instance
bridge key (:mod:`monitoring_bridge.subjects`), never the name or number.
"""

from __future__ import annotations

import enum

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ciphertext, intpk, one_of, timestamp, utcnow


class SubjectKind(enum.StrEnum):
    """What a case subject is."""

    OFFICIAL = "official"
    CONTRACT = "contract"


class CaseSubject(Base):
    """One official or contract a case concerns: blind index for matching, value under the case key."""

    __tablename__ = "case_subjects"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "blind_index"),
        CheckConstraint(one_of("kind", SubjectKind), name="kind"),
    )

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    blind_index: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    value_ct: Mapped[ciphertext]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
