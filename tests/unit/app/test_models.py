"""Behaviour the models promise: optimistic locking, idempotent replays, money checks, UTC times.

Runs on SQLite, and on PostgreSQL under HAECHI_TEST_DB=postgresql (the ``database_url`` fixture).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.db import make_engine
from app.models import (
    AuditEvent,
    BridgeRecord,
    BridgeSource,
    Case,
    CaseKeyGrant,
    Disbursement,
    StaffUser,
    SupportRequest,
)

KST = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def make_case(session: Session, **overrides: Any) -> Case:
    """A received web report; ``overrides`` change any column."""
    number = len(session.scalars(select(Case.id)).all()) + 1
    values: dict[str, Any] = {
        "public_ref": f"HC-2026-{number:06d}",
        "kind": "report",
        "source": "web",
        "status": "received",
        "received_on": dt.date(2026, 3, 2),
        "ack_due_on": dt.date(2026, 3, 9),
    }
    values.update(overrides)
    case = Case(**values)
    session.add(case)
    session.flush()
    return case


def make_staff(session: Session, username: str = "officer") -> StaffUser:
    user = StaffUser(username=username, display_name=username, public_key=b"k" * 32, wrapped_private_key_ct=b"w")
    session.add(user)
    session.flush()
    return user


def test_two_officers_editing_one_case_the_second_gets_stale_data(engine: Engine) -> None:
    with Session(engine) as session:
        case_id = make_case(session).id
        session.commit()

    with Session(engine) as first, Session(engine) as second:
        mine = first.get_one(Case, case_id)
        theirs = second.get_one(Case, case_id)
        mine.status = "acknowledged"
        first.commit()
        theirs.status = "triage"
        with pytest.raises(StaleDataError):
            second.commit()

    with Session(engine) as session:
        stored = session.get_one(Case, case_id)
        assert (stored.status, stored.version) == ("acknowledged", 2)


def test_a_replayed_bridge_record_is_rejected(engine: Engine) -> None:
    with Session(engine) as session:
        source = BridgeSource(name="cheongbaek", kind="cheongbaek", adapter="cheongbaek_jsonl")
        session.add(source)
        session.flush()
        session.add(BridgeRecord(source_id=source.id, external_id="W-2026-0001", payload_ct=b"p1"))
        session.commit()
        session.add(BridgeRecord(source_id=source.id, external_id="W-2026-0001", payload_ct=b"p2"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_the_same_external_id_from_another_source_is_a_different_record(engine: Engine) -> None:
    with Session(engine) as session:
        a = BridgeSource(name="cheongbaek", kind="cheongbaek", adapter="a")
        b = BridgeSource(name="personnel", kind="personnel", adapter="b")
        session.add_all([a, b])
        session.flush()
        session.add_all(
            [
                BridgeRecord(source_id=a.id, external_id="1", payload_ct=b"p"),
                BridgeRecord(source_id=b.id, external_id="1", payload_ct=b"p"),
            ]
        )
        session.commit()


@pytest.mark.parametrize("column", ["amount_requested", "amount_approved", "recovered_amount"])
def test_a_negative_support_amount_is_refused(engine: Engine, column: str) -> None:
    with Session(engine) as session:
        case = make_case(session)
        values: dict[str, Any] = {"amount_requested": 100_000, column: -1}
        session.add(SupportRequest(case_id=case.id, type="legal_counsel", requested_on=case.received_on, **values))
        with pytest.raises(IntegrityError):
            session.flush()


def test_only_a_reversing_disbursement_may_be_negative(engine: Engine) -> None:
    with Session(engine) as session:
        case = make_case(session)
        staff = make_staff(session)
        request = SupportRequest(
            case_id=case.id,
            type="reward",
            amount_requested=5_000_000,
            amount_approved=5_000_000,
            requested_on=case.received_on,
        )
        session.add(request)
        session.flush()
        paid = Disbursement(
            support_request_id=request.id,
            amount=5_000_000,
            paid_on=dt.date(2026, 5, 1),
            payment_ref="T1",
            created_by=staff.id,
        )
        session.add(paid)
        session.flush()
        reversal = Disbursement(
            support_request_id=request.id,
            amount=-5_000_000,
            paid_on=dt.date(2026, 5, 2),
            payment_ref="T1-R",
            reverses_id=paid.id,
            created_by=staff.id,
        )
        session.add(reversal)
        session.flush()
        with session.begin_nested():
            session.add(
                Disbursement(
                    support_request_id=request.id,
                    amount=-1,
                    paid_on=dt.date(2026, 5, 3),
                    payment_ref="T2",
                    created_by=staff.id,
                )
            )
            with pytest.raises(IntegrityError):
                session.flush()


def test_a_team_grant_without_a_team_is_refused(engine: Engine) -> None:
    with Session(engine) as session:
        case = make_case(session)
        staff = make_staff(session)
        session.add(CaseKeyGrant(case_id=case.id, grantee_kind="team", user_id=staff.id, sealed_key_ct=b"s"))
        with pytest.raises(IntegrityError):
            session.flush()


def test_an_unknown_status_is_refused(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(IntegrityError):
        make_case(session, status="lost")


def test_datetimes_come_back_timezone_aware_utc(engine: Engine) -> None:
    moment = dt.datetime(2026, 3, 3, 9, 30, 15, tzinfo=KST)
    with Session(engine) as session:
        case_id = make_case(session, acknowledged_at=moment).id
        session.add(
            AuditEvent(
                at=moment, actor_kind="staff", action="case.acknowledge", prev_hash=b"\0" * 32, row_hash=b"h" * 32
            )
        )
        session.commit()

    with Session(engine) as session:
        stored = session.get_one(Case, case_id).acknowledged_at
        event_at = session.scalars(select(AuditEvent.at)).one()
    for value in (stored, event_at):
        assert value is not None
        assert value.utcoffset() == dt.timedelta(0)
        assert value == moment


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with Session(engine) as session:
        make_case(session)
        case = session.scalars(select(Case)).one()
        case.acknowledged_at = dt.datetime(2026, 3, 3, 9, 30)
        with pytest.raises(StatementError, match="naive"):
            session.flush()
