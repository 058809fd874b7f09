"""Identity disclosure (EU directive 2019/1937 Art. 16): what a supervisor decided and what custodians released.

``IdentityAccessRequest`` (app.models.cases) holds the request and the
supervisor's decision; these two tables add what an approval decided about
telling the reporter, and the release itself: the identity key sealed by a
protection officer to the one investigator it was approved for. Reasons are
ciphertext under the case key, the released key is sealed to the
investigator's public key, so neither table alone discloses anything.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ciphertext, intpk, timestamp, utcnow


class IdentityApproval(Base):
    """An approved request: whether the reporter was told, or why telling them would jeopardise the case.

    Exactly one of the two holds (the directive's default is to tell the
    reporter, the exception needs a recorded reason).
    """

    __tablename__ = "identity_approvals"
    __table_args__ = (
        CheckConstraint(
            "(reporter_informed AND jeopardy_reason_ct IS NULL)"
            " OR (NOT reporter_informed AND jeopardy_reason_ct IS NOT NULL)",
            name="informed_or_jeopardy",
        ),
    )

    request_id: Mapped[int] = mapped_column(
        ForeignKey("identity_access_requests.id", ondelete="CASCADE"), primary_key=True
    )
    reporter_informed: Mapped[bool] = mapped_column(Boolean)
    # Why telling the reporter would jeopardise the investigation, under the case key.
    jeopardy_reason_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The notice in the reporter's inbox (a message_out entry), when one was sent.
    notice_entry_id: Mapped[int | None] = mapped_column(ForeignKey("case_entries.id", ondelete="SET NULL"))


class IdentityRelease(Base):
    """The identity key sealed by a custodian to the investigator whose request was approved."""

    __tablename__ = "identity_releases"
    __table_args__ = (CheckConstraint("released_by <> user_id", name="not_self"),)

    id: Mapped[intpk]
    # One release per request: a second custodian releasing at the same time fails here.
    request_id: Mapped[int] = mapped_column(ForeignKey("identity_access_requests.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    released_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="RESTRICT"))
    sealed_key_ct: Mapped[ciphertext]
    released_at: Mapped[timestamp] = mapped_column(default=utcnow)
