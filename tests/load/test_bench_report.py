"""The benchmark report of issue 10: goals read from notes, the markdown table, per-backend names, merging.

(Kept beside the load test, the other half of issue 10's measuring.)
"""

from __future__ import annotations

import json

import pytest

import bench.__main__ as runner
from bench.harness import Result, goal_of, markdown_table


def _r(name: str = "x.y", value: float = 10.0, ratio: float | None = 0.5, note: str = "", unit: str = "ms") -> Result:
    return Result(name=name, value=value, unit=unit, baseline=None if ratio is None else 5.0, ratio=ratio, note=note)


@pytest.mark.parametrize(
    ("note", "ratio", "value", "expected", "met"),
    [
        ("baseline: bare AESGCM (goal ratio >= 0.8)", 0.85, 1.0, "ratio >= 0.8", True),
        ("baseline: bare AESGCM (goal ratio >= 0.8)", 0.79, 1.0, "ratio >= 0.8", False),
        ("ratio = raw time / ours (goal >= 0.95: one KDF, not two)", 0.95, 1.0, "ratio >= 0.95", True),
        ("(process peak 40 MiB); goal < 64 MiB", None, 63.9, "< 64", True),
        ("(process peak 300 MiB); goal flat, < 256 MiB", None, 256.0, "< 256", False),
    ],
)
def test_goals_are_read_from_the_notes_and_checked_against_ratio_or_value(note, ratio, value, expected, met):
    result = _r(value=value, ratio=ratio, note=note, unit="MiB" if ratio is None else "ms")
    goal = goal_of(result)
    assert goal is not None and str(goal) == expected
    assert goal.met(result) is met


def test_the_table_has_one_row_per_result_and_marks_missed_goals():
    table = markdown_table([_r("a.fast", note="goal ratio >= 0.4"), _r("a.slow", note="goal ratio >= 0.9"), _r("b")])
    lines = table.splitlines()
    assert lines[0] == "| benchmark | value | baseline (raw) | ratio | goal | met? |"
    assert lines[2] == "| `a.fast` | 10 ms | 5 ms | 0.500 | ratio >= 0.4 | yes |"
    assert lines[3] == "| `a.slow` | 10 ms | 5 ms | 0.500 | ratio >= 0.9 | **no** |"
    assert lines[4] == "| `b` | 10 ms | 5 ms | 0.500 |  |  |"


def test_database_benchmarks_run_per_backend_with_distinct_names_and_a_prefix_run_merges(tmp_path, monkeypatch):
    seen: list[str] = []

    def db_bench(db: str = "sqlite") -> list[Result]:
        seen.append(db)
        return [_r("dbfam.page", note=f"on {db}")]

    db_bench.__module__ = "bench.dbfam_bench"

    def plain_bench() -> list[Result]:
        return [_r("plain.op")]

    plain_bench.__module__ = "bench.plain_bench"
    monkeypatch.setattr(runner, "SUITES", [db_bench, plain_bench])
    monkeypatch.setattr(runner, "OUT", tmp_path / "bench.json")
    monkeypatch.setattr(runner, "TABLE", tmp_path / "bench.md")
    monkeypatch.setattr(runner, "postgres_answers", lambda: True)

    assert runner.main([]) == 0
    assert seen == ["sqlite", "postgresql"]
    rows = json.loads((tmp_path / "bench.json").read_text())
    assert [r["name"] for r in rows] == ["dbfam.page", "dbfam.page@postgresql", "plain.op"]
    assert "`dbfam.page@postgresql`" in (tmp_path / "bench.md").read_text()

    # Refreshing one family keeps the other rows of the previous run.
    assert runner.main(["--db", "sqlite", "dbfam"]) == 0
    rows = json.loads((tmp_path / "bench.json").read_text())
    assert sorted(r["name"] for r in rows) == ["dbfam.page", "dbfam.page@postgresql", "plain.op"]


def test_without_postgresql_the_database_benchmarks_run_on_sqlite_only(tmp_path, monkeypatch):
    seen: list[str] = []

    def db_bench(db: str = "sqlite") -> list[Result]:
        seen.append(db)
        return [_r("dbfam.page")]

    db_bench.__module__ = "bench.dbfam_bench"
    monkeypatch.setattr(runner, "SUITES", [db_bench])
    monkeypatch.setattr(runner, "OUT", tmp_path / "bench.json")
    monkeypatch.setattr(runner, "TABLE", tmp_path / "bench.md")
    monkeypatch.setattr(runner, "postgres_answers", lambda: False)
    assert runner.main([]) == 0
    assert seen == ["sqlite"]
    assert runner.main(["--db", "postgresql"]) == 2
