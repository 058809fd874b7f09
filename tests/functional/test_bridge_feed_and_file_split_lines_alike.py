"""A signed batch and a file are split into lines by the same reader, under the same size limit.

The feed used to split with ``bytes.splitlines``, which also breaks at a bare
CR (JSON whitespace, so valid inside a record), and counted the LF against
the 65,536-byte limit while a file did not: the same bytes were one record
in a file and two quarantined halves, or one quarantined line, over HTTP.
"""

from __future__ import annotations

import json

import pytest

from monitoring_bridge.decode import MAX_LINE
from tests.functional import test_bridge
from tests.functional.test_bridge import _post, alert, jsonl, run_import

source_key = test_bridge.source_key  # the fixture: a cheongbaek source and its signing key


def _sized(n: int, size: int) -> bytes:
    """A valid alert line of exactly ``size`` bytes before its LF."""
    base = json.dumps(alert(n, x="")).encode()
    line = json.dumps(alert(n, x="a" * (size - len(base)))).encode()
    assert len(line) == size
    return line


def _counts(summary: object) -> tuple[int, int]:
    if isinstance(summary, dict):
        return summary["accepted"], summary["quarantined"]
    return summary.accepted, summary.quarantined  # type: ignore[attr-defined]


def _both(app, client, source_key, tmp_path, make):
    """Import ``make(n)`` as a file (record n=1) and as a signed batch (n=2); both summaries' counts."""
    by_file = run_import(app, jsonl(tmp_path / "a.jsonl", [make(1)]))
    r = _post(client, source_key, make(2))
    assert r.status_code == 200, r.get_data(as_text=True)
    return _counts(by_file), _counts(r.get_json())


def test_a_bare_cr_inside_a_record_is_whitespace_on_both_paths(app, client, source_key, tmp_path):
    def make(n: int) -> bytes:
        raw = json.dumps(alert(n)).encode().replace(b', "scenario_id"', b',\r"scenario_id"') + b"\n"
        assert b"\r" in raw and json.loads(raw)
        return raw

    assert _both(app, client, source_key, tmp_path, make) == ((1, 0), (1, 0))


@pytest.mark.parametrize(("size", "kept"), [(MAX_LINE, True), (MAX_LINE + 1, False)])
def test_the_line_limit_is_the_same_on_both_paths(app, client, source_key, tmp_path, size, kept):
    expected = (1, 0) if kept else (0, 1)
    assert _both(app, client, source_key, tmp_path, lambda n: _sized(n, size) + b"\n") == (expected, expected)


def test_a_last_line_without_lf_is_a_record_on_both_paths(app, client, source_key, tmp_path):
    assert _both(app, client, source_key, tmp_path, lambda n: _sized(n, MAX_LINE)) == ((1, 0), (1, 0))
