"""Cases and everything hanging off them: key grants, timeline, files, links, identity.

Only what DESIGN.md section 4 keeps in plaintext on purpose is plaintext here
(ids, reference, kind, source, status, category, department, severity, dates,
assignments); everything a reporter or investigator typed is a ``*_ct``
column, encrypted under a key derived from the case key.

Anonymity (DESIGN.md section 5): rows a reporter's action creates carry the
day only (``*_on``); precise ``*_at`` timestamps are for staff actions and are
nullable where a row may be born from a reporter's submission.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, ciphertext, intpk, one_of, str40, str100, str200, timestamp, utcnow


class CaseKind(enum.StrEnum):
    """What a case came from (DESIGN.md section 6)."""

    REPORT = "report"
    ALERT = "alert"
    TRAINING = "training"
    SUPPORTER = "supporter"
    IDEA = "idea"
    RETALIATION = "retaliation"


class CaseStatus(enum.StrEnum):
    """Workflow states: those of a report, a Cheongbaek-e alert (조치/소명), an idea, a retaliation case.

    A kind's own states are listed together; ``received`` and ``closed`` are shared.
    """

    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    TRIAGE = "triage"
    INVESTIGATING = "investigating"
    LEGAL_REVIEW = "legal_review"
    RESOLVED = "resolved"
    CLOSED = "closed"
    RAISED = "raised"
    EXPLANATION_REQUESTED = "explanation_requested"
    EXPLAINED = "explained"
    ACTION_TAKEN = "action_taken"
    ACCEPTED = "accepted"
    ESCALATED = "escalated"
    UNDER_REVIEW = "under_review"
    ADOPTED = "adopted"
    NOT_ADOPTED = "not_adopted"
    ASSESSING = "assessing"
    MEASURE_REQUESTED = "measure_requested"
    MEASURE_DECIDED = "measure_decided"
    COMPLIANCE_MONITORING = "compliance_monitoring"


class CaseOutcome(enum.StrEnum):
    """How a resolved case ended; a referral names who it went to."""

    SUBSTANTIATED = "substantiated"
    UNSUBSTANTIATED = "unsubstantiated"
    REFERRED_POLICE = "referred_police"
    REFERRED_PROSECUTION = "referred_prosecution"
    REFERRED_ACRC = "referred_acrc"  # Anti-Corruption and Civil Rights Commission
    WITHDRAWN = "withdrawn"


class ReportType(enum.StrEnum):
    """The law a report falls under; decides its legal basis and deadlines."""

    PUBLIC_INTEREST = "public_interest"
    CORRUPTION = "corruption"
    CODE_OF_CONDUCT = "code_of_conduct"


class Channel(enum.StrEnum):
    """How a report reached us; a report through an attorney is recorded as such by law."""

    WEB = "web"
    ATTORNEY = "attorney"
    IN_PERSON = "in_person"
    POST = "post"
    PHONE = "phone"
    EMAIL = "email"
    BRIDGE = "bridge"


class GranteeKind(enum.StrEnum):
    """Who a case key is sealed to."""

    TEAM = "team"
    USER = "user"
    REPORTER = "reporter"
    RECOVERY = "recovery"


class EntryKind(enum.StrEnum):
    """Kinds of timeline entry."""

    REPORT = "report"
    MESSAGE_IN = "message_in"
    MESSAGE_OUT = "message_out"
    NOTE = "note"
    QUESTION = "question"
    ANSWER = "answer"
    STATUS_CHANGE = "status_change"
    FILE = "file"


class LinkRelation(enum.StrEnum):
    """How one case relates to another (read: from_case <relation> to_case)."""

    RELATED = "related"
    DUPLICATE_OF = "duplicate_of"
    RETALIATION_OF = "retaliation_of"
    ALERT_FOR = "alert_for"
    FOLLOW_UP_OF = "follow_up_of"


class AccessRequestStatus(enum.StrEnum):
    """Where a request to see a reporter's identity stands."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"


