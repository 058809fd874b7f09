"""Every bridge source, the same checks: valid records in, each kind of bad record quarantined with
its field and reason, unsigned or stale feeds refused, replays idempotent (issue 7).

``SOURCES`` describes each source by one valid record and, per kind of fault,
a change that makes it bad and the error it must be quarantined with. A
source with no closed set of codes (the idea contest) has no "unknown value"
case; every other kind applies to all five.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db import get_session
from app.models.bridge import BridgeRecord, BridgeSource, QuarantinedRecord
from app.models.cases import Case, CaseEntry
from app.runtime import get_secrets, get_settings
from monitoring_bridge import keyring
from monitoring_bridge.importer import import_file

Record = dict[str, object]


@dataclass(frozen=True)
class Source:
    name: str
    id_field: str
    valid: Record
    # kind of fault -> (changes to the valid record, expected start of the stored error)
    faults: dict[str, tuple[Record, str]]

    def record(self, n: int, **changes: object) -> Record:
        rec = {**self.valid, self.id_field: f"{self.name.upper()}-{n}", **changes}
        return {k: v for k, v in rec.items() if v is not None}


SOURCES = [
    Source(
        "cheongbaek",
        "alert_id",
        {
            "scenario_id": "EH-017",
            "scenario_name": "Corporate card used late at night",
            "system": "e_hojo",
            "department": "FIN",
            "official": "Kim Official",
            "amount": 120000,
            "record_ref": "VOUCHER-1",
            "raised_at": "2026-03-02T09:00:00+09:00",
            "severity": 3,
        },
        {
            "missing field": ({"system": None}, "system: missing"),
            "wrong type": ({"severity": "high"}, "severity: must be a whole number"),
            "bad date": ({"raised_at": "2026-13-01T09:00:00+09:00"}, "raised_at: not an ISO 8601 date and time"),
            "unknown value": ({"system": "mainframe"}, "system: unknown value"),
            "oversized field": ({"official": "가" * 201}, "official: longer than 200 characters"),
        },
    ),
    Source(
        "personnel",
        "event_id",
        {
            "employee_number": "2017-0042",
            "event_type": "transfer",
            "effective_on": "2026-05-11",
            "department": "PERMITS",
            "detail": "moved to the front desk",
        },
        {
            "missing field": ({"employee_number": None}, "employee_number: missing"),
            "wrong type": ({"employee_number": 20170042}, "employee_number: must be a string"),
            "bad date": ({"effective_on": "2026-02-30"}, "effective_on: not an ISO 8601 date (YYYY-MM-DD)"),
            "unknown value": ({"event_type": "coffee_break"}, "event_type: unknown value"),
            "oversized field": ({"detail": "x" * 2001}, "detail: longer than 2000 characters"),
        },
    ),
    Source(
        "training",
        "record_id",
        {
            "course": "2026 integrity training (mandatory)",
            "official": "Kim Minjun",
            "department": "FIN",
            "completed_on": "2026-03-12",
            "mandatory": True,
        },
        {
            "missing field": ({"official": None}, "official: missing"),
            "wrong type": ({"mandatory": 3}, "mandatory: must be true or false"),
            "bad date": ({"completed_on": "2026-13-12"}, "completed_on: not an ISO 8601 date (YYYY-MM-DD)"),
            "unknown value": ({"department": "NOPE"}, "department: unknown department code"),
            "oversized field": ({"course": "c" * 201}, "course: longer than 200 characters"),
        },
    ),
    Source(
        "supporter",
        "record_id",
        {
            "record_type": "finding",
            "department": "PERMITS",
            "supporter": "Lee Seoyeon",
            "finding": "Deadlines extended three times for one company without a recorded reason",
            "found_on": "2026-04-20",
        },
        {
            "missing field": ({"finding": None}, "finding: missing"),
            "wrong type": ({"found_on": 20260420}, "found_on: must be a string"),
            "bad date": ({"found_on": "2026-04-31"}, "found_on: not an ISO 8601 date (YYYY-MM-DD)"),
            "unknown value": ({"record_type": "rumour"}, "record_type: unknown value"),
            "oversized field": ({"finding": "f" * 20001}, "finding: longer than 20000 characters"),
        },
    ),
    Source(
        "idea",
        "proposal_id",
        {
            "title": "Publish subsidy spending in real time",
            "proposal": "Publish what every subsidy project spends as it spends it, not once a quarter.",
            "proposer_contact": "citizen@example.kr",
            "submitted_at": "2026-04-30T21:15:00+09:00",
        },
        {
            "missing field": ({"title": None}, "title: missing"),
            "wrong type": ({"proposal": 42}, "proposal: must be a string"),
            "bad date": ({"submitted_at": "30 April"}, "submitted_at: not an ISO 8601 date and time"),
            "oversized field": ({"title": "t" * 201}, "title: longer than 200 characters"),
        },
    ),
]
BY_NAME = {s.name: s for s in SOURCES}
# Faults of the line itself, the same for every source.
LINE_FAULTS = {
    "broken encoding": (b'{"x": "caf\xc3\x28"}\n', "_line: not valid UTF-8"),
    "truncated line": (b'{"x": "cut sho\n', "_line: truncated record"),
    "oversized line": (b'{"x": "' + b"a" * 70_000 + b'"}\n', "_line: longer than 65536 bytes"),
    "not an object": (b"[1, 2]\n", "_line: a record must be a JSON object"),
}
RECORD_FAULTS = [(s.name, kind) for s in SOURCES for kind in s.faults]


def line(rec: Record | bytes) -> bytes:
    return rec if isinstance(rec, bytes) else json.dumps(rec, ensure_ascii=False).encode() + b"\n"


@pytest.fixture
def keys(app, office) -> dict[str, bytes]:
    """All five sources, added through the CLI; each one's signing key as printed once."""
    out = {}
    for s in SOURCES:
        r = app.test_cli_runner().invoke(args=["bridge", "source", "add", s.name, "--kind", s.name])
        assert r.exit_code == 0, r.output
        out[s.name] = bytes.fromhex(r.output.strip().splitlines()[-1])
    return out


