"""The idea-contest adapter: proposals become sealed `idea` cases with their text and contact encrypted."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.models.cases import Case, CaseLink
from monitoring_bridge.adapters.idea import IdeaAdapter
from monitoring_bridge.errors import RecordError
from tests.unit.bridge.adapter_env import make_env

adapter = IdeaAdapter()


def valid(**changes):
    obj = {
        "proposal_id": "IDEA-2026-017",
        "title": "보조금 집행 내역 실시간 공개",
        "proposal": "민간위탁·보조금 사업의 집행 내역을 분기별이 아니라 실시간으로 공개하자는 제안입니다.",
        "proposer_contact": "hong.gildong@example.kr",
        "submitted_at": "2026-04-30T21:15:00+09:00",
    }
    obj.update(changes)
    return {k: v for k, v in obj.items() if v is not None}


def test_a_valid_proposal_is_normalised_to_utc():
    rec = adapter.parse(valid())
    assert rec.external_id == "IDEA-2026-017"
    assert rec.data["submitted_at"] == "2026-04-30T12:15:00+00:00"
    assert rec.data["proposer_contact"] == "hong.gildong@example.kr"


def test_the_contact_is_optional():
    assert adapter.parse(valid(proposer_contact=None)).data["proposer_contact"] is None


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"proposal_id": None}, "proposal_id", "missing"),
        ({"title": None}, "title", "missing"),
        ({"title": "가" * 201}, "title", "longer than 200"),
        ({"proposal": None}, "proposal", "missing"),
        ({"proposal": 42}, "proposal", "must be a string"),
        ({"proposer_contact": {"email": "x"}}, "proposer_contact", "must be a string"),
        ({"submitted_at": None}, "submitted_at", "missing"),
        ({"submitted_at": "2026-04-30T21:15:00"}, "submitted_at", "needs a UTC offset"),
        ({"submitted_at": "30 April"}, "submitted_at", "not an ISO 8601"),
    ],
)
def test_each_bad_field_is_named(changes, field, reason):
    with pytest.raises(RecordError) as err:
        adapter.parse(valid(**changes))
    assert err.value.field == field and reason in err.value.reason


@pytest.fixture
def env(app):
    with app.app_context():
        e = make_env(app)
        yield e
        e.db.rollback()


def test_a_proposal_becomes_a_received_idea_case_sealed_to_intake(env):
    result, row = env.run(adapter, valid())
    case = env.db.get(Case, result.case_id)
    assert result.created and row.case_id == case.id
    assert (case.kind, case.status, case.source, case.channel) == ("idea", "received", "idea", "bridge")
    assert case.ack_due_on == dt.date(2026, 5, 4) + dt.timedelta(days=14)
    assert {g.grantee_kind for g in case.grants} == {"team", "recovery"}
    assert row.occurred_on == dt.date(2026, 4, 30)
    [content] = env.read_case(case)
    assert content["title"] == "보조금 집행 내역 실시간 공개"
    assert content["proposer_contact"] == "hong.gildong@example.kr"
    for entry in case.entries:
        assert b"hong.gildong" not in entry.body_ct and "보조금".encode() not in entry.body_ct


def test_a_changed_proposal_joins_its_case_then_opens_a_follow_up_once_staff_moved_it(env):
    first, _ = env.run(adapter, valid())
    same, _ = env.run(adapter, valid(title="보조금 집행 내역 실시간 공개 (수정)"))
    assert same.case_id == first.case_id and not same.created
    env.db.get(Case, first.case_id).status = "triage"
    env.db.flush()
    later, _ = env.run(adapter, valid(title="세 번째 판"))
    assert later.created and later.linked == 1
    link = env.db.scalar(select(CaseLink).where(CaseLink.from_case_id == later.case_id))
    assert (link.to_case_id, link.relation) == (first.case_id, "follow_up_of")
