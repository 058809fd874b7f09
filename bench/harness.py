"""Shared pieces of the benchmark runner: the result record and a median timer."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


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
