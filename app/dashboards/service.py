"""Dashboard panels: one query per panel, counted by the database over plaintext metadata only.

Nothing here opens a case key or decrypts a column: the panels count what
DESIGN.md section 4 keeps in plaintext on purpose (kind, state, category,
department, dates, amounts). Threat: a dashboard is seen by people who may
not open every case it counts, so it shows counts, never a reference or a
word anyone wrote.

A :class:`Scope` says which cases count: every case (the supervisors'
dashboard) or a team's (cases whose key is sealed to that team), always less
the cases the viewer is excluded from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from app.cases import keys as case_keys
from app.cases.workflow import ALERT_AWAITING_DEPARTMENT
from app.dashboards.sql import as_int, plus_days, seoul_date
from app.models.audit import AuditEvent
from app.models.bridge import BridgeRecord, BridgeSource, SourceKind
from app.models.cases import Case, CaseExcludedMember, CaseKeyGrant, CaseKind, Department
from app.models.protection import AlertStatus, CheckIn, CheckInAnswer, RetaliationAlert
from app.models.support import Disbursement, SupportBudget, SupportRequest, SupportType

MONTHS = tuple(range(1, 13))
# The department's answer to a Cheongbaek-e alert is the move out of "explanation requested"
# into "explained" or "action taken" (app.cases.workflow); the audit row dates it.
ALERT_ANSWERS = ("explanation_requested->explained", "explanation_requested->action_taken")
TRAINING_MANDATORY = "mandatory"  # monitoring_bridge.adapters.training.MANDATORY
BP = 10_000


class DashboardError(Exception):
    """A panel or dimension that does not exist was asked for."""


@dataclass(frozen=True)
class Scope:
    """Which cases a dashboard counts: all (``team_ids`` None) or those sealed to ``team_ids``."""

    viewer_id: int
    team_ids: tuple[int, ...] | None = None
    # A protection team holds reporters' identities, not case keys: it sees every retaliation alert.
    custodian: bool = False

    def cases(self, case_id: Any) -> list[ColumnElement[bool]]:
        """Conditions on a case id column that keep only the cases in scope."""
        out: list[ColumnElement[bool]] = [
            ~case_id.in_(select(CaseExcludedMember.case_id).where(CaseExcludedMember.user_id == self.viewer_id))
        ]
        if self.team_ids is not None:
            out.append(
                case_id.in_(
                    select(CaseKeyGrant.case_id).where(
                        case_keys.held_by_teams(self.team_ids), CaseKeyGrant.revoked_at.is_(None)
                    )
                )
            )
        return out

    def protection_cases(self, case_id: Any) -> list[ColumnElement[bool]]:
        """As :meth:`cases`, but custodians see every protected reporter's case."""
        if self.custodian:
            return self.cases(case_id)[:1]
        return self.cases(case_id)


# --- 1. cases by kind, state, category and department -------------------------------------------

DIMENSIONS = ("kind", "status", "category", "department")


@dataclass(frozen=True)
class Count:
    """One bar: a key (a kind, a state, a category code, a department code; "" for none) and its count."""

    key: str
    count: int


def cases_by(db: Session, scope: Scope, dimension: str) -> list[Count]:
    """How many cases there are per kind, state, category or department, largest first."""
    if dimension not in DIMENSIONS:
        raise DashboardError(dimension)
    column: Any = {
        "kind": Case.kind,
        "status": Case.status,
        "category": Case.category,
        "department": Department.code,
    }[dimension]
    stmt: Select[Any] = select(column, func.count(Case.id)).where(*scope.cases(Case.id))
    if dimension == "department":
        stmt = stmt.select_from(Case).outerjoin(Department, Department.id == Case.department_id)
    rows = db.execute(stmt.group_by(column)).all()
    counts = [Count(key or "", int(n)) for key, n in rows]
    return sorted(counts, key=lambda c: (-c.count, c.key))


# --- 2. acknowledgement and feedback deadlines met or missed per month ---------------------------


