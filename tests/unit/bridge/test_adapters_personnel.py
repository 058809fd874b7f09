"""The personnel adapter: validation, blind index at once, events stored, retaliation alerts, no plaintext number."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app.db import Base
from app.models.audit import AuditEvent
from app.models.cases import Case
from app.models.protection import PersonnelEvent, ProtectedPerson, RetaliationAlert
from monitoring_bridge.adapters.personnel import ADVERSE_EVENTS, EVENT_TYPES, PersonnelAdapter, is_adverse
from monitoring_bridge.blind_index import blind_index
from monitoring_bridge.errors import RecordError
from tests.unit.bridge.adapter_env import make_env

KEY = os.urandom(32)
CANARY = "CANARY-7734-0091"  # an employee number no other value could contain by chance


def valid(**changes):
    obj = {
        "event_id": "HR-2026-0001",
        "employee_number": CANARY,
        "event_type": "transfer",
        "effective_on": "2026-06-01",
        "department": "fin-01",
        "detail": "정기 인사 외 전보",
    }
    obj.update(changes)
    return {k: v for k, v in obj.items() if v is not None}


@pytest.fixture
def adapter():
    return PersonnelAdapter(protection_key=KEY)


def test_a_valid_event_is_parsed_with_the_blind_index_in_place_of_the_number(adapter):
    rec = adapter.parse(valid())
    assert rec.external_id == "HR-2026-0001"
    assert rec.data == {
        "blind_index": blind_index(KEY, CANARY).hex(),
        "event_type": "transfer",
        "effective_on": "2026-06-01",
        "department": "FIN-01",
        "detail": "정기 인사 외 전보",
    }
    assert "employee_number" not in rec.data
    assert CANARY not in repr(rec) and CANARY.replace("-", "") not in repr(rec)


def test_department_and_detail_are_optional(adapter):
    rec = adapter.parse(valid(department=None, detail=None))
    assert rec.data["department"] is None and rec.data["detail"] is None


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"event_id": None}, "event_id", "missing"),
        ({"event_id": "has space"}, "event_id", "must be 1 to 200"),
        ({"employee_number": None}, "employee_number", "missing"),
        ({"employee_number": 20170042}, "employee_number", "must be a string"),
        ({"employee_number": "- -"}, "employee_number", "nothing left"),
        ({"employee_number": "9" * 41}, "employee_number", "longer than 40"),
        ({"event_type": None}, "event_type", "missing"),
        ({"event_type": "coffee_break"}, "event_type", "unknown value"),
        ({"effective_on": None}, "effective_on", "missing"),
        ({"effective_on": "2026-02-30"}, "effective_on", "not an ISO 8601 date"),
        ({"effective_on": 20260601}, "effective_on", "must be a string"),
        ({"department": "재무과"}, "department", "not a department code"),
        ({"detail": "x" * 2001}, "detail", "longer than 2000"),
    ],
)
def test_each_bad_field_is_named_without_quoting_its_value(adapter, changes, field, reason):
    with pytest.raises(RecordError) as err:
        adapter.parse(valid(**changes))
    assert err.value.field == field
    assert reason in err.value.reason
    assert CANARY not in str(err.value)


def test_the_adverse_table_covers_the_retaliatory_measures_and_nothing_else():
    assert set(ADVERSE_EVENTS) < set(EVENT_TYPES)
    assert not is_adverse("promotion") and not is_adverse("other")
    for kind in ("transfer", "demotion", "disciplinary_action", "dismissal", "contract_not_renewed", "pay_cut"):
        assert is_adverse(kind)


@pytest.fixture
def env(app):
    with app.app_context():
        e = make_env(app)
        yield e
        e.db.rollback()


def protect(env, number: str, reported_on: dt.date, until: dt.date) -> ProtectedPerson:
    case = Case(
        public_ref=f"HC-2026-P{os.urandom(2).hex().upper()}",
        kind="report",
        source="web",
        status="investigating",
        received_on=reported_on,
    )
    env.db.add(case)
    env.db.flush()
    person = ProtectedPerson(
        case_id=case.id,
        blind_index=blind_index(KEY, number),
        identity_ct=b"sealed elsewhere",
        protected_from=reported_on,
        protected_until=until,
    )
    env.db.add(person)
    env.db.flush()
    return person


def alerts(env):
    return list(env.db.scalars(select(RetaliationAlert)))


def test_an_event_is_stored_with_its_blind_index_type_and_date(env, adapter):
    result, row = env.run(adapter, valid())
    event = env.db.scalar(select(PersonnelEvent))
    assert event.blind_index == blind_index(KEY, CANARY)
    assert (event.event_type, event.effective_on) == ("transfer", dt.date(2026, 6, 1))
    assert result.case_id is None and not result.created
    assert row.correlation_key == event.blind_index


def test_an_adverse_event_for_a_protected_person_raises_one_alert_with_days_since_report(env, adapter):
    person = protect(env, "cAnArY 7734 0091", dt.date(2026, 3, 2), dt.date(2028, 3, 2))
    env.run(adapter, valid())
    [alert] = alerts(env)
    assert alert.protected_person_id == person.id and alert.case_id == person.case_id
    assert alert.days_since_report == (dt.date(2026, 6, 1) - dt.date(2026, 3, 2)).days == 91
    assert alert.status == "open"
    assert (
        env.db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "protection.retaliation_alert_raised")
        )
        == 1
    )


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"event_type": "promotion"}, "neutral"),
        ({"effective_on": "2028-03-03"}, "after the protection period"),
        ({"effective_on": "2026-03-01"}, "before the report"),
        ({"employee_number": "AB-99999"}, "someone nobody protects"),
    ],
)
def test_no_alert_for_a_neutral_out_of_period_or_unprotected_event(env, adapter, changes, why):
    protect(env, CANARY, dt.date(2026, 3, 2), dt.date(2028, 3, 2))
    env.run(adapter, valid(**changes))
    assert alerts(env) == [], why
    assert env.db.scalar(select(func.count()).select_from(PersonnelEvent)) == 1


def test_the_protection_period_edges_are_inclusive(env, adapter):
    protect(env, CANARY, dt.date(2026, 3, 2), dt.date(2028, 3, 2))
    env.run(adapter, valid(event_id="E1", effective_on="2026-03-02"))
    env.run(adapter, valid(event_id="E2", effective_on="2028-03-02"))
    assert sorted(a.days_since_report for a in alerts(env)) == [0, 731]


def test_an_updated_event_updates_its_row_and_never_doubles_the_alert(env, adapter):
    protect(env, CANARY, dt.date(2026, 3, 2), dt.date(2028, 3, 2))
    _, row = env.run(adapter, valid())
    env.run(adapter, valid(event_type="demotion", detail="강등"))
    env.run(adapter, valid(event_type="demotion", detail="강등 (정정)"))
    [event] = env.db.scalars(select(PersonnelEvent)).all()
    assert event.event_type == "demotion" and event.bridge_record_id == row.id
    assert len(alerts(env)) == 1


def test_an_event_that_becomes_adverse_on_update_raises_its_alert_then(env, adapter):
    protect(env, CANARY, dt.date(2026, 3, 2), dt.date(2028, 3, 2))
    env.run(adapter, valid(event_type="other"))
    assert alerts(env) == []
    env.run(adapter, valid(event_type="dismissal"))
    assert len(alerts(env)) == 1


def test_no_plaintext_employee_number_anywhere_in_the_database(env, adapter):
    protect(env, CANARY, dt.date(2026, 3, 2), dt.date(2028, 3, 2))
    env.run(adapter, valid())
    env.run(adapter, valid(event_id="HR-2026-0002", event_type="promotion", employee_number="canary 7734 0091"))
    env.db.flush()
    needles = [n.encode() for n in (CANARY, "CANARY77340091", "canary-7734-0091", "7734-0091", "77340091")]
    needles += [n.encode("utf-16-le") for n in (CANARY, "77340091")]
    scanned = 0
    for table in Base.metadata.sorted_tables:
        for row in env.db.execute(sa.select(table)).all():
            for value in row:
                blob = value if isinstance(value, bytes) else str(value).encode()
                scanned += 1
                for needle in needles:
                    assert needle not in blob, f"employee number found in {table.name}"
    assert scanned > 0
    assert env.db.scalar(select(func.count()).select_from(PersonnelEvent)) == 2


def test_through_the_importer_with_the_instance_key_no_plaintext_number_reaches_the_database(env):
    from app.runtime import get_secrets, get_settings
    from monitoring_bridge.importer import import_batch

    env.source("personnel")
    protect_key = get_secrets().protection_key
    # One protected person per case: the one made with the test key is re-indexed under the instance key.
    person = protect(env, "other", dt.date(2026, 3, 2), dt.date(2028, 3, 2))
    person.blind_index = blind_index(protect_key, CANARY)
    env.db.flush()
    good = json.dumps(valid(), ensure_ascii=False).encode() + b"\n"
    bad = json.dumps(valid(event_id="HR-BAD", event_type="nope"), ensure_ascii=False).encode() + b"\n"
    summary = import_batch(env.db, get_settings(), "personnel", [good, bad, good], bridge_key=env.bridge_key)
    assert (summary.accepted, summary.quarantined, summary.duplicates) == (1, 1, 1)
    assert [a.protected_person_id for a in alerts(env)] == [person.id]
    for table in Base.metadata.sorted_tables:
        for row in env.db.execute(sa.select(table)).all():
            for value in row:
                blob = value if isinstance(value, bytes) else str(value).encode()
                assert CANARY.encode() not in blob and b"77340091" not in blob, table.name
