"""One hostile record is quarantined with its field and reason; the rest of its batch is imported.

Each value here once raised something other than a RecordError (ValueError,
OverflowError, RecursionError, a PostgreSQL DataError) and aborted the whole
import, good records included; a resumed run then died on the same line.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.db import get_session
from app.models.bridge import BridgeImport, BridgeRecord, QuarantinedRecord
from tests.functional import test_bridge
from tests.functional.test_bridge import _post, alert, count, jsonl, run_import

source_key = test_bridge.source_key  # the fixture: a cheongbaek source and its signing key

HOSTILE_FIELDS = [
    (alert(2, severity="--3"), "severity: must be a whole number"),
    (alert(2, severity="²"), "severity: must be a whole number"),
    (alert(2, amount="--480000"), "amount: must be a whole number"),
    (alert(2, amount=10**30), "amount: must be a whole number of at most 18 digits"),
    (alert(2, raised_at="0001-01-01T00:00:00+09:00"), "raised_at: year must be between 1900 and 2200"),
    (alert(2, raised_at="0001-01-01T05:00:00+00:00"), "raised_at: year must be between 1900 and 2200"),
    (alert(2, raised_at="9999-12-31T23:00:00-05:00"), "raised_at: year must be between 1900 and 2200"),
    (alert(2, scenario_id="EH\u0000017"), "scenario_id: contains a control character"),
    (alert(2, alert_id="CB-\u00002"), "alert_id: contains a control character"),
    (alert(2, official="Kim\u001bOfficial"), "official: contains a control character"),
    (b'{"alert_id": "CB-2", "amount": ' + b"9" * 5000 + b"}\n", "_line: malformed JSON: a number has too many digits"),
    (b"[" * 30000 + b"\n", "_line: malformed JSON: nested too deeply"),
]
IDS = [
    "double-minus",
    "superscript",
    "amount-double-minus",
    "amount-huge",
    "year-1-east",
    "year-1-utc",
    "year-9999-west",
    "nul-scenario",
    "nul-id",
    "escape",
    "5000-digits",
    "deep-nesting",
]


def _quarantined(app) -> list[str]:
    with app.app_context():
        return list(get_session().scalars(select(QuarantinedRecord.error).order_by(QuarantinedRecord.id)))


@pytest.mark.parametrize(("bad", "reason"), HOSTILE_FIELDS, ids=IDS)
def test_a_hostile_value_in_a_file_is_quarantined_and_the_others_imported(app, source_key, tmp_path, bad, reason):
    path = jsonl(tmp_path / "a.jsonl", [alert(1), bad, alert(3)])
    summary = run_import(app, path)
    assert (summary.accepted, summary.quarantined) == (2, 1)
    [error] = _quarantined(app)
    assert error.startswith(reason), error
    with app.app_context():
        job = get_session().scalars(select(BridgeImport)).one()
    assert job.status == "finished" and (job.records_ok, job.records_bad) == (2, 1)
    # Run again: the same file is a new, finished import that changes nothing (no stuck resume).
    again = run_import(app, path)
    assert (again.accepted, again.duplicates, again.quarantined) == (0, 2, 0)
    assert count(app, BridgeRecord) == 2 and count(app, QuarantinedRecord) == 1


@pytest.mark.parametrize(("bad", "reason"), HOSTILE_FIELDS, ids=IDS)
def test_a_hostile_value_in_a_signed_batch_is_quarantined_not_a_500(app, client, source_key, bad, reason):
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    raw = bad if isinstance(bad, bytes) else json.dumps(bad).encode() + b"\n"
    body = json.dumps(alert(1)).encode() + b"\n" + raw + json.dumps(alert(3)).encode() + b"\n"
    r = _post(client, source_key, body)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert (r.get_json()["accepted"], r.get_json()["quarantined"]) == (2, 1)
    [error] = _quarantined(app)
    assert error.startswith(reason), error


def test_a_reason_never_quotes_the_value(app, source_key, tmp_path):
    run_import(app, jsonl(tmp_path / "a.jsonl", [alert(2, official="Secret\u0000Name", amount="--77777")]))
    for error in _quarantined(app):
        assert "Secret" not in error and "77777" not in error
