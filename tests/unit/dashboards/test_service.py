"""Dashboard panels count plaintext metadata in SQL: scopes, deadline edges in Seoul days, alerts, money."""

from __future__ import annotations

import datetime as dt

import pytest

from app.audit import record
from app.dashboards import service
from app.dashboards.service import Scope
from app.models import (
    AuditEvent,
    BridgeRecord,
    BridgeSource,
    CheckIn,
    Department,
    Disbursement,
    SupportBudget,
    SupportRequest,
)
from tests.unit.cases.test_queues import World

TODAY = dt.date(2026, 3, 10)
KST = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture
def world(db_session) -> World:
    return World(db_session)


@pytest.fixture
def everyone(world) -> Scope:
    return Scope(viewer_id=world.user("viewer").id)


def counts(rows) -> dict[str, int]:
    return {c.key: c.count for c in rows}


def test_cases_are_counted_by_kind_state_category_and_department(world, everyone):
    dep = Department(code="FIN", name_ko="재정과", name_en="Finance")
    world.db.add(dep)
    world.db.flush()
    world.case(kind="report", status="received", category="bribery", department_id=dep.id)
    world.case(kind="report", status="triage", category="bribery")
    world.case(kind="alert", status="raised", category="EH-017", department_id=dep.id)
    assert counts(service.cases_by(world.db, everyone, "kind")) == {"report": 2, "alert": 1}
    assert counts(service.cases_by(world.db, everyone, "status")) == {"received": 1, "triage": 1, "raised": 1}
    assert counts(service.cases_by(world.db, everyone, "category")) == {"bribery": 2, "EH-017": 1}
    assert counts(service.cases_by(world.db, everyone, "department")) == {"FIN": 2, "": 1}


def test_a_team_scope_counts_only_cases_sealed_to_the_team_and_never_one_the_viewer_is_excluded_from(world):
    alice = world.user("alice")
    team_a, team_b = world.team("a", alice), world.team("b")
    world.case(team=team_a)
    excluded = world.case(team=team_a)
    world.exclude(excluded, alice)
    world.case(team=team_a, revoked=True)
    world.case(team=team_b)
    scope = Scope(viewer_id=alice.id, team_ids=(team_a.id,))
    assert counts(service.cases_by(world.db, scope, "kind")) == {"report": 1}
    assert counts(service.cases_by(world.db, Scope(viewer_id=alice.id), "kind")) == {"report": 3}


def test_an_unknown_dimension_is_refused(world, everyone):
    with pytest.raises(service.DashboardError):
        service.cases_by(world.db, everyone, "reporter_name")


def _ack_case(world, due: dt.date, acknowledged_at: dt.datetime | None):
    return world.case(status="acknowledged", ack_due_on=due, acknowledged_at=acknowledged_at)


def test_acknowledgement_on_the_due_day_in_seoul_is_met_and_one_minute_after_midnight_is_missed(world, everyone):
    due = dt.date(2026, 2, 10)
    _ack_case(world, due, dt.datetime(2026, 2, 10, 23, 59, tzinfo=KST))  # 14:59 UTC: Seoul's due day, met
    _ack_case(world, due, dt.datetime(2026, 2, 11, 0, 1, tzinfo=KST))  # 15:01 UTC the same UTC day: missed
    _ack_case(world, due, None)  # never acknowledged and the day has passed: missed
    _ack_case(world, dt.date(2026, 3, 10), None)  # due today, not yet acknowledged: still on time
    months = service.deadlines_by_month(world.db, everyone, 2026, TODAY)
    feb, mar = months[1], months[2]
    assert (feb.ack_met, feb.ack_missed, feb.ack_open) == (1, 2, 0)
    assert (mar.ack_met, mar.ack_missed, mar.ack_open) == (0, 0, 1)
    assert sum(m.ack_met + m.ack_missed + m.ack_open for m in months) == 4


def test_feedback_given_on_the_due_day_is_met_and_the_day_after_is_missed(world, everyone):
    due = dt.date(2026, 1, 31)
    world.case(feedback_due_on=due, feedback_given_on=due)
    world.case(feedback_due_on=due, feedback_given_on=due + dt.timedelta(days=1))
    world.case(feedback_due_on=dt.date(2026, 4, 30))  # not yet due
    world.case(feedback_due_on=dt.date(2025, 12, 31))  # another year: not counted
    months = service.deadlines_by_month(world.db, everyone, 2026, TODAY)
    assert (months[0].feedback_met, months[0].feedback_missed) == (1, 1)
    assert months[3].feedback_open == 1
    assert sum(m.feedback_met + m.feedback_missed + m.feedback_open for m in months) == 3


def _alert(world, status: str, received_on: dt.date, system: str | None = "e_hojo", department_id=None):
    """An alert case and the Cheongbaek-e record it came from (``system`` None: imported before 0014)."""
    case = world.case(
        kind="alert", status=status, received_on=received_on, source="cheongbaek", department_id=department_id
    )
    source = world.db.query(BridgeSource).filter_by(name="cheongbaek").one_or_none()
    if source is None:
        source = BridgeSource(name="cheongbaek", kind="cheongbaek", adapter="cheongbaek")
        world.db.add(source)
        world.db.flush()
    world.db.add(
        BridgeRecord(source_id=source.id, external_id=f"CB-{case.id}", case_id=case.id, system=system, payload_ct=b"x")
    )
    world.db.flush()
    return case


def _answer(world, case, on: dt.datetime):
    record(
        world.db,
        "case.transition",
        actor_user_id=None,
        case_id=case.id,
        target="explanation_requested->explained",
        now=on,
    )


