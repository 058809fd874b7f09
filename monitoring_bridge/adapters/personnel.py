"""Personnel events from the local personnel system, matched against protected reporters (issue 8).

Threat: the employee number names a public officer; a database holding it
next to a protected person's case would tell a thief (or a curious
operator) who reported. So :meth:`PersonnelAdapter.parse` turns it into the
blind index *at once*: the :class:`ParsedRecord` (which the importer stores,
encrypted, as the record's payload) never holds the number, and nothing the
adapter writes does either. The protection key comes from the instance
folder, not the database (see :mod:`monitoring_bridge.blind_index`).

An event is *adverse* per :data:`ADVERSE_EVENTS` (the retaliatory measures
the Public Interest Whistleblower Protection Act lists; the table and the
rule live in :mod:`app.protection.matching`). An adverse event of a
protected person whose date falls in the protection period raises one
:class:`~app.models.protection.RetaliationAlert` for the protection team,
with the days since the report; neutral events, events outside the period
and events of people nobody protects raise nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from app.cases.deadlines import local_today
from app.models.bridge import BridgeRecord, SourceKind
from app.models.protection import PersonnelEvent
from app.notifications import service as notifications
from app.protection.matching import ADVERSE_EVENTS, EVENT_TYPES, is_adverse, match_event
from monitoring_bridge import validate
from monitoring_bridge.adapter import ApplyContext, ApplyResult, ParsedRecord
from monitoring_bridge.adapters import _common
from monitoring_bridge.blind_index import BlindIndexError, blind_index
from monitoring_bridge.errors import RecordError

__all__ = ["ADVERSE_EVENTS", "EVENT_TYPES", "PersonnelAdapter", "is_adverse"]
MAX_EMPLOYEE_NUMBER = 40
MAX_DETAIL = 2000


class PersonnelAdapter:
    """Personnel events: employee number (blind-indexed on arrival), type, effective date, department, detail."""

    name = "personnel"
    kind = SourceKind.PERSONNEL.value
    fields: tuple[str, ...] = ("event_id", "employee_number", "event_type", "effective_on", "department", "detail")

    def __init__(self, protection_key: bytes | None = None) -> None:
        # None: the running app's instance secret, read when a record is parsed.
        self._protection_key = protection_key

    def _key(self) -> bytes:
        if self._protection_key is not None:
            return self._protection_key
        from app.runtime import get_secrets

        return get_secrets().protection_key

    def parse(self, obj: dict[str, Any]) -> ParsedRecord:
        """Validate a personnel event and replace the employee number by its blind index."""
        event_id = _common.external_id(obj, "event_id")
        number = _common.required_text(obj, "employee_number", MAX_EMPLOYEE_NUMBER)
        try:
            index = blind_index(self._key(), number)
        except BlindIndexError:
            raise RecordError("employee_number", "nothing left once spaces and dashes are removed") from None
        del number  # from here on only the blind index exists
        event_type = validate.choice(obj, "event_type", EVENT_TYPES)
        effective_on = _common.required_day(obj, "effective_on")
        department = _common.department_code(obj, "department", required=False)
        detail = validate.text(obj, "detail", max_len=MAX_DETAIL, required=False)
        data: dict[str, Any] = {
            "blind_index": index.hex(),
            "event_type": event_type,
            "effective_on": effective_on.isoformat(),
            "department": department,
            # Free text from HR; kept only in the importer's encrypted payload, never in a plain column.
            "detail": detail,
        }
        return ParsedRecord(external_id=event_id, data=data)

    def apply(self, ctx: ApplyContext, record: ParsedRecord, existing: BridgeRecord | None) -> ApplyResult:
        """Store (or update) the personnel event and raise retaliation alerts for protected persons."""
        index = bytes.fromhex(record.data["blind_index"])
        event_type = record.data["event_type"]
        effective_on = dt.date.fromisoformat(record.data["effective_on"])
        event = _event_of(ctx, existing)
        if event is None:
            event = PersonnelEvent(received_at=ctx.now)
            ctx.db.add(event)
        event.blind_index = index
        event.event_type = event_type
        event.effective_on = effective_on
        ctx.db.flush()
        for alert in match_event(ctx.db, event, ctx.now):
            notifications.retaliation_alert(ctx.db, ctx.settings, alert, local_today(ctx.now))
        # The bridge record keeps the blind index as its correlation key (an HMAC already, and
        # the same value personnel_events holds) and the type and date, so an update finds its event.
        return ApplyResult(
            case_id=None,
            created=False,
            scenario=event_type,
            occurred_at=dt.datetime.combine(effective_on, dt.time(0), tzinfo=dt.UTC),
            correlation_key=index,
        )


def _event_of(ctx: ApplyContext, existing: BridgeRecord | None) -> PersonnelEvent | None:
    """The event a record made before (on an update), linking it to its bridge record on the way.

    A new record's bridge record is written by the importer after ``apply``, so
    the event cannot name it at once; the first update finds the event by what
    the bridge record indexes (blind index, type, date) and links the two.
    """
    if existing is None:
        return None
    if existing.id is None:
        # Its record came earlier in this same batch and is not written yet: write it, so the
        # lookup below names it. Comparing with its id of None would read "bridge_record_id IS
        # NULL" and match whichever unlinked event came first: another person's.
        ctx.db.flush()
    assert existing.id is not None
    event: PersonnelEvent | None = ctx.db.scalar(
        select(PersonnelEvent).where(PersonnelEvent.bridge_record_id == existing.id)
    )
    if event is not None or existing.correlation_key is None or existing.occurred_at is None:
        return event
    event = ctx.db.scalar(
        select(PersonnelEvent)
        .where(
            PersonnelEvent.bridge_record_id.is_(None),
            PersonnelEvent.blind_index == existing.correlation_key,
            PersonnelEvent.event_type == existing.scenario,
            PersonnelEvent.effective_on == existing.occurred_at.date(),
        )
        .order_by(PersonnelEvent.id)
        .limit(1)
    )
    if event is not None:
        event.bridge_record_id = existing.id
    return event
