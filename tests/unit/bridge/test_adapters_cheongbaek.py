"""The Cheongbaek-e adapter called record by record (``apply``: the batch path with a batch of one)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models.cases import Case
from monitoring_bridge.adapters.cheongbaek import CheongbaekAdapter
from tests.unit.bridge.adapter_env import make_env

adapter = CheongbaekAdapter()


def alert(n: int, **changes: object) -> dict[str, object]:
    obj: dict[str, object] = {
        "alert_id": f"CB-{n}",
        "scenario_id": "EH-017",
        "scenario_name": "Late-night card use",
        "system": "e_hojo",
        "department": "FIN-01",
        "official": "김민준",
        "amount": 120000,
        "record_ref": "V-1",
        "raised_at": "2026-05-04T09:00:00+09:00",
        "severity": 2,
    }
    obj.update(changes)
    return obj


@pytest.fixture
def env(app):
    with app.app_context():
        e = make_env(app)
        yield e
        e.db.rollback()


def test_one_alert_opens_a_sealed_case_and_a_correlated_one_joins_it(env):
    first, row = env.run(adapter, alert(1))
    assert first.created and first.case_id == row.case_id
    second, _ = env.run(adapter, alert(2, severity=4, raised_at="2026-05-04T10:00:00+09:00"))
    assert (second.created, second.case_id) == (False, first.case_id)
    case = env.db.get(Case, first.case_id)
    env.db.refresh(case)
    assert case.severity == 4
    assert [e["alert_id"] for e in env.read_case(case)] == ["CB-1", "CB-2"]
    assert {g.grantee_kind for g in case.grants} == {"team", "recovery"}


def test_an_alert_on_another_subject_opens_its_own_case(env):
    first, _ = env.run(adapter, alert(1))
    other, _ = env.run(adapter, alert(2, record_ref="V-2"))
    assert other.created and other.case_id != first.case_id
    assert len(env.db.scalars(select(Case)).all()) == 2
