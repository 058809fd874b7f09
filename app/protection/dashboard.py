"""What the protection team's dashboard shows: references, dates, counts. Never a name or a number.

Protected persons appear by their case's public reference; the identity is
opened only on request, through the audited identity view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from app.models.cases import Case, CaseExcludedMember, CaseKind, CaseLink, CaseStatus, LinkRelation
from app.models.protection import AlertStatus, CheckIn, PersonnelEvent, ProtectedPerson, RetaliationAlert
from app.models.staff import StaffUser

RETALIATION_STATES = (
    CaseStatus.RECEIVED.value,
    CaseStatus.ASSESSING.value,
    CaseStatus.MEASURE_REQUESTED.value,
    CaseStatus.MEASURE_DECIDED.value,
    CaseStatus.COMPLIANCE_MONITORING.value,
    CaseStatus.CLOSED.value,
)


@dataclass(frozen=True)
class PersonRow:
    """One protected person: the case reference and the period, nothing that names them."""

    person: ProtectedPerson
    case_ref: str
    open_alerts: int
    missed: int


@dataclass(frozen=True)
class AlertRow:
    """One alert with its event and case reference."""

    alert: RetaliationAlert
    case_ref: str
    event_type: str
    effective_on: dt.date
    retaliation_ref: str | None


@dataclass(frozen=True)
class CheckInRow:
    """One check-in that is due or missed."""

    check_in: CheckIn
    case_ref: str
    person_id: int | None


@dataclass
class Dashboard:
    """Everything on the protection dashboard."""

    persons: list[PersonRow] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    due: list[CheckInRow] = field(default_factory=list)
    missed: list[CheckInRow] = field(default_factory=list)
    worrying: list[CheckInRow] = field(default_factory=list)
    by_state: dict[str, int] = field(default_factory=dict)
    retaliation_cases: list[Case] = field(default_factory=list)


def visible_to(
    viewer: StaffUser, case_id: ColumnElement[int] | InstrumentedAttribute[int] | InstrumentedAttribute[int | None]
) -> ColumnElement[bool]:
    """Not a case the viewer is excluded from (conflict of interest), nor a retaliation case of one.

    The protection pages list references, dates and answers without opening
    any case key, so the exclusion that the key sealing enforces for case
    pages is enforced here in the query: an excluded officer neither sees
    nor counts the case. A retaliation case carries its report's exclusions
    from the start; the link is checked too for an exclusion made later.
    """
    own = exists().where(CaseExcludedMember.case_id == case_id, CaseExcludedMember.user_id == viewer.id)
    of_original = exists().where(
        CaseLink.from_case_id == case_id,
        CaseLink.relation == LinkRelation.RETALIATION_OF.value,
        CaseExcludedMember.case_id == CaseLink.to_case_id,
        CaseExcludedMember.user_id == viewer.id,
    )
    return and_(~own, ~of_original)


def build(db: Session, today: dt.date, due_within_days: int, *, viewer: StaffUser) -> Dashboard:
    """Gather the dashboard for ``today`` (Seoul) as ``viewer`` sees it: persons, open alerts, check-ins, cases."""
    board = Dashboard()
    seen = visible_to(viewer, Case.id)
    alert_counts = dict(
        db.execute(
            select(RetaliationAlert.protected_person_id, func.count())
            .where(RetaliationAlert.status != AlertStatus.CLOSED.value)
            .group_by(RetaliationAlert.protected_person_id)
        ).all()
    )
    missed_counts = dict(
        db.execute(
            select(CheckIn.protected_person_id, func.count())
            .where(CheckIn.flagged_missed.is_(True), CheckIn.answered_on.is_(None))
            .group_by(CheckIn.protected_person_id)
        ).all()
    )
    for person, ref in db.execute(
        select(ProtectedPerson, Case.public_ref)
        .join(Case, Case.id == ProtectedPerson.case_id)
        .where(seen)
        .order_by(ProtectedPerson.protected_until.desc(), ProtectedPerson.id)
    ):
        board.persons.append(PersonRow(person, ref, alert_counts.get(person.id, 0), missed_counts.get(person.id, 0)))
    linked = aliased(Case)
    retaliation = (
        select(linked.public_ref)
        .where(linked.id == RetaliationAlert.retaliation_case_id)
        .correlate(RetaliationAlert)
        .scalar_subquery()
    )
    for alert, ref, event_type, effective_on, rref in db.execute(
        select(RetaliationAlert, Case.public_ref, PersonnelEvent.event_type, PersonnelEvent.effective_on, retaliation)
        .join(Case, Case.id == RetaliationAlert.case_id)
        .join(PersonnelEvent, PersonnelEvent.id == RetaliationAlert.personnel_event_id)
        .where(RetaliationAlert.status != AlertStatus.CLOSED.value, seen)
        .where(
            or_(
                RetaliationAlert.retaliation_case_id.is_(None),
                visible_to(viewer, RetaliationAlert.retaliation_case_id),
            )
        )
        .order_by(RetaliationAlert.id.desc())
    ):
        board.alerts.append(AlertRow(alert, ref, event_type, effective_on, rref))
    horizon = today + dt.timedelta(days=due_within_days)
    for check_in, ref in db.execute(
        select(CheckIn, Case.public_ref)
        .join(Case, Case.id == CheckIn.case_id)
        .where(CheckIn.answered_on.is_(None), CheckIn.due_on <= horizon, seen)
        .order_by(CheckIn.due_on, CheckIn.id)
    ):
        row = CheckInRow(check_in, ref, check_in.protected_person_id)
        (board.missed if check_in.flagged_missed else board.due).append(row)
    for check_in, ref in db.execute(
        select(CheckIn, Case.public_ref)
        .join(Case, Case.id == CheckIn.case_id)
        .where(CheckIn.answer.in_(("concern", "retaliation")), seen)
        .order_by(CheckIn.answered_on.desc(), CheckIn.id)
        .limit(50)
    ):
        board.worrying.append(CheckInRow(check_in, ref, check_in.protected_person_id))
    counts = dict(
        db.execute(
            select(Case.status, func.count()).where(Case.kind == CaseKind.RETALIATION.value, seen).group_by(Case.status)
        ).all()
    )
    board.by_state = {state: int(counts.get(state, 0)) for state in RETALIATION_STATES}
    board.retaliation_cases = list(
        db.scalars(
            select(Case)
            .where(Case.kind == CaseKind.RETALIATION.value, Case.status != CaseStatus.CLOSED.value, seen)
            .order_by(Case.next_due_on, Case.id)
        )
    )
    return board
