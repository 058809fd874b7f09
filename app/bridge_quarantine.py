"""The bridge's quarantine as staff and the CLI work it: list, read, retry, discard.

One service for both ways in (``flask bridge quarantine …`` and the staff
page), so they cannot drift apart. Retrying and discarding themselves are
the import pipeline's (:func:`monitoring_bridge.importer.retry_quarantined`,
:func:`~monitoring_bridge.importer.discard_quarantined`), which audit what
happened as the bridge; this module first audits who asked (a staff member,
or the command line), committed before the pipeline runs, so even a retry
that fails again leaves a row naming the person.

Raw bytes. A quarantined record may name officials or carry a citizen's
proposal and contact, so its raw bytes are stored only encrypted under the
instance bridge key (``monitoring_bridge.keyring.encrypt_raw``). They are
decrypted only by :func:`read_raw`, for a supervisor (oversight), one record
at a time and audited; admins run the bridge from the plaintext error alone
(field and reason, which validators write without quoting values), since an
admin's role never opens content (DESIGN.md section 2).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.db import utcnow
from app.models.audit import ActorKind
from app.models.bridge import BridgeSource, QuarantinedRecord
from config import Settings
from monitoring_bridge import keyring
from monitoring_bridge.importer import ImportSummary, discard_quarantined, retry_quarantined


class QuarantineError(Exception):
    """A quarantine action that cannot be done."""


class NotOpen(QuarantineError):
    """No quarantined record with that id is waiting (never was, or already retried or discarded)."""


class NothingKept(QuarantineError):
    """The record's raw bytes were not kept (an oversized line) or were erased, so there is nothing to retry."""


@dataclass(frozen=True)
class QuarantineRow:
    """One quarantined record as lists show it: where it came from and what is wrong, never its content."""

    id: int
    source: str
    import_id: int | None
    position: int | None
    received_at: dt.datetime
    field: str
    reason: str
    resolved_at: dt.datetime | None


@dataclass(frozen=True)
class RetryOutcome:
    """What a retry did: imported (with the pipeline's summary), or still invalid with the new error."""

    imported: bool
    error: str | None
    summary: ImportSummary


def split_error(error: str) -> tuple[str, str]:
    """The field at fault and the reason, from the stored ``"field: reason"`` (RecordError's form)."""
    field, sep, reason = error.partition(": ")
    return (field, reason) if sep else ("", error)


def list_records(db: Session, *, source: str | None = None, include_resolved: bool = False) -> list[QuarantineRow]:
    """Quarantined records, oldest first, optionally of one source and including resolved ones."""
    stmt = select(QuarantinedRecord, BridgeSource.name).join(BridgeSource).order_by(QuarantinedRecord.id)
    if source:
        stmt = stmt.where(BridgeSource.name == source)
    if not include_resolved:
        stmt = stmt.where(QuarantinedRecord.resolved_at.is_(None))
    rows = []
    for q, name in db.execute(stmt).all():
        field, reason = split_error(q.error)
        rows.append(
            QuarantineRow(
                id=q.id,
                source=name,
                import_id=q.import_id,
                position=q.position,
                received_at=q.received_at,
                field=field,
                reason=reason,
                resolved_at=q.resolved_at,
            )
        )
    return rows


def by_source(rows: list[QuarantineRow]) -> dict[str, list[QuarantineRow]]:
    """Rows grouped per source, sources in name order (each source's records stay oldest first)."""
    groups: dict[str, list[QuarantineRow]] = {}
    for row in sorted(rows, key=lambda r: r.source):
        groups.setdefault(row.source, []).append(row)
    return groups


def source_names(db: Session) -> list[str]:
    """Names of all configured sources (for the page's filter)."""
    return list(db.scalars(select(BridgeSource.name).order_by(BridgeSource.name)))


def read_raw(
    db: Session, qid: int, *, bridge_key: bytes, actor_user_id: int, now: dt.datetime | None = None
) -> tuple[QuarantineRow, str | None]:
    """A record's row and its raw bytes as text (None when none were kept), audited as a viewing.

    Bytes that are not UTF-8 (a record quarantined for broken encoding) are
    shown as ``\\xNN`` escapes, so the fault is visible rather than replaced.
    The caller renders the text escaped; it is the source's data, not ours.
    """
    q = db.get(QuarantinedRecord, qid)
    if q is None:
        raise NotOpen(qid)
    source = db.get(BridgeSource, q.source_id)
    assert source is not None
    field, reason = split_error(q.error)
    row = QuarantineRow(q.id, source.name, q.import_id, q.position, q.received_at, field, reason, q.resolved_at)
    raw = keyring.decrypt_raw(bridge_key, q.source_id, q.raw_ct) if q.raw_ct else b""
    record(db, "bridge.quarantine_viewed", actor_user_id=actor_user_id, target=f"quarantined_record:{qid}", now=now)
    db.commit()
    return row, (raw.decode("utf-8", errors="backslashreplace") if raw else None)


def retry(
    db: Session,
    settings: Settings,
    qid: int,
    *,
    bridge_key: bytes,
    actor_user_id: int | None = None,
    now: dt.datetime | None = None,
) -> RetryOutcome:
    """Run a quarantined record through the pipeline again (after its department was added, say).

    ``actor_user_id`` None means the command line. Raises :class:`NotOpen`,
    :class:`NothingKept`, or the bridge's own errors (``NotReady``, ``UnknownSource``).
    """
    q = _open(db, qid)
    if not q.raw_ct or not keyring.decrypt_raw(bridge_key, q.source_id, q.raw_ct):
        # The pipeline would report the empty line as a new, misleading error.
        raise NothingKept(qid)
    _audit_request(db, "bridge.quarantine_retry_requested", qid, actor_user_id, now)
    try:
        summary = retry_quarantined(db, settings, qid, bridge_key=bridge_key)
    except LookupError:
        raise NotOpen(qid) from None
    if summary.quarantined:
        again = db.get(QuarantinedRecord, qid)
        return RetryOutcome(imported=False, error=again.error if again else None, summary=summary)
    return RetryOutcome(imported=True, error=None, summary=summary)


def discard(db: Session, qid: int, *, actor_user_id: int | None = None, now: dt.datetime | None = None) -> None:
    """Resolve a quarantined record without importing it; its raw bytes are erased."""
    _open(db, qid)
    _audit_request(db, "bridge.quarantine_discard_requested", qid, actor_user_id, now)
    try:
        discard_quarantined(db, qid, now)
    except LookupError:
        raise NotOpen(qid) from None


def _open(db: Session, qid: int) -> QuarantinedRecord:
    q = db.get(QuarantinedRecord, qid)
    if q is None or q.resolved_at is not None:
        raise NotOpen(qid)
    return q


def _audit_request(db: Session, action: str, qid: int, actor_user_id: int | None, now: dt.datetime | None) -> None:
    kind = ActorKind.STAFF if actor_user_id is not None else ActorKind.SYSTEM
    record(
        db,
        action,
        actor_user_id=actor_user_id,
        actor_kind=kind,
        target=f"quarantined_record:{qid}",
        now=now or utcnow(),
    )
    db.commit()
