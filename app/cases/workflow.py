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
from app.cases.handover import take_over
from app.models.cases import Case, CaseEntry, CaseKind, CaseOutcome, CaseStatus, EntryKind
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
    # Empty: a shared transition. Otherwise it applies to these case kinds only, and a kind
    # named by any transition has a workflow of its own and uses no shared one (an idea is
    # never "acknowledged", a report never "adopted", though both start "received").
    kinds: frozenset[str] = frozenset()


def _t(
    source: S, target: S, *roles: R, outcome: bool = False, reasons: bool = False, kinds: tuple[str, ...] = ()
) -> Transition:
    return Transition(
        source, target, frozenset(roles), needs_outcome=outcome, needs_reasons=reasons, kinds=frozenset(kinds)
    )


IDEA = (CaseKind.IDEA.value,)
RETALIATION = (CaseKind.RETALIATION.value,)


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
    # Idea-contest proposals (issue 7), worked by the intake team the bridge seals them to.
    # Taking one under review acknowledges it; either decision is the written answer to the
    # proposer, so it needs reasons (encrypted with the status change, like every reason).
    _t(S.RECEIVED, S.UNDER_REVIEW, R.INTAKE, R.SUPERVISOR, kinds=IDEA),
    _t(S.UNDER_REVIEW, S.ADOPTED, R.INTAKE, R.SUPERVISOR, reasons=True, kinds=IDEA),
    _t(S.UNDER_REVIEW, S.NOT_ADOPTED, R.INTAKE, R.SUPERVISOR, reasons=True, kinds=IDEA),
    _t(S.ADOPTED, S.CLOSED, R.INTAKE, R.SUPERVISOR, kinds=IDEA),
    _t(S.NOT_ADOPTED, S.CLOSED, R.INTAKE, R.SUPERVISOR, kinds=IDEA),
    # Retaliation cases (issue 8), worked by the protection team they are sealed to. Taking one up
    # (assessing) acknowledges it; closing needs written reasons (not retaliation, measure refused,
    # monitoring over). app.protection.retaliation keeps the measure's dates and compliance checks.
    _t(S.RECEIVED, S.ASSESSING, R.PROTECTION, R.SUPERVISOR, kinds=RETALIATION),
    _t(S.ASSESSING, S.MEASURE_REQUESTED, R.PROTECTION, R.SUPERVISOR, kinds=RETALIATION),
    _t(S.ASSESSING, S.CLOSED, R.PROTECTION, R.SUPERVISOR, reasons=True, kinds=RETALIATION),
    _t(S.MEASURE_REQUESTED, S.MEASURE_DECIDED, R.PROTECTION, R.SUPERVISOR, reasons=True, kinds=RETALIATION),
    _t(S.MEASURE_DECIDED, S.COMPLIANCE_MONITORING, R.PROTECTION, R.SUPERVISOR, kinds=RETALIATION),
    _t(S.MEASURE_DECIDED, S.CLOSED, R.PROTECTION, R.SUPERVISOR, reasons=True, kinds=RETALIATION),
    _t(S.COMPLIANCE_MONITORING, S.CLOSED, R.PROTECTION, R.SUPERVISOR, reasons=True, kinds=RETALIATION),
)
OWN_WORKFLOW_KINDS = frozenset(kind for t in TRANSITIONS for kind in t.kinds)
# States in which a case has had its answer: no deadline runs any more.
DECIDED = frozenset({S.RESOLVED.value, S.CLOSED.value, S.ADOPTED.value, S.NOT_ADOPTED.value})
ALERT_AWAITING_DEPARTMENT = frozenset({S.RAISED.value, S.EXPLANATION_REQUESTED.value})


def applies(t: Transition, kind: str | None) -> bool:
    """Whether ``t`` is part of the workflow of case kind ``kind`` (None: of any kind)."""
    if kind is None:
        return True
    return kind in t.kinds if kind in OWN_WORKFLOW_KINDS else not t.kinds


def allowed_from(status: str, roles: frozenset[Role], kind: str | None = None) -> list[Transition]:
    """The transitions these roles may make from ``status`` (in the workflow of ``kind``)."""
    return [t for t in TRANSITIONS if t.source.value == status and t.roles & roles and applies(t, kind)]


def find(status: str, target: str, kind: str | None = None) -> Transition | None:
    """The transition from ``status`` to ``target``, if the table has one (for ``kind``)."""
    for t in TRANSITIONS:
        if t.source.value == status and t.target.value == target and applies(t, kind):
            return t
    return None


def refresh_deadlines(case: Case, settings: Settings) -> None:
    """Recompute the feedback deadline and the nearest open deadline the queues sort on."""
    if case.kind == "alert":
        # An alert's one deadline is the department's explanation (set by the bridge); it ends once answered.
        if case.status not in ALERT_AWAITING_DEPARTMENT:
            case.next_due_on = None
        return
    if case.kind == CaseKind.RETALIATION.value:
        # Acknowledgement, feedback, then the next compliance check of the protective measure.
        from app.protection.retaliation import refresh_deadlines as refresh_retaliation

        refresh_retaliation(case, settings)
        return
    if case.acknowledged_at is not None and case.feedback_due_on is None:
        ack_day = local_today(case.acknowledged_at)
        case.feedback_due_on = add_months(ack_day, settings.per_kind("feedback_months", case.kind))
    if case.status in DECIDED:
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
    move = find(case.status, target, case.kind)
    if move is None or not (move.roles & actor.role_set):
        raise NotAllowed(f"{case.status} -> {target}")
    if move.needs_outcome and outcome not in {o.value for o in CaseOutcome}:
        raise MissingField("outcome")
    if move.needs_reasons and not reasons.strip():
        raise MissingField("reasons")
    if case.kind == CaseKind.RETALIATION.value:
        from app.protection import retaliation

        retaliation.before_transition(db, case, target, now)
    source = case.status
    case.status = move.target.value
    if move.target == S.ACKNOWLEDGED or (move.target in (S.UNDER_REVIEW, S.ASSESSING) and case.acknowledged_at is None):
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
    if case.kind == CaseKind.RETALIATION.value:
        from app.protection import retaliation

        retaliation.after_transition(db, case, source, now)  # before the deadlines: it adds compliance checks
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
    take_over(db, case, actor, now, "transition")
    db.flush()  # the version check of the UPDATE happens here: a concurrent writer gets StaleDataError
    return entry