class Department(Base):
    """A department of the city, maintained by admins; cases point at the one concerned."""

    __tablename__ = "departments"

    id: Mapped[intpk]
    code: Mapped[str40] = mapped_column(unique=True)
    name_ko: Mapped[str200]
    name_en: Mapped[str200]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Case(Base):
    """A case: a report, alert or record, with its workflow state and deadlines in plaintext.

    ``version`` is SQLAlchemy's optimistic lock: two officers editing the same
    case at once get a StaleDataError instead of silently overwriting each other.
    """

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(one_of("kind", CaseKind), name="kind"),
        CheckConstraint(one_of("status", CaseStatus), name="status"),
        CheckConstraint(one_of("outcome", CaseOutcome), name="outcome"),
        CheckConstraint(one_of("report_type", ReportType), name="report_type"),
        CheckConstraint(one_of("channel", Channel), name="channel"),
        CheckConstraint("severity BETWEEN 0 AND 5", name="severity"),
        # A receipt lookup id is only meaningful with the scheme that derived it.
        CheckConstraint(
            "(receipt_lookup_id IS NULL AND receipt_scheme IS NULL)"
            " OR (receipt_lookup_id IS NOT NULL AND receipt_scheme IS NOT NULL)",
            name="receipt_pair",
        ),
    )

    id: Mapped[intpk]
    public_ref: Mapped[str] = mapped_column(String(20), unique=True)  # "HC-2026-000123"
    kind: Mapped[str] = mapped_column(String(20), index=True)
    source: Mapped[str40]  # "web", or the name of the bridge source
    status: Mapped[str] = mapped_column(String(30), index=True)
    outcome: Mapped[str | None] = mapped_column(String(30))
    category: Mapped[str | None] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"), index=True)
    severity: Mapped[int] = mapped_column(Integer, default=0)  # 0 = not yet triaged, 5 = most severe
    received_on: Mapped[dt.date] = mapped_column(Date)
    acknowledged_at: Mapped[dt.datetime | None]
    ack_due_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    feedback_due_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    # The nearest open deadline (acknowledgement, then feedback, or a kind's own),
    # kept by the workflow service so queues sort on one indexed column.
    next_due_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    feedback_given_on: Mapped[dt.date | None] = mapped_column(Date)
    # When the reporter was told of a referral or closure (what the law asks to record).
    reporter_informed_on: Mapped[dt.date | None] = mapped_column(Date)
    # Set when staff ask the reporter something; cleared when the reporter writes.
    waiting_on_reporter: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    closed_at: Mapped[dt.datetime | None]
    retention_until: Mapped[dt.date | None] = mapped_column(Date, index=True)
    report_type: Mapped[str | None] = mapped_column(String(20))
    internal_reporter: Mapped[bool | None] = mapped_column(Boolean)  # decides reward or compensation
    channel: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    # HMAC of the receipt's lookup token (crypto.receipts): finds the case, never reveals the receipt.
    receipt_lookup_id: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    receipt_scheme: Mapped[int | None] = mapped_column(Integer)
    # Left empty for reporter submissions: a precise time could identify the reporter.
    created_at: Mapped[dt.datetime | None]

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    department: Mapped[Department | None] = relationship()
    grants: Mapped[list[CaseKeyGrant]] = relationship(back_populates="case", passive_deletes=True)
    entries: Mapped[list[CaseEntry]] = relationship(back_populates="case", passive_deletes=True)
    attachments: Mapped[list[Attachment]] = relationship(back_populates="case", passive_deletes=True)
    assignments: Mapped[list[CaseAssignment]] = relationship(back_populates="case", passive_deletes=True)
    labels: Mapped[list[CaseLabel]] = relationship(
        back_populates="case", cascade="all, delete-orphan", passive_deletes=True
    )
    identity: Mapped[IdentityRecord | None] = relationship(back_populates="case", passive_deletes=True)


class CaseKeyGrant(Base):
    """The case key sealed to one grantee: no grant, no plaintext (DESIGN.md section 4)."""

    __tablename__ = "case_key_grants"
    __table_args__ = (
        CheckConstraint(one_of("grantee_kind", GranteeKind), name="grantee_kind"),
        # Exactly the foreign key that names the grantee is set; the reporter's grant names nobody.
        CheckConstraint(
            "(grantee_kind = 'team' AND team_id IS NOT NULL AND user_id IS NULL AND recovery_key_id IS NULL)"
            " OR (grantee_kind = 'user' AND user_id IS NOT NULL AND team_id IS NULL AND recovery_key_id IS NULL)"
            " OR (grantee_kind = 'reporter' AND team_id IS NULL AND user_id IS NULL AND recovery_key_id IS NULL)"
            " OR (grantee_kind = 'recovery' AND recovery_key_id IS NOT NULL AND team_id IS NULL"
            " AND user_id IS NULL)",
            name="grantee",
        ),
        # Only a personal grant stands in for a team (see ``via_team_id``).
        CheckConstraint("via_team_id IS NULL OR grantee_kind = 'user'", name="via_team"),
    )

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    grantee_kind: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    # RESTRICT: a recovery key that still holds grants must not vanish, or lost cases stay lost.
    recovery_key_id: Mapped[int | None] = mapped_column(ForeignKey("recovery_keys.id", ondelete="RESTRICT"))
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    sealed_key_ct: Mapped[ciphertext]
    # Left empty for grants made at submission, for the same reason as Case.created_at.
    created_at: Mapped[dt.datetime | None]
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    revoked_at: Mapped[dt.datetime | None]
    # Set on a personal grant that stands in for a team grant (a conflict-of-interest exclusion sealed
    # the case to the team's other members one by one): leaving that team revokes it, as the re-key
    # would have shut them out of the team grant. NULL for personal grants made for their own sake.
    via_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)

    case: Mapped[Case] = relationship(back_populates="grants")


