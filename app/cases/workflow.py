"""The case state machine (DESIGN.md section 6): one table of transitions with their guards.

A transition names who may make it (roles) and what must be filled in
(outcome, reasons). Every transition writes an encrypted status-change entry
and an audit row; the case's ``version`` column (SQLAlchemy optimistic lock)
plus the version the form was rendered with make a second, concurrent editor
fail with :class:`ChangedMeanwhile` instead of silently overwriting.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.audit import record
from app.cases.deadlines import add_months, local_today
from app.models.cases import Case, CaseEntry, CaseOutcome, CaseStatus, EntryKind
from app.models.staff import Role, StaffUser
from app.reporting.service import new_entry
from config import Settings

S = CaseStatus
R = Role


class WorkflowError(Exception):
    """A transition that is not allowed or lacks what it needs."""


class NotAllowed(WorkflowError):
    """This transition does not exist from the current state, or not for these roles."""


class MissingField(WorkflowError):
    """The transition needs a field that was not filled in (``field`` names it)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class ChangedMeanwhile(WorkflowError):
    """Someone else changed the case since the form was shown."""


@dataclass(frozen=True)
class Transition:
    """One allowed move with its guard."""

    source: CaseStatus
    target: CaseStatus
    roles: frozenset[Role]
    needs_outcome: bool = False
    needs_reasons: bool = False


def _t(source: S, target: S, *roles: R, outcome: bool = False, reasons: bool = False) -> Transition:
    return Transition(source, target, frozenset(roles), needs_outcome=outcome, needs_reasons=reasons)


TRANSITIONS: tuple[Transition, ...] = (
    _t(S.RECEIVED, S.ACKNOWLEDGED, R.INTAKE, R.SUPERVISOR),
    _t(S.ACKNOWLEDGED, S.TRIAGE, R.INTAKE, R.SUPERVISOR),
    _t(S.TRIAGE, S.INVESTIGATING, R.INTAKE, R.SUPERVISOR),
    # Closing early at triage (withdrawn, clearly unfounded, referred elsewhere) needs an outcome and reasons.
    _t(S.TRIAGE, S.RESOLVED, R.INTAKE, R.SUPERVISOR, outcome=True, reasons=True),
    _t(S.INVESTIGATING, S.LEGAL_REVIEW, R.INVESTIGATOR, R.SUPERVISOR),
    _t(S.LEGAL_REVIEW, S.INVESTIGATING, R.LEGAL, R.SUPERVISOR, reasons=True),
    _t(S.INVESTIGATING, S.RESOLVED, R.INVESTIGATOR, R.SUPERVISOR, outcome=True, reasons=True),
    _t(S.LEGAL_REVIEW, S.RESOLVED, R.LEGAL, R.SUPERVISOR, outcome=True, reasons=True),
    # Reopening and closing are a supervisor's call (four eyes over the investigator's outcome).
    _t(S.RESOLVED, S.INVESTIGATING, R.SUPERVISOR, reasons=True),
    _t(S.RESOLVED, S.CLOSED, R.SUPERVISOR),
    # Cheongbaek-e alerts (issue 7): the department must explain or act by the deadline;
    # what it said is the written record (reasons). An alert may be escalated to an investigation.
    _t(S.RAISED, S.EXPLANATION_REQUESTED, R.INTAKE, R.SUPERVISOR),
    _t(S.EXPLANATION_REQUESTED, S.EXPLAINED, R.INTAKE, R.SUPERVISOR, reasons=True),
    _t(S.EXPLANATION_REQUESTED, S.ACTION_TAKEN, R.INTAKE, R.SUPERVISOR, reasons=True),
    _t(S.EXPLAINED, S.ACCEPTED, R.INTAKE, R.SUPERVISOR),
    _t(S.ACTION_TAKEN, S.ACCEPTED, R.INTAKE, R.SUPERVISOR),
    _t(S.RAISED, S.ESCALATED, R.INTAKE, R.SUPERVISOR, reasons=True),
    _t(S.EXPLANATION_REQUESTED, S.ESCALATED, R.INTAKE, R.SUPERVISOR, reasons=True),
    _t(S.EXPLAINED, S.ESCALATED, R.SUPERVISOR, reasons=True),
    _t(S.ACTION_TAKEN, S.ESCALATED, R.SUPERVISOR, reasons=True),
    _t(S.ACCEPTED, S.CLOSED, R.INTAKE, R.SUPERVISOR),
    _t(S.ESCALATED, S.CLOSED, R.SUPERVISOR, reasons=True),
)
ALERT_AWAITING_DEPARTMENT = frozenset({S.RAISED.value, S.EXPLANATION_REQUESTED.value})


