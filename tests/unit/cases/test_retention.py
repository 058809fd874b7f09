"""Retention dates at their edges: Seoul midnight, leap days, month and year ends, per kind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.cases.retention import NotClosed, PurgeCounts, set_retention
from app.models.cases import Case
from config import Settings

UTC = dt.UTC


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(instance_path=tmp_path, database_url="sqlite://", testing=True)


def closed(kind: str, closed_at: dt.datetime) -> Case:
    return Case(public_ref="HC-2026-000001", kind=kind, status="closed", closed_at=closed_at)


@pytest.mark.parametrize(
    ("kind", "closed_at", "until"),
    [
        # 23:59:59 in Seoul: still the 1st; 1825 days later (2028-02-29 between) is 2031-02-28.
        ("report", dt.datetime(2026, 3, 1, 14, 59, 59, tzinfo=UTC), dt.date(2031, 2, 28)),
        # Midnight in Seoul: the 2nd already, though UTC says the 1st.
        ("report", dt.datetime(2026, 3, 1, 15, 0, tzinfo=UTC), dt.date(2031, 3, 1)),
        # Closed on a leap day (in Seoul): 730 days later there is no 29 February.
        ("idea", dt.datetime(2028, 2, 28, 15, 30, tzinfo=UTC), dt.date(2030, 2, 28)),
        # A month end in UTC is the 1st of the next month in Seoul.
        ("alert", dt.datetime(2026, 1, 31, 20, 0, tzinfo=UTC), dt.date(2029, 1, 31)),
        # 1095 days from a month end that is not a leap year's.
        ("training", dt.datetime(2026, 4, 30, 3, 0, tzinfo=UTC), dt.date(2029, 4, 29)),
        # Year end in Seoul first.
        ("retaliation", dt.datetime(2026, 12, 31, 15, 0, tzinfo=UTC), dt.date(2036, 12, 29)),
    ],
)
def test_retention_runs_from_the_closing_day_in_seoul_for_the_kinds_period(settings, kind, closed_at, until):
    case = closed(kind, closed_at)
    assert set_retention(case, settings) == until
    assert case.retention_until == until


def test_a_period_ending_on_a_leap_day_ends_on_it(settings):
    case = closed("report", dt.datetime(2028, 2, 27, 15, 0, tzinfo=UTC))  # 2028-02-28 in Seoul
    assert set_retention(case, settings.with_(retention_days="report:1")) == dt.date(2028, 2, 29)


def test_the_period_comes_from_settings(settings):
    case = closed("report", dt.datetime(2026, 5, 31, 0, 0, tzinfo=UTC))
    assert set_retention(case, settings.with_(retention_days="report:1")) == dt.date(2026, 6, 1)


@pytest.mark.parametrize(
    "case",
    [
        Case(public_ref="HC-1", kind="report", status="resolved", closed_at=dt.datetime(2026, 1, 1, tzinfo=UTC)),
        Case(public_ref="HC-2", kind="report", status="closed", closed_at=None),
    ],
)
def test_only_a_closed_case_with_a_closing_time_gets_a_retention_date(settings, case):
    with pytest.raises(NotClosed):
        set_retention(case, settings)
    assert case.retention_until is None


def test_a_kind_without_a_period_is_a_configuration_error(settings):
    from config import ConfigError

    case = closed("report", dt.datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ConfigError):
        set_retention(case, settings.with_(retention_days="alert:10"))


def test_purge_counts_summary_names_only_what_went():
    assert PurgeCounts(grants=4, blobs=1).summary() == "grants=4 blobs=1"
    assert PurgeCounts().summary() == "nothing"