def run_file(app, source: str, path: Path):
    with app.app_context():
        return import_file(get_session(), get_settings(), source, path, bridge_key=get_secrets().bridge_key)


def write(path: Path, records: list[Record | bytes]) -> Path:
    path.write_bytes(b"".join(line(r) for r in records))
    return path


def errors_of(app, source: str) -> list[str]:
    with app.app_context():
        db = get_session()
        src = db.scalar(select(BridgeSource.id).where(BridgeSource.name == source))
        return list(
            db.scalars(
                select(QuarantinedRecord.error).where(QuarantinedRecord.source_id == src).order_by(QuarantinedRecord.id)
            )
        )


def state_of(app, source: str) -> tuple[object, ...]:
    """What a source's imports decided: records with their digests and cases, cases, entries, quarantine."""
    with app.app_context():
        db = get_session()
        src = db.scalar(select(BridgeSource.id).where(BridgeSource.name == source))
        records = db.execute(
            select(BridgeRecord.external_id, BridgeRecord.data_mac, BridgeRecord.case_id)
            .where(BridgeRecord.source_id == src)
            .order_by(BridgeRecord.external_id)
        ).all()
        cases = select(Case.id).where(Case.source == source)
        return (
            [tuple(r) for r in records],
            db.scalar(select(func.count()).where(Case.source == source)),
            db.scalar(select(func.count()).where(CaseEntry.case_id.in_(cases))),
            errors_of(app, source),
        )


@pytest.mark.parametrize("source", [s.name for s in SOURCES])
def test_valid_records_of_every_source_are_accepted_and_kept_encrypted(app, keys, tmp_path, source):
    s = BY_NAME[source]
    summary = run_file(app, source, write(tmp_path / "ok.jsonl", [s.record(1), s.record(2)]))
    assert (summary.accepted, summary.quarantined) == (2, 0)
    with app.app_context():
        rows = list(get_session().scalars(select(BridgeRecord).order_by(BridgeRecord.external_id)))
        assert [r.external_id for r in rows] == [f"{source.upper()}-1", f"{source.upper()}-2"]
        for r in rows:
            # The normalised payload is ciphertext: no text value of the record is readable in it.
            for value in s.valid.values():
                if isinstance(value, str) and len(value) > 8:
                    assert value.encode() not in r.payload_ct


