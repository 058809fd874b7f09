"""Retention (DESIGN.md section 6): a closed case is kept for a period per kind, then crypto-shredded.

Threat: data kept longer than the law needs is data that can still leak — from
a stolen database, a backup, or an operator with the offline recovery key.
Purging therefore destroys every sealed copy of the case key (team, user,
reporter and recovery grants, and the bridge's wrapped copy) and every
ciphertext of the case, and deletes the encrypted files from the blob store.
Copies of the ciphertext that survive elsewhere (old backups) can then never
be opened either: the only keys to them were the grants, and no grant
remains anywhere. It also deletes the officials and contracts the case named
(``case_subjects``): their blind indexes are not content, but whoever holds
the bridge key could still match them and tell what a purged case concerned.

What a purge keeps, on purpose, is what DESIGN.md section 4 already holds in
plaintext for the workflow: the ``cases`` row as a tombstone (reference,
kind, source, category, department, severity, report type, channel, dates,
outcome), for statistics and the law's records; the money ledger (support
requests and disbursements keep amounts and dates for accounting, their
encrypted reasons and details are emptied); bridge records (their
source and external id keep replays idempotent, their encrypted payload is
emptied); the audit log; and a :class:`RetentionRecord` with the counts of
what went.

A case whose reporter is still under protection is held, not purged:
deleting the protected person would silently end retaliation monitoring for
someone the law still protects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from app import audit
from app.blobs import BlobStore
from app.cases import keys as case_keys
from app.cases.deadlines import local_today
from app.models.audit import ActorKind
from app.models.bridge import BridgeCaseKey, BridgeRecord
from app.models.cases import (
    Attachment,
    Case,
    CaseAssignment,
    CaseEntry,
    CaseExcludedMember,
    CaseKeyGrant,
    CaseLabel,
    CaseLink,
    CaseStatus,
    IdentityAccessRequest,
    IdentityRecord,
)
from app.models.identity_disclosure import IdentityApproval, IdentityRelease
from app.models.protection import CheckIn, ComplianceCheck, ProtectedPerson, RetaliationAlert
from app.models.retention import RetentionRecord
from app.models.staff import Team
from app.models.subjects import CaseSubject
from app.models.support import SupportRequest
from config import Settings


class RetentionError(Exception):
    """Base class of retention errors."""


class NotClosed(RetentionError):
    """Only a closed case (with the day it closed) has a retention period."""


class NotDue(RetentionError):
    """The case is not closed, or its retention period has not ended yet."""


class AlreadyPurged(RetentionError):
    """The case was purged before; there is nothing left to destroy."""


class ProtectionRunning(RetentionError):
    """The case's reporter is still under protection; the case is held."""


@dataclass(frozen=True)
class PurgeCounts:
    """How many rows (or ciphertext columns) of each kind one purge destroyed."""

    grants: int = 0
    entries: int = 0
    attachments: int = 0
    blobs: int = 0
    identity_records: int = 0
    identity_requests: int = 0
    identity_releases: int = 0
    links: int = 0
    labels: int = 0
    assignments: int = 0
    exclusions: int = 0
    protection_records: int = 0
    support_texts: int = 0
    bridge_payloads: int = 0

    def summary(self) -> str:
        """``grants=4 entries=2 …``, the non-zero counts, for the command line."""
        return " ".join(f"{k}={v}" for k, v in asdict(self).items() if v) or "nothing"


def set_retention(case: Case, settings: Settings) -> dt.date:
    """Set and return the day a closed case is due for purge: its closing day in Seoul + its kind's period.

    Called by the workflow when a case is closed. Days, not months: a period
    of 1825 days from a leap day is still 1825 days.
    """
    if case.status != CaseStatus.CLOSED.value or case.closed_at is None:
        raise NotClosed(case.public_ref)
    days = settings.per_kind("retention_days", case.kind)
    case.retention_until = local_today(case.closed_at) + dt.timedelta(days=days)
    return case.retention_until


def _not_purged() -> ColumnElement[bool]:
    return RetentionRecord.purged_on.is_(None)


def due_for_purge(db: Session, today: dt.date) -> Sequence[Case]:
    """Closed cases whose retention ended on or before ``today`` and that are not purged yet."""
    return db.scalars(
        select(Case)
        .outerjoin(RetentionRecord, RetentionRecord.case_id == Case.id)
        .where(
            Case.status == CaseStatus.CLOSED.value,
            Case.retention_until.is_not(None),
            Case.retention_until <= today,
            _not_purged(),
        )
        .order_by(Case.retention_until, Case.id)
    ).all()