@dataclass
class DeadlineMonth:
    """One month of deadlines falling due: met, missed, and not yet due (still open, due later)."""

    month: int
    ack_met: int = 0
    ack_missed: int = 0
    ack_open: int = 0
    feedback_met: int = 0
    feedback_missed: int = 0
    feedback_open: int = 0


def _sum(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return as_int(func.coalesce(func.sum(case((condition, 1), else_=0)), 0))


def deadlines_by_month(db: Session, scope: Scope, year: int, today: dt.date) -> list[DeadlineMonth]:
    """Per month of the due date: acknowledgements (7-day clock) and feedback (3-month clock) met or missed.

    A deadline is met when the act's Seoul day is on or before the due day;
    missed when it came later, or has not come and the day has passed
    (due today is still on time, as ``app.cases.deadlines.is_overdue``).
    """
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    out = {m: DeadlineMonth(m) for m in MONTHS}
    acked = seoul_date(Case.acknowledged_at)
    month = func.extract("month", Case.ack_due_on)
    rows = db.execute(
        select(
            month,
            _sum(and_(Case.acknowledged_at.is_not(None), acked <= Case.ack_due_on)),
            _sum(
                or_(
                    and_(Case.acknowledged_at.is_not(None), acked > Case.ack_due_on),
                    and_(Case.acknowledged_at.is_(None), Case.ack_due_on < today),
                )
            ),
            _sum(and_(Case.acknowledged_at.is_(None), Case.ack_due_on >= today)),
        )
        .where(Case.ack_due_on >= start, Case.ack_due_on < end, *scope.cases(Case.id))
        .group_by(month)
    ).all()
    for m, met, missed, open_ in rows:
        row = out[int(m)]
        row.ack_met, row.ack_missed, row.ack_open = int(met), int(missed), int(open_)
    month = func.extract("month", Case.feedback_due_on)
    rows = db.execute(
        select(
            month,
            _sum(and_(Case.feedback_given_on.is_not(None), Case.feedback_given_on <= Case.feedback_due_on)),
            _sum(
                or_(
                    and_(Case.feedback_given_on.is_not(None), Case.feedback_given_on > Case.feedback_due_on),
                    and_(Case.feedback_given_on.is_(None), Case.feedback_due_on < today),
                )
            ),
            _sum(and_(Case.feedback_given_on.is_(None), Case.feedback_due_on >= today)),
        )
        .where(Case.feedback_due_on >= start, Case.feedback_due_on < end, *scope.cases(Case.id))
        .group_by(month)
    ).all()
    for m, met, missed, open_ in rows:
        row = out[int(m)]
        row.feedback_met, row.feedback_missed, row.feedback_open = int(met), int(missed), int(open_)
    return [out[m] for m in MONTHS]


# --- 3. open alerts per linked system and per department, share answered on time ------------------

ALERT_DIMENSIONS = ("system", "department")


@dataclass(frozen=True)
class AlertGroup:
    """Alerts of one linked Cheongbaek-e system (its code, "" when unknown) or department."""

    key: str
    total: int
    open: int
    answered_on_time: int
    answered_late: int
    overdue_unanswered: int

    @property
    def judged(self) -> int:
        """Alerts whose answer can be judged: answered, or past their deadline."""
        return self.answered_on_time + self.answered_late + self.overdue_unanswered

    @property
    def on_time_bp(self) -> int | None:
        """Share answered on time among those judged, in basis points; None while none can be judged."""
        return None if self.judged == 0 else self.answered_on_time * BP // self.judged


def alerts_by(db: Session, scope: Scope, dimension: str, today: dt.date, explanation_days: int) -> list[AlertGroup]:
    """Cheongbaek-e alert cases per linked system or department: open, answered on time or late, overdue.

    A case's system is that of its alerts (``bridge_records.system``, kept in
    plaintext since migration 0014; the smallest code should one case ever hold
    alerts of several). Alerts imported before 0014 have none: key "".
    The deadline is the receipt day plus ``explanation_days`` (as the bridge
    sets it); the answer's day is that of the first audited move to
    "explained" or "action taken".
    """
    if dimension not in ALERT_DIMENSIONS:
        raise DashboardError(dimension)
    answered = (
        select(AuditEvent.case_id.label("case_id"), func.min(AuditEvent.at).label("at"))
        .where(AuditEvent.action == "case.transition", AuditEvent.target.in_(ALERT_ANSWERS))
        .group_by(AuditEvent.case_id)
        .subquery()
    )
    due = plus_days(Case.received_on, literal(explanation_days))
    answer_day = seoul_date(answered.c.at)
    systems = (
        select(BridgeRecord.case_id.label("case_id"), func.min(BridgeRecord.system).label("system"))
        .where(BridgeRecord.case_id.is_not(None))
        .group_by(BridgeRecord.case_id)
        .subquery()
    )
    key: Any = systems.c.system if dimension == "system" else Department.code
    stmt = (
        select(
            key,
            func.count(Case.id),
            _sum(Case.status.in_(ALERT_AWAITING_DEPARTMENT)),
            _sum(and_(answered.c.at.is_not(None), answer_day <= due)),
            _sum(and_(answered.c.at.is_not(None), answer_day > due)),
            _sum(and_(answered.c.at.is_(None), due < today)),
        )
        .select_from(Case)
        .outerjoin(answered, answered.c.case_id == Case.id)
        .where(Case.kind == CaseKind.ALERT.value, *scope.cases(Case.id))
        .group_by(key)
    )
    if dimension == "department":
        stmt = stmt.outerjoin(Department, Department.id == Case.department_id)
    else:
        stmt = stmt.outerjoin(systems, systems.c.case_id == Case.id)
    rows = db.execute(stmt).all()
    groups = [AlertGroup(k or "", int(t), int(o), int(a), int(b), int(c)) for k, t, o, a, b, c in rows]
    return sorted(groups, key=lambda g: (-g.open, g.key))


# --- 4. training completion per department -------------------------------------------------------


@dataclass(frozen=True)
class TrainingLine:
    """Mandatory-training enrolments of one department and how many are completed."""

    department: str
    completed: int
    total: int

    @property
    def basis_points(self) -> int | None:
        """Completed share in basis points, None when nobody is enrolled."""
        return None if self.total == 0 else self.completed * BP // self.total


def training_by_department(db: Session) -> list[TrainingLine]:
    """Completion of mandatory transparency training per department, from the training bridge's plain index.

    Organisation-wide on every dashboard: the index names departments, never people.
    """
    rows = db.execute(
        select(BridgeRecord.department_code, func.count(BridgeRecord.id), func.count(BridgeRecord.occurred_at))
        .join(BridgeSource, BridgeSource.id == BridgeRecord.source_id)
        .where(BridgeSource.kind == SourceKind.TRAINING.value, BridgeRecord.scenario == TRAINING_MANDATORY)
        .group_by(BridgeRecord.department_code)
        .order_by(BridgeRecord.department_code)
    ).all()
    return [TrainingLine(dep or "", int(done), int(total)) for dep, total, done in rows]


# --- 5. support paid against budget per type ----------------------------------------------------


@dataclass(frozen=True)
class SupportLine:
    """One kind of support in a year: the budget (None if none was set) and what was paid."""

    support_type: str
    budget: int | None
    paid: int

    @property
    def used_bp(self) -> int | None:
        """Share of the budget paid, in basis points; None without a (non-zero) budget."""
        return None if not self.budget else self.paid * BP // self.budget


def support_against_budget(db: Session, scope: Scope, year: int) -> list[SupportLine]:
    """Paid in ``year`` per support type (reversals net), beside that year's budget (whole won).

    Budgets are the organisation's (set on the ledger page by legal officers
    and supervisors); on a team dashboard the paid column counts the team's cases only.
    """
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    paid = dict(
        db.execute(
            select(SupportRequest.type, as_int(func.coalesce(func.sum(Disbursement.amount), 0)))
            .join(Disbursement, Disbursement.support_request_id == SupportRequest.id)
            .where(Disbursement.paid_on >= start, Disbursement.paid_on < end, *scope.cases(SupportRequest.case_id))
            .group_by(SupportRequest.type)
        ).all()
    )
    budgets = dict(
        db.execute(select(SupportBudget.support_type, SupportBudget.amount).where(SupportBudget.year == year)).all()
    )
    return [SupportLine(t.value, budgets.get(t.value), int(paid.get(t.value, 0))) for t in SupportType]


# --- 6. retaliation alerts and check-ins ---------------------------------------------------------


@dataclass
class ProtectionMonth:
    """One month: retaliation alerts raised (by where they stand) and check-ins falling due."""

    month: int
    alerts_open: int = 0
    alerts_acknowledged: int = 0
    alerts_closed: int = 0
    checkins_answered: int = 0
    checkins_missed: int = 0
    checkins_pending: int = 0


@dataclass
class ProtectionPanel:
    """Retaliation alerts and check-ins of a year, by month, and how reporters answered."""

    months: list[ProtectionMonth]
    answers: dict[str, int] = field(default_factory=dict)


def protection(db: Session, scope: Scope, year: int, today: dt.date) -> ProtectionPanel:
    """Retaliation alerts by month raised and status; check-ins by month due: answered, missed, pending."""
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC) - dt.timedelta(hours=9)  # Seoul's 1 January, in UTC
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC) - dt.timedelta(hours=9)
    out = {m: ProtectionMonth(m) for m in MONTHS}
    month = func.extract("month", seoul_date(RetaliationAlert.created_at))
    rows = db.execute(
        select(
            month,
            _sum(RetaliationAlert.status == AlertStatus.OPEN.value),
            _sum(RetaliationAlert.status == AlertStatus.ACKNOWLEDGED.value),
            _sum(RetaliationAlert.status == AlertStatus.CLOSED.value),
        )
        .where(
            RetaliationAlert.created_at >= start,
            RetaliationAlert.created_at < end,
            *scope.protection_cases(RetaliationAlert.case_id),
        )
        .group_by(month)
    ).all()
    for m, open_, acked, closed in rows:
        row = out[int(m)]
        row.alerts_open, row.alerts_acknowledged, row.alerts_closed = int(open_), int(acked), int(closed)
    in_year = (CheckIn.due_on >= dt.date(year, 1, 1), CheckIn.due_on < dt.date(year + 1, 1, 1))
    month = func.extract("month", CheckIn.due_on)
    missed = or_(CheckIn.flagged_missed.is_(True), and_(CheckIn.answered_on.is_(None), CheckIn.due_on < today))
    rows = db.execute(
        select(
            month,
            _sum(and_(CheckIn.answered_on.is_not(None), CheckIn.flagged_missed.is_(False))),
            _sum(missed),
            _sum(and_(CheckIn.answered_on.is_(None), CheckIn.flagged_missed.is_(False), CheckIn.due_on >= today)),
        )
        .where(*in_year, *scope.protection_cases(CheckIn.case_id))
        .group_by(month)
    ).all()
    for m, answered, miss, pending in rows:
        row = out[int(m)]
        row.checkins_answered, row.checkins_missed, row.checkins_pending = int(answered), int(miss), int(pending)
    answers = dict.fromkeys((a.value for a in CheckInAnswer), 0)
    for answer, n in db.execute(
        select(CheckIn.answer, func.count(CheckIn.id))
        .where(*in_year, CheckIn.answer.is_not(None), *scope.protection_cases(CheckIn.case_id))
        .group_by(CheckIn.answer)
    ).all():
        answers[str(answer)] = int(n)
    return ProtectionPanel([out[m] for m in MONTHS], answers)


def total(counts: Sequence[Count]) -> int:
    """The sum of a panel's counts (its table's total row)."""
    return sum(c.count for c in counts)