@pytest.mark.parametrize(("source", "kind"), RECORD_FAULTS)
def test_each_kind_of_bad_record_is_quarantined_with_its_field_and_reason(app, keys, tmp_path, source, kind):
    s = BY_NAME[source]
    changes, expected = s.faults[kind]
    summary = run_file(app, source, write(tmp_path / "bad.jsonl", [s.record(1, **changes), s.record(2)]))
    assert (summary.accepted, summary.quarantined) == (1, 1)
    [error] = errors_of(app, source)
    assert error.startswith(expected), (expected, error)


@pytest.mark.parametrize("source", [s.name for s in SOURCES])
@pytest.mark.parametrize("kind", list(LINE_FAULTS))
def test_broken_lines_are_quarantined_for_every_source_and_the_good_ones_still_go_in(app, keys, tmp_path, source, kind):
    s = BY_NAME[source]
    raw, expected = LINE_FAULTS[kind]
    summary = run_file(app, source, write(tmp_path / "bad.jsonl", [s.record(1), raw, s.record(2)]))
    assert (summary.accepted, summary.quarantined) == (2, 1)
    [error] = errors_of(app, source)
    assert error.startswith(expected), (expected, error)


def test_a_truncated_csv_row_is_quarantined_for_the_csv_source(app, keys, tmp_path):
    fields = ("record_id", "course", "official", "department", "completed_on", "mandatory")
    path = tmp_path / "training.csv"
    path.write_text(
        ",".join(fields) + "\nEDU-1,Integrity,Kim Minjun,FIN,2026-03-12,true\nEDU-2,Integrity,Lee\n", encoding="utf-8"
    )
    summary = run_file(app, "training", path)
    assert (summary.accepted, summary.quarantined) == (1, 1)
    assert errors_of(app, "training")[0].startswith("_line: expected 6 columns, found 3")


def _post(client, key: bytes | None, body: bytes, source: str, ts: int | None = None):
    stamp = str(int(time.time()) if ts is None else ts)
    headers = {"X-Haechi-Timestamp": stamp}
    if key is not None:
        headers["X-Haechi-Signature"] = keyring.signature(key, stamp, body)
    return client.post(f"/bridge/{source}", data=body, headers=headers, content_type="application/x-ndjson")


@pytest.mark.parametrize("source", [s.name for s in SOURCES])
@pytest.mark.parametrize("fault", ["missing", "wrong", "another_sources_key", "stale", "future"])
def test_every_source_refuses_a_missing_wrong_or_stale_signature(app, client, keys, source, fault):
    body = line(BY_NAME[source].record(1))
    other = next(name for name in keys if name != source)
    r = {
        "missing": lambda: _post(client, None, body, source),
        "wrong": lambda: _post(client, bytes(32), body, source),
        "another_sources_key": lambda: _post(client, keys[other], body, source),
        "stale": lambda: _post(client, keys[source], body, source, ts=int(time.time()) - 301),
        # 5 s of slack: the server's clock is read later than the test's, and a slow run must not land inside.
        "future": lambda: _post(client, keys[source], body, source, ts=int(time.time()) + 305),
    }[fault]()
    assert r.status_code == 401
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(BridgeRecord)) == 0


@pytest.mark.parametrize("source", [s.name for s in SOURCES])
def test_a_replayed_signed_batch_changes_nothing_for_every_source(app, client, keys, source):
    s = BY_NAME[source]
    changes, _expected = next(iter(s.faults.values()))
    body = b"".join(line(r) for r in (s.record(1), s.record(2), s.record(3, **changes)))
    first = _post(client, keys[source], body, source)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert (first.get_json()["accepted"], first.get_json()["quarantined"]) == (2, 1)
    before = state_of(app, source)
    stamp = int(first.request.headers["X-Haechi-Timestamp"])
    replayed = _post(client, keys[source], body, source, ts=stamp)  # the very request, captured and sent again
    assert replayed.status_code == 401
    assert state_of(app, source) == before
    again = _post(client, keys[source], body, source, ts=stamp + 1)  # the source sending its batch again
    assert again.get_json() == {"accepted": 0, "updated": 0, "duplicates": 2, "linked": 0, "quarantined": 0}
    assert state_of(app, source) == before