def test_alerts_answered_by_the_last_day_count_on_time_and_later_ones_late(world, everyone):
    received = dt.date(2026, 2, 1)  # with 14 days to explain, due 15 February
    on_time = _alert(world, "explained", received)
    _answer(world, on_time, dt.datetime(2026, 2, 15, 23, 0, tzinfo=KST))
    late = _alert(world, "explained", received)
    _answer(world, late, dt.datetime(2026, 2, 16, 0, 30, tzinfo=KST))
    _alert(world, "explanation_requested", received)  # past its deadline, unanswered
    _alert(world, "raised", dt.date(2026, 3, 5))  # open, not yet due
    _alert(world, "raised", received, system="saeol")
    _alert(world, "raised", received, system=None)  # imported before the system was kept
    groups = {g.key: g for g in service.alerts_by(world.db, everyone, "system", TODAY, 14)}
    cb = groups["e_hojo"]
    assert (cb.total, cb.open, cb.answered_on_time, cb.answered_late, cb.overdue_unanswered) == (4, 2, 1, 1, 1)
    assert cb.on_time_bp == 3333  # 1 of 3 judged
    assert (groups["saeol"].total, groups["saeol"].open) == (1, 1)
    assert (groups[""].total, groups[""].open) == (1, 1)
    assert set(groups) == {"e_hojo", "saeol", ""}
    assert world.db.query(AuditEvent).count() == 2  # the panel read the audit log, it wrote nothing


def test_an_alert_case_with_several_records_of_its_system_is_counted_once(world, everyone):
    case = _alert(world, "raised", TODAY, system="local_tax")
    source = world.db.query(BridgeSource).filter_by(name="cheongbaek").one()
    world.db.add(
        BridgeRecord(source_id=source.id, external_id="CB-joined", case_id=case.id, system="local_tax", payload_ct=b"x")
    )
    world.db.flush()
    (group,) = service.alerts_by(world.db, everyone, "system", TODAY, 14)
    assert (group.key, group.total, group.open) == ("local_tax", 1, 1)


def test_an_alert_with_nothing_to_judge_yet_has_no_share(world, everyone):
    _alert(world, "raised", TODAY)
    (group,) = service.alerts_by(world.db, everyone, "department", TODAY, 14)
    assert group.key == "" and group.on_time_bp is None


def test_training_completion_counts_mandatory_enrolments_per_department(world):
    source = BridgeSource(name="hr-training", kind="training", adapter="training")
    world.db.add(source)
    world.db.flush()
    for i, (dep, scenario, done) in enumerate(
        [("FIN", "mandatory", True), ("FIN", "mandatory", False), ("FIN", "optional", True), ("TAX", "mandatory", True)]
    ):
        world.db.add(
            BridgeRecord(
                source_id=source.id,
                external_id=f"r{i}",
                department_code=dep,
                scenario=scenario,
                occurred_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC) if done else None,
                payload_ct=b"x",
            )
        )
    world.db.flush()
    lines = {t.department: t for t in service.training_by_department(world.db)}
    assert (lines["FIN"].completed, lines["FIN"].total, lines["FIN"].basis_points) == (1, 2, 5000)
    assert lines["TAX"].basis_points == 10000


def test_support_paid_in_the_year_is_set_against_the_budget_in_whole_won(world, everyone):
    payer = world.user("legal")
    case = world.case()
    world.db.add(SupportBudget(year=2026, support_type="legal_counsel", amount=3_000_000))
    req = SupportRequest(
        case_id=case.id,
        type="legal_counsel",
        status="approved",
        amount_requested=2_000_000,
        amount_approved=2_000_000,
        requested_on=dt.date(2026, 1, 2),
        decided_by=payer.id,
    )
    world.db.add(req)
    world.db.flush()
    world.db.add(
        Disbursement(
            support_request_id=req.id,
            amount=1_000_001,
            paid_on=dt.date(2026, 1, 3),
            payment_ref="P1",
            created_by=payer.id,
        )
    )
    world.db.add(
        Disbursement(
            support_request_id=req.id,
            amount=500_000,
            paid_on=dt.date(2025, 12, 31),
            payment_ref="P0",
            created_by=payer.id,
        )
    )
    world.db.flush()
    lines = {s.support_type: s for s in service.support_against_budget(world.db, everyone, 2026)}
    assert (lines["legal_counsel"].budget, lines["legal_counsel"].paid) == (3_000_000, 1_000_001)
    assert lines["legal_counsel"].used_bp == 3333
    assert lines["reward"].budget is None and lines["reward"].used_bp is None


def test_check_ins_are_answered_missed_or_not_yet_due_by_month(world, everyone):
    case = world.case()
    world.db.add_all(
        [
            CheckIn(case_id=case.id, due_on=dt.date(2026, 2, 1), answered_on=dt.date(2026, 2, 1), answer="all_well"),
            CheckIn(case_id=case.id, due_on=dt.date(2026, 2, 2), flagged_missed=True),
            CheckIn(case_id=case.id, due_on=dt.date(2026, 3, 9)),  # yesterday, unanswered: missed
            CheckIn(case_id=case.id, due_on=dt.date(2026, 3, 10)),  # today: not yet missed
        ]
    )
    world.db.flush()
    panel = service.protection(world.db, everyone, 2026, TODAY)
    feb, mar = panel.months[1], panel.months[2]
    assert (feb.checkins_answered, feb.checkins_missed) == (1, 1)
    assert (mar.checkins_missed, mar.checkins_pending) == (1, 1)
    assert panel.answers["all_well"] == 1
