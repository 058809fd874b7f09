"""The hash-chained audit log (DESIGN.md section 4): who did what to which case, when; never content.

Each row's hash covers the previous row's hash and the row's own fields, so
changing, reordering or deleting a row breaks the chain from there on;
signed checkpoints (Ed25519, instance key) pin the chain's head. Rows are
appended in the caller's transaction, so an action and its audit row commit
together or not at all.

Checkpoints. ``record()`` signs a checkpoint once ``every`` rows have been
appended since the last one. Where the signing key and interval come from is
a :class:`CheckpointPolicy`: callers may pass one; otherwise, inside a Flask
app context, the app's settings (``audit_checkpoint_every``) and instance key
are used; outside one (plain scripts, unit tests of other services) no
checkpoint is made and ``record()`` works as before. ``flask audit
checkpoint`` signs the head on demand (for example from cron, so a quiet
instance still pins its newest rows).

Threat: someone with write access to the database (not to the instance
folder) edits, reorders or deletes rows. Unkeyed hashes alone would let them
recompute the whole chain after an edit; the signed checkpoints stop that for
every row up to the newest checkpoint, because re-signing needs the instance
key. Rows after the newest checkpoint are protected by the chain only, and
cutting off the tail together with its checkpoints cannot be seen from the
database alone; ``VerifyResult.unsigned_tail`` says how many rows that is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.cases.deadlines import local_today
from app.db import utcnow
from app.models.audit import ActorKind, AuditCheckpoint, AuditEvent
from crypto.errors import CryptoError
from crypto.signing import sign, signing_key_from_private
from crypto.signing import verify as verify_signature

GENESIS = bytes(32)
CHECKPOINT_CONTEXT = b"haechi/audit-checkpoint/v1"
_RETRIES = 8
_BATCH = 1000

# Why verification stopped (the first broken row). Plain English: printed by the CLI.
CONTENT_CHANGED = "content changed"
LINK_BROKEN = "previous row missing or reordered"
BAD_SIGNATURE = "bad checkpoint signature"
UNKNOWN_KEY = "checkpoint signed by an unknown key"
CHECKPOINT_MISMATCH = "row differs from its signed checkpoint"
CHECKPOINT_ORPHAN = "checkpoint refers to a missing row"


class AuditError(RuntimeError):
    """The audit chain could not be appended to or checkpointed."""


def row_hash(
    prev_hash: bytes,
    at: dt.datetime,
    actor_kind: str,
    actor_user_id: int | None,
    action: str,
    case_id: int | None,
    target: str | None,
) -> bytes:
    """SHA-256 over the previous hash and this row's fields, in a fixed, versioned layout."""
    fields = "\x1f".join(
        [
            "v1",
            at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            actor_kind,
            "" if actor_user_id is None else str(actor_user_id),
            action,
            "" if case_id is None else str(case_id),
            target or "",
        ]
    )
    return hashlib.sha256(prev_hash + fields.encode()).digest()


def reporter_day(now: dt.datetime) -> dt.datetime:
    """The time stored for a reporter's action: midnight (UTC) of the day in Seoul, nothing finer."""
    return dt.datetime.combine(local_today(now), dt.time(0), tzinfo=dt.UTC)


@dataclass(frozen=True, repr=False)
class CheckpointPolicy:
    """When ``record()`` signs a checkpoint: after ``every`` rows (0 = never), with this Ed25519 key."""

    every: int
    signing_private: bytes

    def __repr__(self) -> str:
        return f"CheckpointPolicy(every={self.every})"  # never the key


def app_checkpoint_policy() -> CheckpointPolicy | None:
    """The running app's policy (settings and instance key), or None outside an app context."""
    if not has_app_context() or "haechi.settings" not in current_app.extensions:
        return None
    from app.runtime import get_secrets, get_settings

    return CheckpointPolicy(get_settings().audit_checkpoint_every, get_secrets().audit_signing_key)


def record(
    db: Session,
    action: str,
    *,
    actor_user_id: int | None = None,
    actor_kind: ActorKind = ActorKind.STAFF,
    case_id: int | None = None,
    target: str | None = None,
    now: dt.datetime | None = None,
    checkpoint_policy: CheckpointPolicy | None = None,
) -> AuditEvent:
    """Append one audit row to the chain (in the caller's transaction).

    Reporter actions are stored with the day only. ``target`` names an object
    (``"user:7"``, ``"team:2"``, ``"grant:31"``), never content. A checkpoint
    is signed when due (see the module docstring for ``checkpoint_policy``).
    """
    now = now or utcnow()
    at = reporter_day(now) if actor_kind == ActorKind.REPORTER else now
    for _attempt in range(_RETRIES):
        last = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()
        prev = last.row_hash if last is not None else GENESIS
        event = AuditEvent(
            at=at,
            actor_kind=actor_kind.value,
            actor_user_id=actor_user_id,
            action=action,
            case_id=case_id,
            target=target,
            prev_hash=prev,
            row_hash=row_hash(prev, at, actor_kind.value, actor_user_id, action, case_id, target),
        )
        try:
            with db.begin_nested():
                db.add(event)
        except IntegrityError:
            continue  # another writer appended after the same row: chain onto theirs
        # A reporter row signed at once must not date the reporter by its checkpoint: it takes the
        # row's own (day-only) time.
        maybe_checkpoint(db, checkpoint_policy, now=at)
        return event
    raise AuditError("could not append to the audit chain")


