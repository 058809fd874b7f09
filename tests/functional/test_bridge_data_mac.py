"""A bridge record's data fingerprint is keyed (review finding: an unkeyed SHA-256 named training officials).

The attack: with the database alone, rebuild a training record's data from its
plain columns and a staff directory, hash each guess, and compare with the
stored fingerprint. These tests prove the stored value is an HMAC under the
bridge key, that replay and change detection still work through it, and that
rows from before migration 0015 (fingerprint erased) are upgraded on replay
without a spurious audited update, on both import paths (record by record:
training; bulk: Cheongbaek-e).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.db import get_session
from app.models.audit import AuditEvent
from app.models.bridge import BridgeRecord, BridgeSource
from app.runtime import get_secrets
from monitoring_bridge import batch, keyring
from tests.functional.test_bridge import alert, jsonl
from tests.functional.test_bridge_subjects import run, training


@pytest.fixture
def sources(app, office) -> None:
    """The two sources these tests feed: Cheongbaek-e (bulk path) and training (record by record)."""
    runner = app.test_cli_runner()
    for name in ("cheongbaek", "training"):
        r = runner.invoke(args=["bridge", "source", "add", name, "--kind", name])
        assert r.exit_code == 0, r.output


def _records(app, source: str) -> dict[str, tuple[int, bytes | None]]:
    with app.app_context():
        db = get_session()
        rows = db.execute(
            select(BridgeRecord.external_id, BridgeRecord.source_id, BridgeRecord.data_mac)
            .join(BridgeSource)
            .where(BridgeSource.name == source)
        ).all()
        return {ext: (sid, mac) for ext, sid, mac in rows}


def _updates_audited(app) -> int:
    with app.app_context():
        return get_session().scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "bridge.record_updated")
        )


def _erase_macs(app) -> None:
    """What migration 0015 leaves on rows imported before it: no fingerprint at all."""
    with app.app_context():
        db = get_session()
        db.execute(update(BridgeRecord).values(data_mac=None))
        db.commit()


def test_a_training_records_fingerprint_is_a_keyed_mac_not_a_hash_a_staff_directory_can_match(app, sources, tmp_path):
    rec = training(1, "Park Ji-hoon", done="2026-02-01")
    run(app, "training", jsonl(tmp_path / "t.jsonl", [rec]))
    [(source_id, stored)] = _records(app, "training").values()
    with app.app_context():
        db = get_session()
        row = db.scalars(select(BridgeRecord)).one()
        data = {
            "completed_on": row.occurred_at.date().isoformat() if row.occurred_at else None,
            "course": rec["course"],
            "department": row.department_code,
            "mandatory": True,
            "official": "Park Ji-hoon",
        }
        key = get_secrets().bridge_key
    normalised = batch.normalise(data)
    assert stored is not None and stored != hashlib.sha256(normalised).digest()
    # ... but it is the source's keyed MAC of exactly that data, which only the bridge key holder can recompute.
    assert stored == keyring.RecordMac(key, source_id)(normalised)
    assert stored == keyring.mac(key, "record-data", str(source_id), normalised)
    assert stored != keyring.RecordMac(key, source_id + 1)(normalised)


def test_a_replayed_feed_changes_nothing_and_a_changed_record_is_an_audited_update(app, sources, tmp_path):
    first = run(app, "cheongbaek", jsonl(tmp_path / "a.jsonl", [alert(1), alert(2)]))
    assert (first.accepted, first.updated) == (2, 0)
    before = _records(app, "cheongbaek")
    replay = run(app, "cheongbaek", jsonl(tmp_path / "b.jsonl", [alert(2), alert(1), alert(3)]))
    assert (replay.accepted, replay.updated, replay.duplicates) == (1, 0, 2)
    assert {k: v for k, v in _records(app, "cheongbaek").items() if k != "CB-3"} == before
    changed = run(app, "cheongbaek", jsonl(tmp_path / "c.jsonl", [alert(1, severity=5)]))
    assert (changed.updated, changed.duplicates) == (1, 0)
    assert _records(app, "cheongbaek")["CB-1"] != before["CB-1"]
    assert _updates_audited(app) == 1


def test_a_training_row_without_a_mac_is_upgraded_on_replay_without_an_update(app, sources, tmp_path):
    records = [training(1, "Park Ji-hoon", done="2026-02-01"), training(2, "Kim Official")]
    run(app, "training", jsonl(tmp_path / "t.jsonl", records))
    macs = _records(app, "training")
    _erase_macs(app)
    replay = run(app, "training", jsonl(tmp_path / "t2.jsonl", records))
    assert (replay.accepted, replay.updated, replay.duplicates) == (0, 0, 2)
    assert _records(app, "training") == macs
    assert _updates_audited(app) == 0


def test_a_training_row_without_a_mac_whose_data_changed_is_still_an_audited_update(app, sources, tmp_path):
    run(app, "training", jsonl(tmp_path / "t.jsonl", [training(1, "Park Ji-hoon")]))
    _erase_macs(app)
    changed = run(app, "training", jsonl(tmp_path / "t2.jsonl", [training(1, "Park Ji-hoon", done="2026-02-01")]))
    assert (changed.updated, changed.duplicates) == (1, 0)
    assert _records(app, "training")["EDU-1"][1] is not None
    assert _updates_audited(app) == 1


def test_alert_rows_without_a_mac_are_upgraded_in_bulk_and_only_a_changed_one_is_updated(app, sources, tmp_path):
    run(app, "cheongbaek", jsonl(tmp_path / "a.jsonl", [alert(1), alert(2), alert(3)]))
    macs = _records(app, "cheongbaek")
    _erase_macs(app)
    summary = run(app, "cheongbaek", jsonl(tmp_path / "b.jsonl", [alert(1), alert(2, severity=5), alert(3), alert(1)]))
    assert (summary.accepted, summary.updated, summary.duplicates) == (0, 1, 3)
    after = _records(app, "cheongbaek")
    assert after["CB-1"] == macs["CB-1"] and after["CB-3"] == macs["CB-3"]
    assert after["CB-2"][1] not in (None, macs["CB-2"][1])
    assert _updates_audited(app) == 1
    again = run(app, "cheongbaek", jsonl(tmp_path / "c.jsonl", [alert(1), alert(2, severity=5), alert(3)]))
    assert (again.updated, again.duplicates) == (0, 3)


def test_the_review_dictionary_attack_recovers_no_official(app, sources, tmp_path: Path):
    run(app, "training", jsonl(tmp_path / "t.jsonl", [training(1, "Park Ji-hoon"), training(2, "Kim Official")]))
    directory = ["Lee Someone", "Kim Official", "Park Ji-hoon", "Choi Other"]
    with app.app_context():
        rows = get_session().execute(select(BridgeRecord.data_mac, BridgeRecord.department_code)).all()
    found = [
        who
        for stored, dep in rows
        for who in directory
        for mandatory in (True, False)
        if hashlib.sha256(
            batch.normalise(
                {
                    "completed_on": None,
                    "course": training(0, "x")["course"],
                    "department": dep,
                    "mandatory": mandatory,
                    "official": who,
                }
            )
        ).digest()
        == stored
    ]
    assert len(rows) == 2 and found == []


def test_a_record_replayed_after_its_case_was_purged_stays_a_duplicate(app, sources, tmp_path):
    """The purge empties the payload and the blind indexes but keeps the MAC: the replay changes nothing."""
    import datetime as dt

    from app.cases import retention
    from app.db import utcnow
    from app.models import Case
    from app.runtime import get_blobs

    run(app, "cheongbaek", jsonl(tmp_path / "a.jsonl", [alert(1)]))
    with app.app_context():
        db = get_session()
        record = db.scalars(select(BridgeRecord)).one()
        assert record.official_index is not None and record.payload_ct
        case = db.get(Case, record.case_id)
        case.status, case.closed_at = "closed", utcnow() - dt.timedelta(days=400)
        case.retention_until = dt.date(2020, 1, 1)
        db.commit()
        retention.purge_case(db, get_blobs(), db.get(Case, record.case_id), utcnow())
        db.commit()
    replay = run(app, "cheongbaek", jsonl(tmp_path / "b.jsonl", [alert(1)]))
    assert (replay.accepted, replay.updated, replay.duplicates) == (0, 0, 1)
    with app.app_context():
        db = get_session()
        record = db.scalars(select(BridgeRecord)).one()
        assert record.payload_ct == b"" and record.official_index is None and record.contract_index is None
        assert db.get(Case, record.case_id).status == "closed"
    assert _updates_audited(app) == 0