def due_for_reminder(db: Session, today: dt.date, settings: Settings) -> Sequence[Case]:
    """Closed cases purged within ``retention_reminder_days`` whose team was not yet reminded of that date.

    A case already past its date but not yet purged is included: better a
    late reminder than none before the purge.
    """
    horizon = today + dt.timedelta(days=settings.retention_reminder_days)
    return db.scalars(
        select(Case)
        .outerjoin(RetentionRecord, RetentionRecord.case_id == Case.id)
        .where(
            Case.status == CaseStatus.CLOSED.value,
            Case.retention_until.is_not(None),
            Case.retention_until <= horizon,
            _not_purged(),
            or_(RetentionRecord.reminded_for.is_(None), RetentionRecord.reminded_for != Case.retention_until),
        )
        .order_by(Case.retention_until, Case.id)
    ).all()


def _record_of(db: Session, case: Case) -> RetentionRecord:
    record = db.get(RetentionRecord, case.id)
    if record is None:
        record = RetentionRecord(case_id=case.id, **asdict(PurgeCounts()))
        db.add(record)
    return record


def mark_reminded(db: Session, case: Case, today: dt.date) -> None:
    """Record that the team was reminded of this case's purge date (once per date), and audit it."""
    record = _record_of(db, case)
    record.reminded_on = today
    record.reminded_for = case.retention_until
    audit.record(db, "retention.reminded", actor_kind=ActorKind.SYSTEM, case_id=case.id)
    db.flush()


def teams_of(db: Session, case: Case) -> list[str]:
    """Names of the teams the case belongs to by a live grant, stand-ins included (who is reminded of its purge)."""
    return list(
        db.scalars(
            select(Team.name)
            .join(CaseKeyGrant, case_keys.owning_team() == Team.id)
            .where(CaseKeyGrant.case_id == case.id, CaseKeyGrant.revoked_at.is_(None))
            .distinct()
            .order_by(Team.name)
        )
    )


def protection_until(db: Session, case: Case) -> dt.date | None:
    """The last day any reporter of the case is protected, or None."""
    return db.scalar(select(func.max(ProtectedPerson.protected_until)).where(ProtectedPerson.case_id == case.id))


def _destroy(db: Session, model: Any, *where: ColumnElement[bool]) -> int:
    """Delete the rows of ``model`` matching ``where``; returns how many there were."""
    count = db.scalar(select(func.count()).select_from(model).where(*where)) or 0
    if count:
        db.execute(delete(model).where(*where))
    return count


