"""Pieces of the bulk import path: payload cipher, blind indexes of subjects, normalisation, fast inserts."""

from __future__ import annotations

import json
import os

import pytest

from app.models.bridge import BridgeRecord
from crypto.errors import CryptoError
from monitoring_bridge import batch, keyring, subjects
from monitoring_bridge.adapters.cheongbaek import CheongbaekAdapter
from monitoring_bridge.errors import RecordError
from monitoring_bridge.payload import PayloadCipher

KEY = os.urandom(32)


def test_a_payload_opens_only_for_its_record_and_source():
    blob = PayloadCipher(KEY, 1).encrypt("CB-1", b'{"official":"Kim"}')
    assert b"Kim" not in blob
    assert PayloadCipher(KEY, 1).decrypt("CB-1", blob) == b'{"official":"Kim"}'
    with pytest.raises(CryptoError):
        PayloadCipher(KEY, 1).decrypt("CB-2", blob)  # moved to another record
    with pytest.raises(CryptoError):
        PayloadCipher(KEY, 2).decrypt("CB-1", blob)  # or another source
    with pytest.raises(CryptoError):
        PayloadCipher(os.urandom(32), 1).decrypt("CB-1", blob)


def test_payloads_written_before_format_2_still_open():
    old = keyring.encrypt_payload(KEY, 3, "CB-9", b"payload")
    assert PayloadCipher(KEY, 3).decrypt("CB-9", old) == b"payload"


def test_normalised_data_is_sorted_compact_utf8():
    assert batch.normalise({"b": "공", "a": 1}) == '{"a":1,"b":"공"}'.encode()


@pytest.mark.parametrize(
    ("a", "b"),
    [("Park Ji-hoon", "  park   JI-HOON "), ("김민준", "김민준\u3000"), ("\uff2b\uff29\uff2d", "kim")],
)
def test_an_officials_index_ignores_case_spacing_and_width(a, b):
    assert subjects.official_index(KEY, a) == subjects.official_index(KEY, b)


def test_a_contract_index_ignores_dashes_spaces_and_width_and_differs_from_an_officials():
    full_width = "\uff12\uff10\uff12\uff16 계약 \uff10\uff10\uff11\uff12"  # "2026 계약 0012"
    assert subjects.contract_index(KEY, "2026-계약-0012") == subjects.contract_index(KEY, full_width)
    assert subjects.contract_index(KEY, "C-77") != subjects.official_index(KEY, "C-77")
    assert subjects.contract_index(KEY, "C-77") != subjects.contract_index(os.urandom(32), "C-77")


def test_the_official_index_is_the_one_training_records_were_always_matched_by():
    # Training records stored before the subjects module keep matching (same purpose, same normalisation).
    assert subjects.official_index(KEY, " Kim  Official ") == keyring.mac(KEY, "training.official", "kim official")


@pytest.mark.parametrize("value", ["", "  ", "- -"])
def test_nothing_to_index_is_refused(value):
    with pytest.raises(subjects.SubjectError):
        subjects.contract_index(KEY, value)


ALERT = {
    "alert_id": "CB-1",
    "scenario_id": "EH-017",
    "scenario_name": "Late-night card use",
    "system": "e_hojo",
    "department": "FIN",
    "official": "Kim",
    "amount": 1000,
    "record_ref": "V-1",
    "raised_at": "2026-03-02T09:00:00+09:00",
    "severity": 3,
}


def test_an_alert_without_a_contract_keeps_the_data_it_always_had():
    rec = CheongbaekAdapter().parse(ALERT)
    assert "contract" not in rec.data  # so its digest, and a replay's, are unchanged
    assert CheongbaekAdapter().parse({**ALERT, "contract": " C-77 "}).data["contract"] == "C-77"


def test_a_contract_with_nothing_to_match_is_the_records_fault():
    with pytest.raises(RecordError) as err:
        CheongbaekAdapter().parse({**ALERT, "contract": "--"})
    assert err.value.field == "contract"


def test_fast_insert_columns_must_follow_the_table_order():
    with pytest.raises(AssertionError):
        batch.FastInsert(BridgeRecord, ("external_id", "source_id"))
    assert batch.FastInsert(BridgeRecord, ("source_id", "external_id")).columns == ("source_id", "external_id")


