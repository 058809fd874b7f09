"""The hash-chained audit log (DESIGN.md section 4): who did what to which case, when; never content.

Each row's hash covers the previous row's hash and the row's own fields, so
changing, reordering or deleting a row breaks the chain from there on;
signed checkpoints (Ed25519, instance key) pin the chain's head. Rows are
appended in the caller's transaction, so an action and its audit row commit
together or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.cases.deadlines import local_today
from app.db import utcnow
from app.models.audit import ActorKind, AuditEvent

GENESIS = bytes(32)
_RETRIES = 8


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


def record(
    db: Session,
    action: str,
    *,
    actor_user_id: int | None = None,
    actor_kind: ActorKind = ActorKind.STAFF,
    case_id: int | None = None,
    target: str | None = None,
    now: dt.datetime | None = None,
) -> AuditEvent:
    """Append one audit row to the chain (in the caller's transaction).

    Reporter actions are stored with the day only. ``target`` names an object
    (``"user:7"``, ``"team:2"``, ``"grant:31"``), never content.
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
        return event
    raise RuntimeError("could not append to the audit chain")
