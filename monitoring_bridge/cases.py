"""Cases the bridge makes: created, sealed with public keys only, fed while still ``raised``, linked.

The bridge holds no private key: a new case's key is sealed to the handling
team's and the recovery key's public keys (DESIGN.md section 4). To add a later
correlated record to a case it made, the bridge keeps that case's key wrapped
under the instance bridge key (:class:`~app.models.bridge.BridgeCaseKey`),
only while the case is still in its first state; after staff move it on, the
bridge cannot write into it and opens a new linked case instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from app.cases import keys as case_keys
from app.cases.deadlines import local_today
from app.cases.refs import random_ref
from app.models.bridge import BridgeCaseKey
from app.models.cases import Case, CaseEntry, CaseLink, Channel
from app.notifications import service as notifications
from app.reporting.service import case_cipher, entry_purpose
from monitoring_bridge import keyring
from monitoring_bridge.adapter import ApplyContext


def batch_memo(ctx: ApplyContext) -> dict[str, Any]:
    """State an adapter keeps for the current batch only; the importer drops it at each commit.

    Lets lookups skip the ORM's autoflush (one flush per record was most of the
    import's time) while still seeing what this batch has not flushed yet.
    """
    memo: dict[str, Any] = ctx.cache.setdefault("batch", {})
    return memo


def _public_ref(ctx: ApplyContext, year: int) -> str:
    # Random, not sequential, like reports: a sequence would tell how many came before.
    taken: set[str] = batch_memo(ctx).setdefault("refs", set())
    while True:
        ref = random_ref(year)
        if ref in taken:
            continue
        with ctx.db.no_autoflush:
            if ctx.db.scalar(select(Case.id).where(Case.public_ref == ref)) is None:
                taken.add(ref)
                return ref


def open_case(
    ctx: ApplyContext,
    *,
    kind: str,
    status: str,
    team_kind: str,
    department_id: int | None,
    severity: int = 0,
    category: str | None = None,
    next_due_on: dt.date | None = None,
    keep_key: bool = True,
) -> tuple[Case, bytes]:
    """A new case of ``kind`` sealed to the team of ``team_kind`` and recovery; returns it and its key."""
    today = local_today(ctx.now)
    case = Case(
        public_ref=_public_ref(ctx, today.year),
        kind=kind,
        source=ctx.source.name,
        status=status,
        category=category,
        department_id=department_id,
        severity=severity,
        received_on=today,
        next_due_on=next_due_on,
        channel=Channel.BRIDGE.value,
        created_at=ctx.now,
    )
    ctx.db.add(case)
    ctx.db.flush()
    key = case_keys.new_case_key()
    case_keys.grant_team(case, key, ctx.team_public(team_kind))
    case_keys.grant_recovery(case, key, ctx.recovery)
    if keep_key:
        ctx.db.add(BridgeCaseKey(case_id=case.id, key_ct=keyring.wrap_case_key(ctx.bridge_key, case.id, key)))
        batch_memo(ctx).setdefault("keys", {})[case.id] = key
    notify_new_cases(ctx, [(case.id, team_kind)])
    return case, key


def notify_new_cases(ctx: ApplyContext, opened: Sequence[tuple[int, str]]) -> int:
    """Tell the team each new bridge case is sealed to that it is in their queue; returns rows queued.

    Called once per *case* a batch opened (alerts joining a case tell nobody
    again). Mail off is checked first, before any query: the import's hot
    path pays nothing then. Not a reporter's action: the feed's timing is not
    the reporter's, so no digest-only delay (app.notifications.service.queue).
    """
    if not ctx.settings.mail_enabled or not opened:
        return 0
    today = local_today(ctx.now)
    cases = {c.id: c for c in ctx.db.scalars(select(Case).where(Case.id.in_([cid for cid, _ in opened])))}
    return sum(
        notifications.new_case(ctx.db, ctx.settings, cases[cid], [ctx.team_public(team_kind).id], today)
        for cid, team_kind in opened
    )


def fed_case_key(ctx: ApplyContext, case: Case) -> bytes | None:
    """The key of a case the bridge may still add to, or None once staff have taken it over."""
    keys: dict[int, bytes | None] = batch_memo(ctx).setdefault("keys", {})
    if case.id not in keys:
        with ctx.db.no_autoflush:
            row = ctx.db.get(BridgeCaseKey, case.id, with_for_update=True)  # held until the batch commits
        keys[case.id] = None if row is None else keyring.unwrap_case_key(ctx.bridge_key, case.id, row.key_ct)
    return keys[case.id]


def release_case_key(ctx: ApplyContext, case_id: int) -> None:
    """Forget a case's wrapped key (staff took the case over; the bridge can no longer read or feed it)."""
    row = ctx.db.get(BridgeCaseKey, case_id)
    if row is not None:
        ctx.db.delete(row)
    batch_memo(ctx).setdefault("keys", {})[case_id] = None


def add_entry(ctx: ApplyContext, case: Case, key: bytes, kind: str, body: bytes) -> CaseEntry:
    """An encrypted timeline entry on a bridge case (never visible to a reporter: there is none)."""
    # As reporting.service.new_entry, without its flush per entry (the batch commit flushes).
    entry = CaseEntry(
        kind=kind,
        body_ct=case_cipher(case, key).encrypt(entry_purpose(kind), body),
        created_on=local_today(ctx.now),
        created_at=ctx.now,
    )
    case.entries.append(entry)
    return entry


def link(ctx: ApplyContext, from_case_id: int, to_case_id: int, relation: str) -> bool:
    """Link two cases once (read: from <relation> to); False when the link already exists."""
    if from_case_id == to_case_id:
        return False
    exists = ctx.db.scalar(
        select(CaseLink.id).where(
            CaseLink.from_case_id == from_case_id, CaseLink.to_case_id == to_case_id, CaseLink.relation == relation
        )
    )
    if exists is not None:
        return False
    ctx.db.add(CaseLink(from_case_id=from_case_id, to_case_id=to_case_id, relation=relation))
    return True