def allowed_from(status: str, roles: frozenset[Role]) -> list[Transition]:
    """The transitions these roles may make from ``status``."""
    return [t for t in TRANSITIONS if t.source.value == status and t.roles & roles]


def find(status: str, target: str) -> Transition | None:
    """The transition from ``status`` to ``target``, if the table has one."""
    for t in TRANSITIONS:
        if t.source.value == status and t.target.value == target:
            return t
    return None


def refresh_deadlines(case: Case, settings: Settings) -> None:
    """Recompute the feedback deadline and the nearest open deadline the queues sort on."""
    if case.kind == "alert":
        # An alert's one deadline is the department's explanation (set by the bridge); it ends once answered.
        if case.status not in ALERT_AWAITING_DEPARTMENT:
            case.next_due_on = None
        return
    if case.acknowledged_at is not None and case.feedback_due_on is None:
        ack_day = local_today(case.acknowledged_at)
        case.feedback_due_on = add_months(ack_day, settings.per_kind("feedback_months", case.kind))
    if case.status in (S.RESOLVED.value, S.CLOSED.value):
        case.next_due_on = None
    elif case.acknowledged_at is None:
        case.next_due_on = case.ack_due_on
    elif case.feedback_given_on is None:
        case.next_due_on = case.feedback_due_on
    else:
        case.next_due_on = None


def check_version(case: Case, expected_version: int | None) -> None:
    """Refuse a change made from a page that showed an older version of the case."""
    if expected_version is not None and expected_version != case.version:
        raise ChangedMeanwhile()


def transition(
    db: Session,
    settings: Settings,
    case: Case,
    case_key: bytes,
    actor: StaffUser,
    target: str,
    *,
    expected_version: int | None,
    now: dt.datetime,
    outcome: str | None = None,
    reasons: str = "",
    reporter_informed_on: dt.date | None = None,
) -> CaseEntry:
    """Move a case to ``target`` if the table allows it for the actor's roles and the guard is met."""
    check_version(case, expected_version)
    move = find(case.status, target)
    if move is None or not (move.roles & actor.role_set):
        raise NotAllowed(f"{case.status} -> {target}")
    if move.needs_outcome and outcome not in {o.value for o in CaseOutcome}:
        raise MissingField("outcome")
    if move.needs_reasons and not reasons.strip():
        raise MissingField("reasons")
    source = case.status
    case.status = move.target.value
    if move.target == S.ACKNOWLEDGED:
        case.acknowledged_at = now
    if move.needs_outcome:
        case.outcome = outcome
    if move.target == S.INVESTIGATING and source == S.RESOLVED.value:
        case.outcome = None
    if reporter_informed_on is not None:
        case.reporter_informed_on = reporter_informed_on
    if move.target == S.CLOSED:
        case.closed_at = now
        from app.cases.retention import set_retention

        set_retention(case, settings)
    refresh_deadlines(case, settings)
    body = json.dumps(
        {"from": source, "to": case.status, "outcome": case.outcome, "reasons": reasons}, ensure_ascii=False
    ).encode()
    entry = new_entry(
        db,
        case,
        case_key,
        EntryKind.STATUS_CHANGE.value,
        body,
        created_on=local_today(now),
        created_at=now,
        author_user_id=actor.id,
        visible_to_reporter=False,
    )
    record(db, "case.transition", actor_user_id=actor.id, case_id=case.id, target=f"{source}->{case.status}", now=now)
    db.flush()  # the version check of the UPDATE happens here: a concurrent writer gets StaleDataError
    return entry
