"""Shared pieces of the benchmark runner: the result record, median timers, scratch databases, the table."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool


@dataclass(frozen=True)
class Result:
    """One row of build/bench.json (DESIGN.md section 9)."""

    name: str
    value: float
    unit: str
    baseline: float | None
    ratio: float | None
    note: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def median_seconds(fn: Callable[[], object], runs: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn`` over ``runs`` calls, after ``warmup`` unmeasured calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(ours: Callable[[], object], raw: Callable[[], object], runs: int = 7) -> tuple[float, float]:
    """Median times of two functions measured alternately, so machine noise hits both alike."""
    ours()
    raw()
    a, b = [], []
    for _ in range(runs):
        start = time.perf_counter()
        ours()
        a.append(time.perf_counter() - start)
        start = time.perf_counter()
        raw()
        b.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


# --- Databases -------------------------------------------------------------------------------
# Benchmarks whose speed depends on the database run once per backend (DESIGN.md section 9):
# SQLite in a temporary file, PostgreSQL in a scratch database created for the run and dropped
# after it, so a benchmark never touches a real instance's data.
BACKENDS = ("sqlite", "postgresql")
PG_ADMIN_URL = os.environ.get("HAECHI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def postgres_answers(admin_url: str = PG_ADMIN_URL) -> bool:
    """True when the PostgreSQL server the benchmarks use accepts a connection."""
    try:
        engine = sa.create_engine(admin_url, connect_args={"connect_timeout": 2}, poolclass=NullPool)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def scratch_database(
    backend: str, folder: Path, admin_url: str = PG_ADMIN_URL, prefix: str = "haechi_bench"
) -> Iterator[str]:
    """The URL of an empty database on ``backend``, removed afterwards (the SQLite file lives in ``folder``)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.sqlite3'}"
        return
    if backend != "postgresql":
        raise ValueError(f"unknown database backend {backend!r}")
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def backend_label(url: str) -> str:
    """ "SQLite" or "PostgreSQL", for a result's note."""
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


# --- The markdown table ----------------------------------------------------------------------
# Goals are written in each result's note ("goal ratio >= 0.8", "goal < 64 MiB", "goal >= 0.95"),
# where the reader of bench.json sees them next to the number; the table reads them from there
# so a goal is stated once.
_GOAL = re.compile(r"goal(?: flat,)?\s*(?P<what>ratio\s*)?(?P<op>>=|<=|<|>)\s*(?P<num>[0-9]*\.?[0-9]+)")


@dataclass(frozen=True)
class Goal:
    """A target read from a note: ``ratio >= 0.8`` compares the ratio, ``< 64`` the value."""

    on_ratio: bool
    op: str
    number: float

    def __str__(self) -> str:
        return f"{'ratio ' if self.on_ratio else ''}{self.op} {self.number:g}"

    def met(self, result: Result) -> bool | None:
        """True/False, or None when the number the goal speaks of is missing."""
        seen = result.ratio if self.on_ratio else result.value
        if seen is None:
            return None
        return {
            ">=": seen >= self.number,
            "<=": seen <= self.number,
            "<": seen < self.number,
            ">": seen > self.number,
        }[self.op]


def goal_of(result: Result) -> Goal | None:
    """The goal stated in ``result.note``; a bare ``>=`` on a result with a ratio is a ratio goal."""
    m = _GOAL.search(result.note)
    if m is None:
        return None
    on_ratio = bool(m.group("what")) or (result.ratio is not None and m.group("op") in (">=", ">"))
    return Goal(on_ratio=on_ratio, op=m.group("op"), number=float(m.group("num")))


def markdown_table(results: list[Result]) -> str:
    """The README's benchmark table: name, value, baseline, ratio, goal, met?"""
    lines = [
        "| benchmark | value | baseline (raw) | ratio | goal | met? |",
        "| --- | ---: | ---: | ---: | --- | :---: |",
    ]
    for r in results:
        goal = goal_of(r)
        met = None if goal is None else goal.met(r)
        lines.append(
            f"| `{r.name}` | {r.value:g} {r.unit} | "
            f"{'' if r.baseline is None else f'{r.baseline:g} {r.unit}'} | "
            f"{'' if r.ratio is None else f'{r.ratio:.3f}'} | "
            f"{'' if goal is None else goal} | {'' if met is None else ('yes' if met else '**no**')} |"
        )
    return "\n".join(lines) + "\n"
