"""Matching personnel events to protected persons by blind index, and raising retaliation alerts.

Threat: the matcher must work without anyone's identity. Both sides carry
only the blind index (HMAC of the normalised employee number under the
instance protection key, :mod:`monitoring_bridge.blind_index`), so matching
decrypts nothing and the database never needs the number.

The rule is one function, :func:`alert_due`: an *adverse* event type
(:data:`ADVERSE_EVENTS`, the retaliatory measures the Public Interest
Whistleblower Protection Act lists) whose effective day falls inside the
protection period (both ends inclusive) and not before the report. The same
rule serves an event as it arrives (:func:`match_event`), a person who becomes
protected or whose period is extended after events arrived
(:func:`match_person`), and bulk matching in memory (:class:`ProtectedIndex`,
what ``protection.match_1m`` measures). Raising is idempotent: one alert per
(person, event), so a replayed or updated event never doubles an alert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.models.audit import ActorKind
from app.models.cases import Case
from app.models.protection import PersonnelEvent, ProtectedPerson, RetaliationAlert

EVENT_TYPES = (
    "transfer",
    "demotion",
    "disciplinary_action",
    "suspension",
    "pay_cut",
    "performance_rating",
    "promotion_refused",
    "duties_removed",
    "contract_not_renewed",
    "dismissal",
    "promotion",
    "other",
)
# What counts as a possible retaliatory measure. A transfer or a rating may be
# routine, but the law lists both and the protection officer, not the matcher,
# judges the circumstances: a false alert costs a look, a missed one a reporter.
ADVERSE_EVENTS = frozenset(EVENT_TYPES) - {"promotion", "other"}


def is_adverse(event_type: str) -> bool:
    """Whether an event of this type may be retaliation (the rules table, in code and tested)."""
    return event_type in ADVERSE_EVENTS


@dataclass(frozen=True)
class Period:
    """One protected person as the matcher sees them: no identity, only ids and days."""

    person_id: int
    case_id: int
    reported_on: dt.date
    protected_from: dt.date
    protected_until: dt.date


def alert_due(period: Period, event_type: str, effective_on: dt.date) -> bool:
    """The rule: adverse, inside the protection period (edges included), and not before the report."""
    return (
        event_type in ADVERSE_EVENTS
        and period.protected_from <= effective_on <= period.protected_until
        and effective_on >= period.reported_on
    )


class ProtectedIndex:
    """Protected persons keyed by blind index, for matching many events in memory.

    A dict lookup per event: the blind index is already a uniformly random
    32-byte key, so no further hashing or comparison loop is needed (and a
    lookup by an exact key leaks nothing a constant-time compare would hide:
    the index is not a secret to the process that computed it).
    """

    def __init__(self, periods: Iterable[tuple[bytes, Period]]) -> None:
        self._by_index: dict[bytes, list[Period]] = {}
        for index, period in periods:
            self._by_index.setdefault(bytes(index), []).append(period)

    def __len__(self) -> int:
        return sum(len(p) for p in self._by_index.values())

    def matches(self, index: bytes, event_type: str, effective_on: dt.date) -> list[Period]:
        """The protected periods this event should raise an alert for (usually none)."""
        if event_type not in ADVERSE_EVENTS:
            return []
        periods = self._by_index.get(index)
        if not periods:
            return []
        return [p for p in periods if alert_due(p, event_type, effective_on)]

    @classmethod
    def load(cls, db: Session) -> ProtectedIndex:
        """Every protected person of the database (blind index, ids and days only)."""
        rows = db.execute(
            select(
                ProtectedPerson.blind_index,
                ProtectedPerson.id,
                ProtectedPerson.case_id,
                Case.received_on,
                ProtectedPerson.protected_from,
                ProtectedPerson.protected_until,
            ).join(Case, Case.id == ProtectedPerson.case_id)
        )
        return cls((bytes(r[0]), Period(r[1], r[2], r[3], r[4], r[5])) for r in rows)


def _raise(
    db: Session, period: Period, event: PersonnelEvent, now: dt.datetime, actor_kind: ActorKind
) -> RetaliationAlert | None:
    """One alert for (person, event) unless it exists; audited."""
    already = db.scalar(
        select(RetaliationAlert.id).where(
            RetaliationAlert.protected_person_id == period.person_id, RetaliationAlert.personnel_event_id == event.id
        )
    )
    if already is not None:
        return None
    alert = RetaliationAlert(
        protected_person_id=period.person_id,
        personnel_event_id=event.id,
        case_id=period.case_id,
        days_since_report=(event.effective_on - period.reported_on).days,
        created_at=now,
    )
    db.add(alert)
    db.flush()
    record(
        db,
        "protection.retaliation_alert_raised",
        actor_kind=actor_kind,
        case_id=period.case_id,
        target=f"alert:{alert.id}",
        now=now,
    )
    return alert


def _period(person: ProtectedPerson, reported_on: dt.date) -> Period:
    return Period(person.id, person.case_id, reported_on, person.protected_from, person.protected_until)


def match_event(
    db: Session, event: PersonnelEvent, now: dt.datetime, actor_kind: ActorKind = ActorKind.BRIDGE
) -> list[RetaliationAlert]:
    """Raise one alert per protected person this event concerns (on arrival or update of the event)."""
    if not is_adverse(event.event_type):
        return []
    rows = db.execute(
        select(ProtectedPerson, Case.received_on)
        .join(Case, Case.id == ProtectedPerson.case_id)
        .where(
            ProtectedPerson.blind_index == event.blind_index,
            ProtectedPerson.protected_from <= event.effective_on,
            ProtectedPerson.protected_until >= event.effective_on,
        )
        .order_by(ProtectedPerson.id)
    ).all()
    raised = []
    for person, reported_on in rows:
        period = _period(person, reported_on)
        if alert_due(period, event.event_type, event.effective_on):
            alert = _raise(db, period, event, now, actor_kind)
            if alert is not None:
                raised.append(alert)
    return raised


def match_person(
    db: Session, person: ProtectedPerson, now: dt.datetime, actor_kind: ActorKind = ActorKind.STAFF
) -> list[RetaliationAlert]:
    """Raise the alerts of events that arrived before this person was protected (or before an extension)."""
    case = db.get(Case, person.case_id)
    if case is None:
        return []
    period = _period(person, case.received_on)
    events = db.scalars(
        select(PersonnelEvent)
        .where(
            PersonnelEvent.blind_index == person.blind_index,
            PersonnelEvent.effective_on >= person.protected_from,
            PersonnelEvent.effective_on <= person.protected_until,
        )
        .order_by(PersonnelEvent.id)
    )
    raised = []
    for event in events:
        if alert_due(period, event.event_type, event.effective_on):
            alert = _raise(db, period, event, now, actor_kind)
            if alert is not None:
                raised.append(alert)
    return raised
