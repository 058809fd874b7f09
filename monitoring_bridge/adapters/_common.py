"""Helpers shared by the personnel, training, Supporter and idea adapters.

Validators complete :mod:`monitoring_bridge.validate` (ids, department codes,
yes/no) and, like it, raise :class:`RecordError` naming the field and the
fault without quoting the value. Records arrive from JSON Lines (typed
values) or CSV (strings; an empty cell is absent), so each accepts both.
The case helpers create bridge cases sealed to the intake team and recovery.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from sqlalchemy import select

from app.audit import record as audit_record
from app.cases.deadlines import ack_due_on, local_today
from app.models.audit import ActorKind
from app.models.cases import Case, CaseKind, CaseStatus, Department, EntryKind, LinkRelation
from app.models.staff import TeamKind
from monitoring_bridge import cases as bridge_cases
from monitoring_bridge import validate
from monitoring_bridge.adapter import ApplyContext
from monitoring_bridge.errors import RecordError

DEPARTMENT_CODE = re.compile(r"[A-Z0-9_-]{2,40}")
EXTERNAL_ID = re.compile(r"[A-Za-z0-9._:/-]{1,200}")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}
# Cases still being worked: what a new record may be linked to.
OPEN_STATUSES = tuple(
    s.value for s in CaseStatus if s not in {CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.ACCEPTED}
)


def external_id(obj: dict[str, Any], field: str) -> str:
    """The record's id in its source system: short, printable, no spaces."""
    value = validate.text(obj, field, max_len=200)
    assert value is not None
    if not EXTERNAL_ID.fullmatch(value):
        raise RecordError(field, "must be 1 to 200 letters, digits or . _ : / -")
    return value


def required_text(obj: dict[str, Any], field: str, max_len: int) -> str:
    """A required non-empty string (``validate.text`` typed for the required case)."""
    value = validate.text(obj, field, max_len=max_len)
    assert value is not None
    return value


def required_day(obj: dict[str, Any], field: str) -> dt.date:
    """A required YYYY-MM-DD date."""
    value = validate.day(obj, field)
    assert value is not None
    return value


def department_code(obj: dict[str, Any], field: str = "department", *, required: bool = True) -> str | None:
    """A department code as admins write them: 2 to 40 upper-case letters, digits, dash or underscore."""
    value = validate.text(obj, field, max_len=40, required=required)
    if value is None:
        return None
    value = value.upper()
    if not DEPARTMENT_CODE.fullmatch(value):
        raise RecordError(field, "not a department code (2-40 of A-Z 0-9 _ -)")
    return value


def boolean(obj: dict[str, Any], field: str) -> bool:
    """A required yes/no: JSON true/false, or in CSV true/false, 1/0, yes/no, y/n."""
    value = obj.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordError(field, validate.MISSING)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise RecordError(field, "not a yes/no value (true/false)")
    raise RecordError(field, "must be true or false")


def department_id(ctx: ApplyContext, code: str | None, field: str = "department") -> int | None:
    """The id of the department with this code; an unknown code is the record's fault."""
    if code is None:
        return None
    found = ctx.db.scalar(select(Department.id).where(Department.code == code))
    if found is None:
        raise RecordError(field, "unknown department code")
    return found


def open_sealed_case(
    ctx: ApplyContext,
    kind: CaseKind,
    *,
    department_id: int | None,
    category: str | None,
    content: dict[str, Any],
    keep_key: bool = False,
) -> tuple[Case, bytes]:
    """A ``received`` case of ``kind`` sealed to the intake team and recovery, its content encrypted.

    The bridge seals with public keys only; with ``keep_key`` it keeps the key
    wrapped (``monitoring_bridge.cases``) so an updated record can still be
    added while the case is new. ``content`` becomes the first timeline entry;
    the acknowledgement deadline is the kind's (``ack_days``).
    """
    due = ack_due_on(local_today(ctx.now), days=ctx.settings.per_kind("ack_days", kind.value))
    case, key = bridge_cases.open_case(
        ctx,
        kind=kind.value,
        status=CaseStatus.RECEIVED.value,
        team_kind=TeamKind.INTAKE.value,
        department_id=department_id,
        category=category,
        next_due_on=due,
        keep_key=keep_key,
    )
    case.ack_due_on = due
    body = json.dumps(content, ensure_ascii=False, sort_keys=True).encode()
    bridge_cases.add_entry(ctx, case, key, EntryKind.REPORT.value, body)
    audit_record(
        ctx.db,
        "bridge.case_created",
        actor_kind=ActorKind.BRIDGE,
        case_id=case.id,
        target=f"source:{ctx.source.id}",
        now=ctx.now,
    )
    return case, key


def link_to_open_cases_of_department(
    ctx: ApplyContext, case: Case, relation: LinkRelation, exclude: tuple[int, ...] = ()
) -> int:
    """Link ``case`` to every other open case of its department (but ``exclude``); returns links made."""
    if case.department_id is None:
        return 0
    others = ctx.db.scalars(
        select(Case.id)
        .where(
            Case.department_id == case.department_id,
            Case.id.not_in((case.id, *exclude)),
            Case.status.in_(OPEN_STATUSES),
        )
        .order_by(Case.id)
    ).all()
    made = sum(bridge_cases.link(ctx, case.id, other, relation.value) for other in others)
    ctx.db.flush()
    return made