def test_the_entry_body_is_the_alert_as_sorted_json():
    rec = CheongbaekAdapter().parse(ALERT)
    normalised = batch.normalise(rec.data)
    body = b'{"alert_id":' + json.dumps(rec.external_id).encode() + b"," + normalised[1:]
    assert json.loads(body) == {"alert_id": "CB-1", **rec.data}
    assert body == json.dumps({"alert_id": "CB-1", **rec.data}, sort_keys=True, separators=(",", ":")).encode()


def test_fast_insert_stores_bytes_like_values_as_blobs_and_refuses_text(db_session):
    """LargeBinary values go to the driver without SQLAlchemy's Binary() wrapper, but still only bytes-like ones."""
    import datetime as dt

    from sqlalchemy import select

    from app.models.staff import RecoveryKey

    keys = [os.urandom(32) for _ in range(3)]
    now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    insert = batch.FastInsert(RecoveryKey, ("public_key", "active", "created_at"))
    insert.run(db_session, [[keys[0], True, now], [bytearray(keys[1]), True, now], [memoryview(keys[2]), False, now]])
    stored = db_session.execute(select(RecoveryKey.public_key).order_by(RecoveryKey.id)).scalars().all()
    assert [bytes(k) for k in stored] == keys
    assert all(isinstance(k, bytes) for k in stored)
    with pytest.raises(TypeError, match="public_key: a bytes-like value is required, not str"):
        insert.run(db_session, [["ab" * 16, True, now]])


@pytest.mark.parametrize(
    "data",
    [
        {"b": "공", "a": [1, 2.5, None, True], "c": {"z": "\u2028\u2029", "y": '\x00\x1f"\\/'}},
        {"amount": 10**30, "official": "Kim  Min-su", "raised_at": "2026-03-01T00:00:00+00:00"},
        {},
    ],
)
def test_normalised_bytes_are_exactly_what_json_dumps_gave(data):
    """Record MACs are computed over these bytes: the prebuilt encoder must not change one."""
    expected = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    assert batch.normalise(data) == expected


def pragmas(db) -> tuple[int, int]:
    conn = db.connection()
    return (
        conn.exec_driver_sql("PRAGMA cache_size").scalar_one(),
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one(),
    )


def test_bulk_settings_enlarge_the_cache_and_space_checkpoints_then_restore_them(db_session):
    if db_session.get_bind().dialect.name != "sqlite":
        with batch.sqlite_bulk_settings(db_session):  # nothing to tune elsewhere, and nothing fails
            return
    before = pragmas(db_session)
    with batch.sqlite_bulk_settings(db_session):
        assert pragmas(db_session) == (-batch.BULK_CACHE_KIB, batch.BULK_WAL_PAGES)
    assert pragmas(db_session) == before
    with pytest.raises(RuntimeError), batch.sqlite_bulk_settings(db_session):
        raise RuntimeError("an import that fails half-way")
    assert pragmas(db_session) == before


@pytest.mark.parametrize("count", [1, 99, 100, 101, 250])
def test_fast_insert_stores_every_row_in_order_across_statement_boundaries(db_session, count):
    """On SQLite rows go in multi-row statements of a hundred: none lost or doubled at the edges."""
    import datetime as dt

    from sqlalchemy import select

    from app.models.staff import RecoveryKey

    keys = [os.urandom(32) for _ in range(count)]
    now = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    batch.FastInsert(RecoveryKey, ("public_key", "active", "created_at")).run(
        db_session, [[key, i % 2 == 0, now] for i, key in enumerate(keys)]
    )
    stored = db_session.execute(
        select(RecoveryKey.public_key, RecoveryKey.active, RecoveryKey.created_at).order_by(RecoveryKey.id)
    ).all()
    assert [bytes(k) for k, _, _ in stored] == keys
    assert [a for _, a, _ in stored] == [i % 2 == 0 for i in range(count)]
    assert {c.replace(tzinfo=dt.UTC) if c.tzinfo is None else c for _, _, c in stored} == {now}
