"""Transparency-training records: who completed which course, and departments far below target.

Each record is one official's enrolment in a course: ``completed_on`` empty
means not (yet) completed. The official's name goes only into the importer's
encrypted payload and, for matching against open cases later, a keyed MAC
(the bridge record's correlation key: a plain hash would let a database
reader confirm a guessed name). What the completion rates need is kept in
plain on the bridge record, on purpose and naming nobody: department
(``department_code``), mandatory or not (``scenario``), completion date
(``occurred_at``).

Departments are judged at the end of an import (:meth:`TrainingAdapter.finish`),
not record by record: halfway through a file a department's rate says only
how far the file has got. A department whose completion of mandatory training
is below ``Settings.training_target_bp`` once it has at least
:data:`MIN_RECORDS_TO_JUDGE` mandatory enrolments becomes a ``training``
case, exactly once per department and period (the calendar year in Seoul).
The period's rate counts the enrolments received in that period (an update
keeps its first arrival): a year's case judges that year's courses, not every
course the source has ever sent, so one bad year does not flag every later one.
A later import in the same year updates that case (a new entry with the new
rate, only when the rate changed, so re-importing the same file changes
nothing) while the bridge still holds its key, and never opens a second one.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select

from app.audit import record as audit_record
from app.cases.deadlines import day_start, local_today
from app.models.audit import ActorKind
from app.models.bridge import BridgeRecord, SourceKind
from app.models.cases import Case, CaseEntry, CaseKind, Department, EntryKind
from app.reporting.service import case_cipher, entry_purpose
from monitoring_bridge import cases as bridge_cases
from monitoring_bridge import subjects, validate
from monitoring_bridge.adapter import ApplyContext, ApplyResult, ParsedRecord
from monitoring_bridge.adapters import _common

MANDATORY = "mandatory"
OPTIONAL = "optional"
# Below this many mandatory enrolments a rate says little (one missing person would flag a team).
MIN_RECORDS_TO_JUDGE = 5
CATEGORY = "training_below_target"


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
    """Mandatory-training completion of a department in the current period (as :func:`completion_rates`).

    ``exclude`` leaves out one record (by external id) and ``extra`` adds the
    completion flags of records not yet stored: the record being applied is
    written by the importer only after ``apply``.
    """
    completed_col = func.count(BridgeRecord.occurred_at)
    stmt = select(func.count(BridgeRecord.id), completed_col).where(
        *_mandatory_in_period(ctx), BridgeRecord.department_code == department
    )
    if exclude is not None:
        stmt = stmt.where(BridgeRecord.external_id != exclude)
    total, completed = ctx.db.execute(stmt).one()
    return CompletionRate(department=department, completed=int(completed) + sum(extra), total=int(total) + len(extra))


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
        _common.department_id(ctx, department)  # an unknown code is the record's fault: quarantined
        completed_on = dt.date.fromisoformat(data["completed_on"]) if data["completed_on"] else None
        index: dict[str, Any] = {
            "scenario": MANDATORY if data["mandatory"] else OPTIONAL,
            "department_code": department,
            "occurred_at": dt.datetime.combine(completed_on, dt.time(0), tzinfo=dt.UTC) if completed_on else None,
            # The official's blind index (monitoring_bridge.subjects): what the training flag on cases matches.
            "correlation_key": subjects.official_index(ctx.bridge_key, data["official"]),
        }
        return ApplyResult(case_id=None, created=False, **index)

    def finish(self, ctx: ApplyContext) -> int:
        """Judge every department at the end of an import; returns training cases opened or updated."""
        return flag_departments(ctx)


def completion_rates(ctx: ApplyContext) -> list[CompletionRate]:
    """Mandatory-training completion of every department in the current period, by code.

    The enrolments counted are those this source sent during the period (see :func:`period_of`).
    """
    rows = ctx.db.execute(
        select(BridgeRecord.department_code, func.count(BridgeRecord.id), func.count(BridgeRecord.occurred_at))
        .where(*_mandatory_in_period(ctx))
        .group_by(BridgeRecord.department_code)
        .order_by(BridgeRecord.department_code)
    )
    return [CompletionRate(department=d, completed=int(c), total=int(t)) for d, t, c in rows if d is not None]


def below_target(ctx: ApplyContext, rate: CompletionRate) -> bool:
    """Whether a department is judged (enough enrolments) and below the target share."""
    return rate.total >= MIN_RECORDS_TO_JUDGE and rate.basis_points < ctx.settings.training_target_bp


def _mandatory_in_period(ctx: ApplyContext) -> list[ColumnElement[bool]]:
    """This source's mandatory enrolments received during the current period: what a rate counts."""
    start, end = (day_start(day) for day in period_of(ctx))
    return [
        BridgeRecord.source_id == ctx.source.id,
        BridgeRecord.scenario == MANDATORY,
        BridgeRecord.received_at >= start,
        BridgeRecord.received_at < end,
    ]


def period_of(ctx: ApplyContext) -> tuple[dt.date, dt.date]:
    """The period a training case stands for: the calendar year (Seoul) of the import, [first day, next year)."""
    year = local_today(ctx.now).year
    return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)


def flag_departments(ctx: ApplyContext) -> int:
    """Open or update the period's training case of each department below target; returns how many."""
    start, end = period_of(ctx)
    dept_ids = dict(ctx.db.execute(select(Department.code, Department.id)).all())
    existing = {
        case.department_id: case
        for case in ctx.db.scalars(
            select(Case)
            .where(
                Case.kind == CaseKind.TRAINING.value,
                Case.category == CATEGORY,
                Case.received_on >= start,
                Case.received_on < end,
            )
            .order_by(Case.id.desc())
        )
    }
    changed = 0
    for rate in completion_rates(ctx):
        department_id = dept_ids.get(rate.department)
        if department_id is None or not below_target(ctx, rate):
            continue
        content = {
            "department": rate.department,
            "completed": rate.completed,
            "enrolled": rate.total,
            "rate_bp": rate.basis_points,
            "target_bp": ctx.settings.training_target_bp,
            "period": start.year,
        }
        case = existing.get(department_id)
        if case is None:
            _common.open_sealed_case(
                ctx,
                CaseKind.TRAINING,
                department_id=department_id,
                category=CATEGORY,
                content=content,
                keep_key=True,  # so a later import this period can add the new rate
            )
            changed += 1
        elif _update(ctx, case, content):
            changed += 1
    return changed


def _update(ctx: ApplyContext, case: Case, content: dict[str, Any]) -> bool:
    """Add the new rate to the period's case if it changed and the bridge still holds the key (staff may not)."""
    key = bridge_cases.fed_case_key(ctx, case)
    if key is None:
        return False  # staff took the case over: their case now; the period still has its one case
    cipher = case_cipher(case, key)
    last = ctx.db.scalars(
        select(CaseEntry)
        .where(CaseEntry.case_id == case.id, CaseEntry.kind == EntryKind.REPORT.value)
        .order_by(CaseEntry.id.desc())
        .limit(1)
    ).first()
    if (
        last is not None
        and last.body_ct is not None
        and json.loads(cipher.decrypt(entry_purpose(last.kind), last.body_ct)) == content
    ):
        return False
    body = json.dumps(content, ensure_ascii=False, sort_keys=True).encode()
    bridge_cases.add_entry(ctx, case, key, EntryKind.REPORT.value, body)
    audit_record(
        ctx.db,
        "bridge.case_updated",
        actor_kind=ActorKind.BRIDGE,
        case_id=case.id,
        target=f"source:{ctx.source.id}",
        now=ctx.now,
    )
    return True
