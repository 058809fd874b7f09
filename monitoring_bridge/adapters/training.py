"""Transparency-training records: who completed which course, and departments far below target.

Each record is one official's enrolment in a course: ``completed_on`` empty
means not (yet) completed. The official's name goes only into the importer's
encrypted payload and, for matching against open cases later, a keyed MAC
(the bridge record's correlation key: a plain hash would let a database
reader confirm a guessed name). What the completion rates need is kept in
plain on the bridge record, on purpose and naming nobody: department
(``department_code``), mandatory or not (``scenario``), completion date
(``occurred_at``).

A department whose completion of mandatory training falls below
``Settings.training_target_bp`` once it has at least
:data:`MIN_RECORDS_TO_JUDGE` mandatory enrolments becomes a ``training``
case, one open case per department at a time.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.models.bridge import BridgeRecord, SourceKind
from app.models.cases import Case, CaseKind
from monitoring_bridge import keyring, validate
from monitoring_bridge.adapter import ApplyContext, ApplyResult, ParsedRecord
from monitoring_bridge.adapters import _common

MANDATORY = "mandatory"
OPTIONAL = "optional"
# Below this many mandatory enrolments a rate says little (one missing person would flag a team).
MIN_RECORDS_TO_JUDGE = 5


@dataclass(frozen=True)
class CompletionRate:
    """Completion of mandatory training in one department."""

    department: str
    completed: int
    total: int

    @property
    def basis_points(self) -> int:
        """Completed share in basis points (10000 = everyone), rounded down; 10000 when nobody is enrolled."""
        return 10000 if self.total == 0 else self.completed * 10000 // self.total


def completion_rate(
    ctx: ApplyContext, department: str, *, exclude: str | None = None, extra: tuple[bool, ...] = ()
) -> CompletionRate:
    """Mandatory-training completion of a department over this source's records.

    ``exclude`` leaves out one record (by external id) and ``extra`` adds the
    completion flags of records not yet stored: the record being applied is
    written by the importer only after ``apply``.
    """
    completed_col = func.count(BridgeRecord.occurred_at)
    stmt = select(func.count(BridgeRecord.id), completed_col).where(
        BridgeRecord.source_id == ctx.source.id,
        BridgeRecord.department_code == department,
        BridgeRecord.scenario == MANDATORY,
    )
    if exclude is not None:
        stmt = stmt.where(BridgeRecord.external_id != exclude)
    total, completed = ctx.db.execute(stmt).one()
    return CompletionRate(department=department, completed=int(completed) + sum(extra), total=int(total) + len(extra))


def _official_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


class TrainingAdapter:
    """Training records: course, official (encrypted), department, completion date, mandatory or not."""

    name = "training"
    kind = SourceKind.TRAINING.value
    fields: tuple[str, ...] = ("record_id", "course", "official", "department", "completed_on", "mandatory")

    def parse(self, obj: dict[str, Any]) -> ParsedRecord:
        """Validate one enrolment; an empty ``completed_on`` means not completed."""
        record_id = _common.external_id(obj, "record_id")
        completed_on = validate.day(obj, "completed_on", required=False)
        data = {
            "course": _common.required_text(obj, "course", 200),
            "official": _common.required_text(obj, "official", 200),
            "department": _common.department_code(obj, "department"),
            "completed_on": completed_on.isoformat() if completed_on else None,
            "mandatory": _common.boolean(obj, "mandatory"),
        }
        return ParsedRecord(external_id=record_id, data=data)

    def apply(self, ctx: ApplyContext, record: ParsedRecord, existing: BridgeRecord | None) -> ApplyResult:
        """Keep the record's plain index and open a training case for a department far below target."""
        data = record.data
        department: str = data["department"]
        department_id = _common.department_id(ctx, department)
        completed_on = dt.date.fromisoformat(data["completed_on"]) if data["completed_on"] else None
        index: dict[str, Any] = {
            "scenario": MANDATORY if data["mandatory"] else OPTIONAL,
            "department_code": department,
            "occurred_at": dt.datetime.combine(completed_on, dt.time(0), tzinfo=dt.UTC) if completed_on else None,
            "correlation_key": keyring.mac(ctx.bridge_key, "training.official", _official_key(data["official"])),
        }
        case_id, created = None, False
        if data["mandatory"]:
            rate = completion_rate(ctx, department, exclude=record.external_id, extra=(completed_on is not None,))
            case_id, created = _flag_department(ctx, department_id, rate)
        return ApplyResult(case_id=case_id, created=created, **index)


def _flag_department(ctx: ApplyContext, department_id: int | None, rate: CompletionRate) -> tuple[int | None, bool]:
    """The department's open training case, opening one if it is far below target; (None, False) if fine."""
    if rate.total < MIN_RECORDS_TO_JUDGE or rate.basis_points >= ctx.settings.training_target_bp:
        return None, False
    open_case = ctx.db.scalar(
        select(Case.id)
        .where(
            Case.kind == CaseKind.TRAINING.value,
            Case.department_id == department_id,
            Case.status.in_(_common.OPEN_STATUSES),
        )
        .order_by(Case.id)
        .limit(1)
    )
    if open_case is not None:
        return open_case, False
    case, _key = _common.open_sealed_case(
        ctx,
        CaseKind.TRAINING,
        department_id=department_id,
        category="training_below_target",
        content={
            "department": rate.department,
            "completed": rate.completed,
            "enrolled": rate.total,
            "rate_bp": rate.basis_points,
            "target_bp": ctx.settings.training_target_bp,
        },
    )
    return case.id, True
