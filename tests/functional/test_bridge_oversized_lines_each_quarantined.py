"""Every oversized line gets its own quarantine row, counted; the very same line again is not doubled.

An oversized line keeps no bytes, and the quarantine recognised a line by the
MAC of its kept bytes: every oversized line after the first shared the MAC of
nothing and was taken for a duplicate, so it was dropped without a row or a
count. Now it is recognised by the SHA-256 of its full content (keyed before
it is stored).
"""

from __future__ import annotations

import json

from sqlalchemy import select

from app.db import get_session
from app.models.bridge import BridgeImport, QuarantinedRecord
from tests.functional import test_bridge
from tests.functional.test_bridge import _post, alert, count, jsonl, run_import

source_key = test_bridge.source_key  # the fixture: a cheongbaek source and its signing key

OVERSIZED = "_line: longer than 65536 bytes"


def big(n: int, fill: bytes) -> bytes:
    return b'{"alert_id": "CB-%d", "x": "' % n + fill * (65_000 + 5_000 * n) + b'"}\n'


def _rows(app) -> list[tuple[int, str]]:
    with app.app_context():
        return [tuple(r) for r in get_session().execute(select(QuarantinedRecord.position, QuarantinedRecord.error))]


def test_two_different_oversized_lines_in_one_file_are_two_rows(app, source_key, tmp_path):
    path = jsonl(tmp_path / "a.jsonl", [big(1, b"a"), big(2, b"b"), alert(3)])
    summary = run_import(app, path)
    assert (summary.accepted, summary.quarantined) == (1, 2)
    assert _rows(app) == [(0, OVERSIZED), (len(big(1, b"a")), OVERSIZED)]
    with app.app_context():
        job = get_session().scalars(select(BridgeImport)).one()
    assert job.records_bad == 2
    # The very same file again: the same lines are recognised, nothing is multiplied.
    assert run_import(app, path).quarantined == 0 and count(app, QuarantinedRecord) == 2


def test_an_oversized_line_in_a_later_file_is_not_taken_for_an_earlier_one(app, source_key, tmp_path):
    assert run_import(app, jsonl(tmp_path / "a.jsonl", [big(1, b"a")])).quarantined == 1
    assert run_import(app, jsonl(tmp_path / "b.jsonl", [alert(5), big(9, b"c")])).quarantined == 1
    assert count(app, QuarantinedRecord) == 2
    # The first file's line in a third file is the same line: kept once while unresolved.
    assert run_import(app, jsonl(tmp_path / "c.jsonl", [big(1, b"a")])).quarantined == 0


def test_lines_of_one_size_but_different_content_are_told_apart(app, source_key, tmp_path):
    one, other = big(1, b"a"), big(1, b"b")
    assert len(one) == len(other)
    assert run_import(app, jsonl(tmp_path / "a.jsonl", [one, other])).quarantined == 2


def test_two_different_oversized_lines_in_a_signed_batch_are_two_rows(app, client, source_key):
    body = big(1, b"a") + big(2, b"b") + json.dumps(alert(3)).encode() + b"\n"
    r = _post(client, source_key, body)
    assert r.status_code == 200
    assert (r.get_json()["accepted"], r.get_json()["quarantined"]) == (1, 2)
    assert [e for _, e in _rows(app)] == [OVERSIZED, OVERSIZED]
