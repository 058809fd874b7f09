"""protection.match_1m: 1,000,000 personnel events matched against 10,000 protected persons.

Ours is what happens to each event on arrival: the employee number becomes its
blind index (:func:`monitoring_bridge.blind_index.blind_index`: NFKC
normalisation, separators removed, HMAC-SHA256 under the protection key) and
is looked up, with the adverse-event and period rule, in the protected
persons' index (:class:`app.protection.matching.ProtectedIndex`). The
baseline is the raw HMAC-SHA256 of the same already-normalised inputs under
the same key, in the same run: the one cryptographic operation matching
cannot avoid. ``HAECHI_BENCH_PROTECTION_N`` overrides the event count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os

from app.protection.matching import EVENT_TYPES, Period, ProtectedIndex
from bench.harness import Result, interleaved_medians
from monitoring_bridge.blind_index import _LABEL, blind_index, normalise_employee_number

N = int(os.environ.get("HAECHI_BENCH_PROTECTION_N", "1000000"))
PROTECTED = 10_000


def bench_match() -> list[Result]:
    """Blind-index and match N events against 10,000 protected persons, against raw HMAC of the same inputs."""
    key = os.urandom(32)
    reported = dt.date(2026, 3, 2)
    until = dt.date(2028, 3, 2)
    # Employee numbers as HR exports them; one event in 100 concerns a protected person.
    numbers = [f"{2000 + i % 30}-{i:06d}" for i in range(N)]
    protected = [numbers[i] for i in range(0, N, max(1, N // PROTECTED))][:PROTECTED]
    index = ProtectedIndex(
        (blind_index(key, n), Period(i, i, reported, reported, until)) for i, n in enumerate(protected)
    )
    events = [(numbers[i], EVENT_TYPES[i % len(EVENT_TYPES)], reported + dt.timedelta(days=i % 900)) for i in range(N)]
    normalised = [_LABEL + normalise_employee_number(n).encode() for n in numbers]
    hits: list[int] = []

    def ours() -> None:
        found = 0
        for number, event_type, day in events:
            if index.matches(blind_index(key, number), event_type, day):
                found += 1
        hits.append(found)

    def raw() -> None:
        new = hmac.new
        sha = hashlib.sha256
        for data in normalised:
            new(key, data, sha).digest()

    ours_s, raw_s = interleaved_medians(ours, raw, runs=3)
    return [
        Result(
            name="protection.match_1m",
            value=round(ours_s, 3),
            unit="s",
            baseline=round(raw_s, 3),
            ratio=round(raw_s / ours_s, 4),
            note=f"{N} events, {len(index)} protected persons, {hits[-1]} alerts due; "
            "ours: normalise + blind_index + ProtectedIndex.matches per event; "
            "baseline: hmac.new(key, label + normalised number, sha256) of the same inputs",
        )
    ]


BENCHMARKS = [bench_match]