def checkpoint_message(event_id: int, head_hash: bytes) -> bytes:
    """What a checkpoint signs: the head row's id and hash (the hash pins every row before it)."""
    return event_id.to_bytes(8, "big") + head_hash


def checkpoint(db: Session, signing_private: bytes, now: dt.datetime | None = None) -> AuditCheckpoint | None:
    """Sign the chain's current head; None when the log is empty (the head's checkpoint if it has one)."""
    head = db.execute(select(AuditEvent.id, AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    if head is None:
        return None
    existing = db.scalars(select(AuditCheckpoint).where(AuditCheckpoint.event_id == head.id)).first()
    if existing is not None:
        return existing
    keys = signing_key_from_private(signing_private)
    cp = AuditCheckpoint(
        event_id=head.id,
        row_hash=head.row_hash,
        # The full versioned signature (65 bytes); the column's declared 64 is not enforced.
        signature=sign(keys.private, checkpoint_message(head.id, head.row_hash), CHECKPOINT_CONTEXT),
        public_key=keys.public,
        created_at=now or utcnow(),
    )
    try:
        with db.begin_nested():
            db.add(cp)
    except IntegrityError:
        # Another writer checkpointed this head at the same moment: theirs is as good.
        return db.scalars(select(AuditCheckpoint).where(AuditCheckpoint.event_id == head.id)).first()
    return cp


def maybe_checkpoint(
    db: Session, policy: CheckpointPolicy | None = None, now: dt.datetime | None = None
) -> AuditCheckpoint | None:
    """Sign the head if ``policy.every`` rows (by id) were appended since the newest checkpoint."""
    policy = policy or app_checkpoint_policy()
    if policy is None or policy.every <= 0:
        return None
    head_id = db.scalar(select(func.max(AuditEvent.id)))
    if head_id is None:
        return None
    last_signed = db.scalar(select(func.max(AuditCheckpoint.event_id))) or 0
    # Ids may skip a value (a retried append on PostgreSQL): then it is a little sooner, never later.
    if head_id - last_signed < policy.every:
        return None
    return checkpoint(db, policy.signing_private, now=now)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of walking the chain: OK with counts, or the first broken row and why."""

    rows: int  # rows checked (up to and including the broken one)
    checkpoints: int  # checkpoints checked
    broken_id: int | None = None
    reason: str | None = None
    last_checkpoint_id: int | None = None  # event id of the newest checkpoint that verified
    unsigned_tail: int = 0  # rows after that checkpoint, protected by the chain only
    from_event_id: int | None = None  # set when only the part after the newest checkpoint was walked

    @property
    def ok(self) -> bool:
        """True when no row is broken."""
        return self.broken_id is None


class _Checkpoint(NamedTuple):
    event_id: int
    row_hash: bytes
    signature: bytes
    public_key: bytes


def _checkpoints_from(db: Session, first_event_id: int) -> Iterator[_Checkpoint]:
    """Checkpoints in event order, fetched in batches by key (plain tuples: nothing piles up in the session)."""
    after = first_event_id - 1
    while True:
        batch = db.execute(
            select(
                AuditCheckpoint.event_id,
                AuditCheckpoint.row_hash,
                AuditCheckpoint.signature,
                AuditCheckpoint.public_key,
            )
            .where(AuditCheckpoint.event_id > after)
            .order_by(AuditCheckpoint.event_id)
            .limit(_BATCH)
        ).all()
        for row in batch:
            yield _Checkpoint(row.event_id, bytes(row.row_hash), bytes(row.signature), bytes(row.public_key))
        if len(batch) < _BATCH:
            return
        after = batch[-1].event_id


def _checkpoint_fault(cp: _Checkpoint, public_key: bytes, head_hash: bytes) -> str | None:
    """Why a checkpoint does not vouch for its row, or None."""
    if cp.public_key != public_key:
        return UNKNOWN_KEY
    try:
        verify_signature(public_key, cp.signature, checkpoint_message(cp.event_id, cp.row_hash), CHECKPOINT_CONTEXT)
    except CryptoError:
        return BAD_SIGNATURE
    if cp.row_hash != head_hash:
        return CHECKPOINT_MISMATCH
    return None


def verify(db: Session, public_key: bytes, *, since_last_checkpoint: bool = False) -> VerifyResult:
    """Walk the chain in id order and report the first broken row, or OK with counts.

    Each row's hash is recomputed from its stored ``prev_hash`` and fields
    (catches changed content), each ``prev_hash`` must equal the previous
    row's hash (catches deletion, insertion and reordering), and every
    checkpoint must carry a valid signature by ``public_key`` over a hash
    equal to its row's (catches a chain recomputed after an edit).
    ``since_last_checkpoint`` walks only from the newest checkpoint on (a
    quick check for the audit page; the full walk is ``flask audit verify``).
    Rows are streamed in batches, so memory stays flat whatever the size.
    """
    start = 0
    if since_last_checkpoint:
        start = db.scalar(select(func.max(AuditCheckpoint.event_id))) or 0
    rows = checkpoints = unsigned = 0
    last_cp: int | None = None
    prev: bytes | None = GENESIS if start == 0 else None  # None: the walk starts mid-chain, no link to check
    cps = _checkpoints_from(db, start)
    pending = next(cps, None)

    def broken(event_id: int, reason: str) -> VerifyResult:
        return VerifyResult(rows, checkpoints, event_id, reason, last_cp, unsigned, start or None)

    stmt = (
        select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.actor_kind,
            AuditEvent.actor_user_id,
            AuditEvent.action,
            AuditEvent.case_id,
            AuditEvent.target,
            AuditEvent.prev_hash,
            AuditEvent.row_hash,
        )
        .where(AuditEvent.id >= start)
        .order_by(AuditEvent.id)
        .execution_options(yield_per=_BATCH)
    )
    # Closed on every way out: an early return must not leave a server-side cursor open (PostgreSQL).
    with db.execute(stmt) as events:
        for ev in events:
            rows += 1
            unsigned += 1
            stored_prev, stored_hash = bytes(ev.prev_hash), bytes(ev.row_hash)
            if row_hash(stored_prev, ev.at, ev.actor_kind, ev.actor_user_id, ev.action, ev.case_id, ev.target) != (
                stored_hash
            ):
                return broken(ev.id, CONTENT_CHANGED)
            if prev is not None and stored_prev != prev:
                return broken(ev.id, LINK_BROKEN)
            prev = stored_hash
            if pending is not None and pending.event_id < ev.id:
                return broken(pending.event_id, CHECKPOINT_ORPHAN)
            if pending is not None and pending.event_id == ev.id:
                checkpoints += 1
                fault = _checkpoint_fault(pending, public_key, stored_hash)
                if fault is not None:
                    return broken(ev.id, fault)
                last_cp, unsigned = ev.id, 0
                pending = next(cps, None)
    if pending is not None:
        return broken(pending.event_id, CHECKPOINT_ORPHAN)
    return VerifyResult(rows, checkpoints, None, None, last_cp, unsigned, start or None)


@dataclass(frozen=True)
class EventFilter:
    """What the audit page narrows rows to; None means any."""

    action: str | None = None
    actor_user_id: int | None = None
    case_id: int | None = None
    since: dt.datetime | None = None  # inclusive
    until: dt.datetime | None = None  # exclusive


@dataclass(frozen=True)
class EventPage:
    """One page of rows, newest first, and whether older or newer rows match the same filter."""

    rows: list[AuditEvent]
    has_older: bool
    has_newer: bool


def find_events(
    db: Session, flt: EventFilter, *, before: int | None = None, after: int | None = None, limit: int = 50
) -> EventPage:
    """A page of rows newest first, by key (ids below ``before`` or above ``after``): fast however deep."""
    conds = []
    if flt.action:
        conds.append(AuditEvent.action == flt.action)
    if flt.actor_user_id is not None:
        conds.append(AuditEvent.actor_user_id == flt.actor_user_id)
    if flt.case_id is not None:
        conds.append(AuditEvent.case_id == flt.case_id)
    if flt.since is not None:
        conds.append(AuditEvent.at >= flt.since)
    if flt.until is not None:
        conds.append(AuditEvent.at < flt.until)
    if after is not None:
        newer = db.scalars(
            select(AuditEvent).where(*conds, AuditEvent.id > after).order_by(AuditEvent.id).limit(limit + 1)
        ).all()
        rows = list(reversed(newer[:limit]))
        has_newer = len(newer) > limit
        has_older = _any(db, conds, AuditEvent.id < (rows[-1].id if rows else after + 1))
    else:
        older_q = select(AuditEvent).where(*conds)
        if before is not None:
            older_q = older_q.where(AuditEvent.id < before)
        found = db.scalars(older_q.order_by(AuditEvent.id.desc()).limit(limit + 1)).all()
        rows = list(found[:limit])
        has_older = len(found) > limit
        has_newer = before is not None and _any(db, conds, AuditEvent.id >= before)
    return EventPage(rows, has_older, has_newer)


def _any(db: Session, conds: list[Any], extra: Any) -> bool:
    return db.scalar(select(AuditEvent.id).where(*conds, extra).limit(1)) is not None


def known_actions(db: Session) -> list[str]:
    """Every action name in the log, for the page's filter list."""
    return list(db.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
