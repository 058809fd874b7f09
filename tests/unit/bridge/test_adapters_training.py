"""The training adapter: validation, records kept with a plain index, completion rates, training cases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models.cases import Case
from monitoring_bridge.adapters.training import MIN_RECORDS_TO_JUDGE, TrainingAdapter, completion_rate
from monitoring_bridge.errors import RecordError
from tests.unit.bridge.adapter_env import NOW, make_env


def valid(**changes):
    obj = {
        "record_id": "EDU-2026-0001",
        "course": "2026 청렴교육 (의무)",
        "official": "김민준",
        "department": "FIN-01",
        "completed_on": "2026-04-10",
        "mandatory": "true",
    }
    obj.update(changes)
    return {k: v for k, v in obj.items() if v is not None}


adapter = TrainingAdapter()


def test_a_valid_record_is_normalised():
    rec = adapter.parse(valid(mandatory="Y", department="fin-01"))
    assert rec.external_id == "EDU-2026-0001"
    assert rec.data == {
        "course": "2026 청렴교육 (의무)",
        "official": "김민준",
        "department": "FIN-01",
        "completed_on": "2026-04-10",
        "mandatory": True,
    }


def test_an_empty_completion_date_means_not_completed_and_json_booleans_work():
    rec = adapter.parse(valid(completed_on=None, mandatory=False))
    assert rec.data["completed_on"] is None and rec.data["mandatory"] is False


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"record_id": None}, "record_id", "missing"),
        ({"course": None}, "course", "missing"),
        ({"official": None}, "official", "missing"),
        ({"official": 7}, "official", "must be a string"),
        ({"department": None}, "department", "missing"),
        ({"department": "x"}, "department", "not a department code"),
        ({"completed_on": "10/04/2026"}, "completed_on", "not an ISO 8601 date"),
        ({"mandatory": None}, "mandatory", "missing"),
        ({"mandatory": "perhaps"}, "mandatory", "not a yes/no"),
        ({"mandatory": 1}, "mandatory", "must be true or false"),
    ],
)
def test_each_bad_field_is_named(changes, field, reason):
    with pytest.raises(RecordError) as err:
        adapter.parse(valid(**changes))
    assert (err.value.field, reason in err.value.reason) == (field, True)
    assert "김민준" not in str(err.value)


@pytest.fixture
def env(app):
    with app.app_context():
        e = make_env(app)
        yield e
        e.db.rollback()


def training_cases(env):
    return list(env.db.scalars(select(Case).where(Case.kind == "training").order_by(Case.id)))


def load(env, department: str, completed: int, missing: int, start: int = 0, now=NOW):
    for i in range(start, start + completed + missing):
        done = f"{now.year}-04-10" if i - start < completed else None
        env.run(adapter, valid(record_id=f"{department}-{i}", department=department, completed_on=done), now=now)


def test_records_keep_a_plain_index_without_the_officials_name(env):
    _, row = env.run(adapter, valid())
    assert (row.scenario, row.department_code, str(row.occurred_on)) == ("mandatory", "FIN-01", "2026-04-10")
    assert row.correlation_key is not None and "김민준".encode() not in row.correlation_key
    assert "김민준".encode() not in row.payload_ct


def test_the_completion_rate_counts_mandatory_records_of_the_department_only(env):
    load(env, "CON-02", completed=9, missing=1)
    env.run(adapter, valid(record_id="opt", department="CON-02", completed_on=None, mandatory="false"))
    load(env, "FIN-01", completed=1, missing=0)
    rate = completion_rate(env.ctx(adapter), "CON-02")
    assert (rate.completed, rate.total, rate.basis_points) == (9, 10, 9000)
    assert training_cases(env) == []


def finish(env, now=NOW):
    """The end of an import: the adapter judges every department."""
    return adapter.finish(env.ctx(adapter, now))


def test_a_department_far_below_target_becomes_one_training_case_at_the_end_of_the_import(env):
    load(env, "WEL-03", completed=1, missing=MIN_RECORDS_TO_JUDGE + 3)
    assert training_cases(env) == []  # judged at the end of the import, not record by record
    assert finish(env) == 1
    [case] = training_cases(env)
    assert case.department_id == env.departments["WEL-03"].id
    assert (case.status, case.source, case.channel, case.category) == (
        "received",
        "training",
        "bridge",
        "training_below_target",
    )
    assert case.ack_due_on is not None and case.next_due_on == case.ack_due_on
    assert {g.grantee_kind for g in case.grants} == {"team", "recovery"}
    [content] = env.read_case(case)
    assert content["department"] == "WEL-03" and content["target_bp"] == 8000 and content["period"] == 2026
    assert (content["completed"], content["enrolled"]) == (1, MIN_RECORDS_TO_JUDGE + 4)


def test_the_periods_case_is_updated_once_per_change_and_never_doubled(env):
    load(env, "WEL-03", completed=0, missing=MIN_RECORDS_TO_JUDGE)
    finish(env)
    assert finish(env) == 0  # the same records again: nothing changes
    [case] = training_cases(env)
    assert len(env.read_case(case)) == 1
    load(env, "WEL-03", completed=1, missing=0, start=100)
    assert finish(env) == 1
    [same] = training_cases(env)
    assert same.id == case.id
    assert [c["completed"] for c in env.read_case(same)] == [0, 1]


def test_a_small_department_is_not_judged_and_one_at_target_is_fine(env):
    load(env, "FIN-01", completed=0, missing=MIN_RECORDS_TO_JUDGE - 1)
    load(env, "CON-02", completed=8, missing=2)  # exactly 80 %
    assert finish(env) == 0
    assert training_cases(env) == []


def test_a_closed_training_case_is_not_reopened_in_its_period_but_next_year_gets_its_own(env):
    load(env, "WEL-03", completed=0, missing=MIN_RECORDS_TO_JUDGE)
    finish(env)
    [first] = training_cases(env)
    first.status = "closed"
    env.db.flush()
    load(env, "WEL-03", completed=0, missing=1, start=50)
    finish(env)
    assert training_cases(env) == [first]  # exactly once per department and period
    next_year = NOW.replace(year=2027)
    load(env, "WEL-03", completed=0, missing=MIN_RECORDS_TO_JUDGE, start=100, now=next_year)
    finish(env, now=next_year)
    assert len(training_cases(env)) == 2


def test_a_period_is_judged_on_the_enrolments_it_received_not_on_earlier_years(env):
    """A bad year opens its case; a next year with every course completed opens none."""
    load(env, "FIN-01", completed=2, missing=8)
    finish(env)
    assert len(training_cases(env)) == 1
    next_year = NOW.replace(year=2027)
    load(env, "FIN-01", completed=10, missing=0, start=100, now=next_year)
    finish(env, now=next_year)
    assert len(training_cases(env)) == 1
    assert completion_rate(env.ctx(adapter, next_year), "FIN-01").basis_points == 10000


def test_a_case_staff_took_over_is_left_alone(env):
    from app.models.bridge import BridgeCaseKey

    load(env, "WEL-03", completed=0, missing=MIN_RECORDS_TO_JUDGE)
    finish(env)
    [case] = training_cases(env)
    env.db.delete(env.db.get(BridgeCaseKey, case.id))
    env.db.flush()
    load(env, "WEL-03", completed=2, missing=0, start=50)
    assert finish(env) == 0
    assert len(env.read_case(case)) == 1 and training_cases(env) == [case]


def test_an_updated_record_replaces_its_old_state_in_the_rate(env):
    load(env, "FIN-01", completed=4, missing=1)
    env.run(adapter, valid(record_id="FIN-01-4", department="FIN-01", completed_on="2026-04-20"))
    rate = completion_rate(env.ctx(adapter), "FIN-01")
    assert (rate.completed, rate.total) == (5, 5)
    assert env.db.scalar(select(func.count()).select_from(Case)) == 0