class CaseExcludedMember(Base):
    """A staff member left out of a case for a conflict of interest: the key is sealed around them."""

    __tablename__ = "case_excluded_members"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True)
    reason_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    excluded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)


class CaseAssignment(Base):
    """Who works a case: a team, a user, or a user within a team."""

    __tablename__ = "case_assignments"
    __table_args__ = (CheckConstraint("team_id IS NOT NULL OR user_id IS NOT NULL", name="assignee"),)

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    assigned_at: Mapped[timestamp] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="assignments")


class CaseEntry(Base):
    """One item of a case's timeline; its body is ciphertext under the case key."""

    __tablename__ = "case_entries"
    __table_args__ = (CheckConstraint(one_of("kind", EntryKind), name="kind"),)

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    body_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime | None]  # staff entries only; reporter entries keep the day
    visible_to_reporter: Mapped[bool] = mapped_column(Boolean, default=False)

    case: Mapped[Case] = relationship(back_populates="entries")


class Attachment(Base):
    """A file of a case. The bytes live encrypted in the blob store under ``blob_key``.

    ``blob_key`` is random, never derived from the case id or file name, so the
    blob store alone does not tell which files belong together.
    """

    __tablename__ = "attachments"
    __table_args__ = (CheckConstraint("size_bytes >= 0", name="size_bytes"),)

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("case_entries.id", ondelete="SET NULL"), index=True)
    name_ct: Mapped[ciphertext]
    content_type_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str100] = mapped_column(unique=True)
    created_on: Mapped[dt.date] = mapped_column(Date)

    case: Mapped[Case] = relationship(back_populates="attachments")


class CaseLink(Base):
    """A relation between two cases (an alert for a report, a retaliation complaint, a duplicate)."""

    __tablename__ = "case_links"
    __table_args__ = (
        UniqueConstraint("from_case_id", "to_case_id", "relation"),
        CheckConstraint(one_of("relation", LinkRelation), name="relation"),
        CheckConstraint("from_case_id <> to_case_id", name="not_self"),
    )

    id: Mapped[intpk]
    from_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    to_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))


class CaseLabel(Base):
    """A staff-chosen label on a case, for queues and filters (never reporter text)."""

    __tablename__ = "case_labels"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str40] = mapped_column(primary_key=True, index=True)

    case: Mapped[Case] = relationship(back_populates="labels")


class IdentityRecord(Base):
    """A reporter's identity, under a key of its own sealed only to the protection team and recovery.

    Holding the case key is not enough to read who reported: investigators see
    the report, custodians see the person (DESIGN.md section 4).
    """

    __tablename__ = "identity_records"

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    # The protection team the identity key is sealed to, and that team's key
    # version at the time: re-keying the team re-seals the identity key too.
    protection_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"), index=True)
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    sealed_to_protection_key_ct: Mapped[ciphertext]
    recovery_sealed_key_ct: Mapped[ciphertext]
    fields_ct: Mapped[ciphertext]

    case: Mapped[Case] = relationship(back_populates="identity")


class IdentityAccessRequest(Base):
    """A request to see a reporter's identity, with its reason, decided by a supervisor.

    The decider cannot be the requester (four eyes, enforced in the database).
    """

    __tablename__ = "identity_access_requests"
    __table_args__ = (
        CheckConstraint(one_of("status", AccessRequestStatus), name="status"),
        CheckConstraint("decided_by IS NULL OR decided_by <> requested_by", name="four_eyes"),
        CheckConstraint(
            "(status = 'requested' AND decided_at IS NULL) OR (status <> 'requested' AND decided_at IS NOT NULL)",
            name="decided",
        ),
    )

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="RESTRICT"))
    reason_ct: Mapped[ciphertext]
    status: Mapped[str] = mapped_column(String(20), default=AccessRequestStatus.REQUESTED.value)
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="RESTRICT"))
    decided_at: Mapped[dt.datetime | None]
    decision_reason_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Once approved, a custodian seals the identity key to the requester here.
    sealed_identity_key_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
