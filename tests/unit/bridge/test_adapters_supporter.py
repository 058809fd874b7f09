"""The Supporter adapter: designations kept, findings become sealed `supporter` cases linked to their department."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.models.cases import Case, CaseLink
from monitoring_bridge.adapters.supporter import SupporterAdapter
from monitoring_bridge.errors import RecordError
from tests.unit.bridge.adapter_env import make_env

adapter = SupporterAdapter()


def designation(**changes):
    obj = {
        "record_id": "TS-D-001",
        "record_type": "designation",
        "department": "CON-02",
        "supporter": "이서연",
        "period_from": "2026-01-01",
        "period_to": "2026-12-31",
    }
    obj.update(changes)
    return {k: v for k, v in obj.items() if v is not None}


def finding(**changes):
    obj = {
        "record_id": "TS-F-001",
        "record_type": "finding",
        "department": "CON-02",
        "supporter": "이서연",
        "finding": "건축허가 민원 처리 시 특정 업체에 대한 반복적 기한 연장",
        "found_on": "2026-04-20",
    }
    obj.update(changes)
    return {k: v for k, v in obj.items() if v is not None}


def test_a_valid_designation_and_finding_are_parsed():
    d = adapter.parse(designation())
    assert d.data == {
        "record_type": "designation",
        "department": "CON-02",
        "supporter": "이서연",
        "period_from": "2026-01-01",
        "period_to": "2026-12-31",
    }
    f = adapter.parse(finding(supporter=None))
    assert f.data["finding"].startswith("건축허가") and f.data["supporter"] is None


@pytest.mark.parametrize(
    ("obj", "field", "reason"),
    [
        (designation(record_id=None), "record_id", "missing"),
        (designation(record_type="memo"), "record_type", "unknown value"),
        (designation(department=None), "department", "missing"),
        (designation(supporter=None), "supporter", "missing"),
        (designation(period_from="2026-13-01"), "period_from", "not an ISO 8601 date"),
        (designation(period_to=None), "period_to", "missing"),
        (designation(period_to="2025-12-31"), "period_to", "before period_from"),
        (finding(finding=None), "finding", "missing"),
        (finding(finding=["a"]), "finding", "must be a string"),
        (finding(found_on="yesterday"), "found_on", "not an ISO 8601 date"),
    ],
)
def test_each_bad_field_is_named(obj, field, reason):
    with pytest.raises(RecordError) as err:
        adapter.parse(obj)
    assert err.value.field == field and reason in err.value.reason


@pytest.fixture
def env(app):
    with app.app_context():
        e = make_env(app)
        yield e
        e.db.rollback()


def open_case(env, dept: str, status: str = "investigating", kind: str = "report") -> Case:
    case = Case(
        public_ref=f"HC-2026-{dept[:3]}{status[:3].upper()}",
        kind=kind,
        source="web",
        status=status,
        received_on=dt.date(2026, 3, 2),
        department_id=env.departments[dept].id,
    )
    env.db.add(case)
    env.db.flush()
    return case


def test_a_designation_is_kept_as_a_record_without_a_case(env):
    result, row = env.run(adapter, designation())
    assert result.case_id is None and not result.created
    assert (row.scenario, row.department_code, row.occurred_on) == ("designation", "CON-02", dt.date(2026, 1, 1))
    assert "이서연".encode() not in row.payload_ct


def test_a_finding_becomes_a_sealed_supporter_case_linked_to_its_departments_open_cases(env):
    report = open_case(env, "CON-02")
    open_case(env, "CON-02", status="closed")
    open_case(env, "FIN-01")
    result, row = env.run(adapter, finding())
    case = env.db.get(Case, result.case_id)
    assert result.created and result.linked == 1 and row.case_id == case.id
    assert (case.kind, case.status, case.department_id) == ("supporter", "received", env.departments["CON-02"].id)
    assert {g.grantee_kind for g in case.grants} == {"team", "recovery"}
    [link] = env.db.scalars(select(CaseLink).where(CaseLink.from_case_id == case.id)).all()
    assert (link.to_case_id, link.relation) == (report.id, "related")
    [content] = env.read_case(case)
    assert content["finding"].startswith("건축허가") and content["finding_id"] == "TS-F-001"


def test_a_changed_finding_is_added_to_its_new_case(env):
    result, _ = env.run(adapter, finding())
    again, _ = env.run(adapter, finding(finding="정정된 지적 사항"))
    assert again.case_id == result.case_id and not again.created
    case = env.db.get(Case, result.case_id)
    assert [c["finding"] for c in env.read_case(case)][-1] == "정정된 지적 사항"


def test_a_changed_finding_after_staff_took_the_case_opens_a_follow_up(env):
    result, _ = env.run(adapter, finding())
    env.db.get(Case, result.case_id).status = "triage"
    env.db.flush()
    again, _ = env.run(adapter, finding(finding="추가 지적"))
    assert again.created and again.case_id != result.case_id
    links = env.db.scalars(select(CaseLink).where(CaseLink.from_case_id == again.case_id)).all()
    assert [(link.to_case_id, link.relation) for link in links] == [(result.case_id, "follow_up_of")]


def test_a_finding_for_an_unknown_department_is_the_records_fault(env):
    with pytest.raises(RecordError) as err:
        env.run(adapter, finding(department="NOPE-99"))
    assert err.value.field == "department"
    assert env.db.scalar(select(Case).where(Case.kind == "supporter")) is None