def purge_case(db: Session, blobs: BlobStore, case: Case, now: dt.datetime) -> PurgeCounts:
    """Crypto-shred a closed case whose retention has ended; keep a content-free tombstone.

    Rows go first and are flushed, blobs last: if the database refuses, no
    file has been lost; if a blob deletion fails after the flush, the caller's
    rollback keeps every row and the purge can simply run again. The caller
    commits.
    """
    today = local_today(now)
    record = db.get(RetentionRecord, case.id)
    if record is not None and record.purged_on is not None:
        raise AlreadyPurged(case.public_ref)
    if case.status != CaseStatus.CLOSED.value or case.retention_until is None or case.retention_until > today:
        raise NotDue(case.public_ref)
    protected = protection_until(db, case)
    if protected is not None and protected >= today:
        raise ProtectionRunning(f"{case.public_ref} until {protected.isoformat()}")

    cid = case.id
    blob_keys = list(db.scalars(select(Attachment.blob_key).where(Attachment.case_id == cid)))
    persons = select(ProtectedPerson.id).where(ProtectedPerson.case_id == cid).scalar_subquery()
    requests = select(IdentityAccessRequest.id).where(IdentityAccessRequest.case_id == cid).scalar_subquery()
    # The released identity keys first: each is the identity key sealed to one investigator.
    identity_releases = _destroy(db, IdentityRelease, IdentityRelease.request_id.in_(requests))
    _destroy(db, IdentityApproval, IdentityApproval.request_id.in_(requests))
    identity_requests = _destroy(db, IdentityAccessRequest, IdentityAccessRequest.case_id == cid)
    identity_records = _destroy(db, IdentityRecord, IdentityRecord.case_id == cid)
    attachments = _destroy(db, Attachment, Attachment.case_id == cid)
    entries = _destroy(db, CaseEntry, CaseEntry.case_id == cid)
    # Every sealed copy of the case key (team, user, reporter, recovery): after this none exists anywhere.
    # The bridge's wrapped copy is normally gone at the first staff action (app.cases.handover); a case
    # closed without one must not keep a copy that the instance folder opens.
    grants = _destroy(db, CaseKeyGrant, CaseKeyGrant.case_id == cid) + _destroy(
        db, BridgeCaseKey, BridgeCaseKey.case_id == cid
    )
    # The officials and contracts the case named: their blind indexes would still match the bridge's
    # feeds and staff searches after the purge (the value is unreadable, but the match is not).
    _destroy(db, CaseSubject, CaseSubject.case_id == cid)
    exclusions = _destroy(db, CaseExcludedMember, CaseExcludedMember.case_id == cid)
    assignments = _destroy(db, CaseAssignment, CaseAssignment.case_id == cid)
    labels = _destroy(db, CaseLabel, CaseLabel.case_id == cid)
    links = _destroy(db, CaseLink, or_(CaseLink.from_case_id == cid, CaseLink.to_case_id == cid))
    protection_records = (
        _destroy(
            db,
            RetaliationAlert,
            or_(RetaliationAlert.case_id == cid, RetaliationAlert.protected_person_id.in_(persons)),
        )
        + _destroy(db, CheckIn, or_(CheckIn.case_id == cid, CheckIn.protected_person_id.in_(persons)))
        + _destroy(db, ProtectedPerson, ProtectedPerson.case_id == cid)
        # A measure's compliance checks stay as dates and results; what the officer wrote goes.
        + _empty(
            db,
            ComplianceCheck,
            (ComplianceCheck.case_id == cid) & ComplianceCheck.notes_ct.is_not(None),
            notes_ct=None,
        )
    )
    # Money survives for accounting (amounts, dates, payment references are plaintext);
    # the reasons and details anyone typed do not.
    support_texts = _empty(
        db,
        SupportRequest,
        (SupportRequest.case_id == cid)
        & or_(SupportRequest.reasons_ct.is_not(None), SupportRequest.details_ct.is_not(None)),
        reasons_ct=None,
        details_ct=None,
    )
    # payload_ct is NOT NULL: emptied instead. The row stays (with its MAC) so a replay of the
    # record stays a no-op. The official and contract it named go, as the case's subjects do:
    # their blind indexes would still tie them to this case.
    bridge_payloads = _empty(
        db,
        BridgeRecord,
        (BridgeRecord.case_id == cid)
        & or_(
            func.length(BridgeRecord.payload_ct) > 0,
            BridgeRecord.official_index.is_not(None),
            BridgeRecord.contract_index.is_not(None),
        ),
        payload_ct=b"",
        official_index=None,
        contract_index=None,
    )

    db.expire(case)
    # The receipt's lookup id would still let whoever holds the receipt confirm
    # which case was theirs; the tombstone forgets it.
    case.receipt_lookup_id = None
    case.receipt_scheme = None
    case.waiting_on_reporter = False
    case.next_due_on = None

    counts = PurgeCounts(
        grants=grants,
        entries=entries,
        attachments=attachments,
        blobs=len(blob_keys),
        identity_records=identity_records,
        identity_requests=identity_requests,
        identity_releases=identity_releases,
        links=links,
        labels=labels,
        assignments=assignments,
        exclusions=exclusions,
        protection_records=protection_records,
        support_texts=support_texts,
        bridge_payloads=bridge_payloads,
    )
    record = _record_of(db, case)
    record.purged_on = today
    for name, value in asdict(counts).items():
        setattr(record, name, value)
    audit.record(db, "retention.purged", actor_kind=ActorKind.SYSTEM, case_id=cid, now=now)
    db.flush()
    for key in blob_keys:
        blobs.delete(key)
    return counts


def _empty(db: Session, model: Any, where: ColumnElement[bool], **values: Any) -> int:
    """Overwrite ciphertext columns of the matching rows; returns how many rows were touched."""
    count = db.scalar(select(func.count()).select_from(model).where(where)) or 0
    if count:
        db.execute(update(model).where(where).values(**values))
    return count


def is_purged(db: Session, case: Case) -> bool:
    """True once the case has been purged (its row is a tombstone)."""
    record = db.get(RetentionRecord, case.id)
    return record is not None and record.purged_on is not None
