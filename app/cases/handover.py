"""Staff take a bridge-made case over: the bridge's own copy of its case key is destroyed.

The bridge holds no private key; to add later correlated records to a case
it opened, it keeps that case's key wrapped under the instance bridge key
(:class:`~app.models.bridge.BridgeCaseKey`). The threat that copy carries:
whoever holds both the database and the instance folder opens the case
without any staff grant. That is accepted only while the case holds nothing
but what the feed itself brought in (that party sees the feed's plaintext
anyway).

So the copy is destroyed at the first staff action that either puts staff
content under the case key (a workflow move, whose reasons are encrypted; a
note; a message; a conflict-of-interest reason) or hands the case to someone
(an assignment): from then on the case holds things the feed never saw, and
it is somebody's work. Waiting for the first *move* alone would leave a note
written on a still-``raised`` alert readable with the instance folder.
Afterwards the bridge finds no key and opens a new case linked to this one
(``monitoring_bridge.cases.fed_case_key`` returns None).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.audit import record
from app.models.bridge import BridgeCaseKey
from app.models.cases import Case
from app.models.staff import StaffUser


def take_over(db: Session, case: Case, actor: StaffUser, now: dt.datetime, why: str) -> bool:
    """Destroy the bridge's wrapped copy of the case key, if it still has one; True if one was destroyed.

    ``why`` names the staff action (``transition``, ``note``, ``assignment``, …)
    for the audit row; it is a code, never content.
    """
    # One DELETE, not a read then a delete: whether a copy was destroyed is what the statement itself
    # reports, so two take-overs (or a take-over and an import batch holding the row FOR UPDATE, see
    # monitoring_bridge.batch.lock_batch) cannot both act on a copy only one of them saw.
    gone = db.execute(delete(BridgeCaseKey).where(BridgeCaseKey.case_id == case.id))
    if int(getattr(gone, "rowcount", 0) or 0) != 1:
        return False
    record(db, "bridge.case_key_released", actor_user_id=actor.id, case_id=case.id, target=why, now=now)
    return True
