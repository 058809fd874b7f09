"""The blob store holds only ciphertext under random keys; uploads are sealed only when complete."""

import io
import re

import pytest
from werkzeug.datastructures import FileStorage

from app.blobs import DatabaseBlobStore, LocalBlobStore
from app.uploads import EncryptedUpload, UploadSink, file_stream_aad, file_stream_key
from crypto.errors import DecryptionError
from crypto.stream import decrypt_stream

KEY = b"k" * 32


@pytest.fixture(params=["local", "database"])
def store(request, tmp_path):
    """Each blob store in turn: the folder store and the database store (migrated SQLite or PG schema)."""
    if request.param == "local":
        yield LocalBlobStore(tmp_path)
        return
    from app.db import make_engine

    engine = make_engine(request.getfixturevalue("database_url"))
    yield DatabaseBlobStore(engine, chunk_bytes=1000)  # small chunks: every test spans several rows
    engine.dispose()


def everything_stored(store) -> list[str]:
    """Every blob the store holds, committed or not (folder: every file; database: every row)."""
    if isinstance(store, LocalBlobStore):
        return sorted(p.name for p in store.root.rglob("*") if p.is_file())
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        objects = [
            f"{k}{'' if c else '.part'}" for k, c in conn.execute(sa.text("SELECT key, committed FROM blob_objects"))
        ]
        chunks = conn.scalar(
            sa.text("SELECT count(*) FROM blob_chunks WHERE blob_key NOT IN (SELECT key FROM blob_objects)")
        )
    assert chunks == 0  # no chunk outlives its blob
    return sorted(objects)


def raw_ciphertext(store, key: str) -> bytes:
    with store.open_read(key) as fh:
        return fh.read()


@pytest.mark.parametrize("key", ["../../etc/passwd", "a" * 31, "A" * 32, "0" * 31 + "/", ""])
def test_malformed_blob_keys_are_refused(store, key):
    with pytest.raises(ValueError):
        store.open_read(key)
    with pytest.raises(ValueError):
        store.open_write(key)


def test_an_upload_is_readable_only_after_seek_zero_seals_it(store):
    sink = UploadSink(store, KEY)
    upload = sink.open()
    upload.write(b"evidence " * 1000)
    upload.seek(0)
    assert sink.claim(FileStorage(stream=upload, filename="e.txt")) is upload
    out = io.BytesIO()
    with store.open_read(upload.blob_key) as fh:
        decrypt_stream(file_stream_key(KEY, upload.blob_key), fh, out, file_stream_aad(upload.blob_key))
    assert out.getvalue() == b"evidence " * 1000
    assert b"evidence" not in raw_ciphertext(store, upload.blob_key)


def test_a_blob_is_invisible_to_readers_until_committed(store):
    key = store.new_key()
    with store.open_write(key) as fh:
        fh.write(b"c" * 5000)
    with pytest.raises(FileNotFoundError):
        store.open_read(key)
    store.commit(key)
    assert raw_ciphertext(store, key) == b"c" * 5000
    store.delete(key)
    assert everything_stored(store) == []


def test_an_upload_cut_off_midway_leaves_nothing(store):
    sink = UploadSink(store, KEY)
    upload = sink.open()
    upload.write(b"half a file" * 1000)
    sink.release()
    assert everything_stored(store) == []


def test_unclaimed_uploads_are_deleted_and_an_empty_file_field_is_not_kept(store):
    sink = UploadSink(store, KEY)
    empty = sink.open()
    empty.seek(0)
    assert sink.claim(FileStorage(stream=empty, filename="")) is None
    kept = sink.open()
    kept.write(b"x")
    kept.seek(0)
    sink.claim(FileStorage(stream=kept, filename="x.txt"))
    dropped = sink.open()
    dropped.write(b"y")
    dropped.seek(0)
    sink.release()
    assert everything_stored(store) == [kept.blob_key]


def test_an_upload_cannot_be_read_back_as_plaintext(store):
    upload = EncryptedUpload(store, KEY)
    try:
        with pytest.raises(OSError):
            upload.read()
    finally:
        upload.abandon()


def test_a_file_moved_to_another_blob_key_does_not_decrypt(store):
    sink = UploadSink(store, KEY)
    a = sink.open()
    a.write(b"secret")
    a.seek(0)
    sink.claim(FileStorage(stream=a, filename="a"))
    other = store.new_key()
    with store.open_read(a.blob_key) as fh, pytest.raises(DecryptionError):
        decrypt_stream(file_stream_key(KEY, other), fh, io.BytesIO(), file_stream_aad(other))


def test_sweep_removes_old_parts_left_by_a_crash_but_not_uploads_in_flight(tmp_path):
    import os

    store = LocalBlobStore(tmp_path)
    old, fresh = store.new_key(), store.new_key()
    store.open_write(old).close()
    store.open_write(fresh).close()
    old_part = tmp_path / old[:2] / f"{old}.part"
    os.utime(old_part, (1, 1))
    assert store.sweep(older_than_seconds=3600) == 1
    assert not old_part.exists() and (tmp_path / fresh[:2] / f"{fresh}.part").exists()


def test_flask_blobs_sweep(app):
    r = app.test_cli_runner().invoke(args=["blobs", "sweep", "--older-than-hours", "0"])
    assert r.exit_code == 0 and "unfinished upload(s) removed" in r.output


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\kim.minsoo\\Desktop\\장부.xlsx", "장부.xlsx"),
        ("/home/kim/evidence.pdf", "evidence.pdf"),
        ("a\r\nX-Injected: 1.txt", "aX-Injected: 1.txt"),
        ("\u202egnp.exe", "gnp.exe"),  # right-to-left override stripped
        ("", "file"),
        ("..", "file"),
        (None, "file"),
        ("한글\u1100\u1161.txt", "한글가.txt"),  # normalised to NFC
    ],
)
def test_file_names_are_cleaned_before_they_are_stored(raw, clean):
    from app.uploads import clean_filename

    assert clean_filename(raw) == clean


def test_long_file_names_keep_their_extension():
    from app.uploads import MAX_FILENAME_CHARS, clean_filename

    name = clean_filename("x" * 500 + ".pdf")
    assert len(name) <= MAX_FILENAME_CHARS and name.endswith(".pdf")


@pytest.mark.parametrize("name", ['a"b.txt', "back\\slash.txt", "semi;colon.txt", "증거 자료.pdf", "a/b.txt"])
def test_the_download_header_is_well_formed_for_any_name(name):
    from urllib.parse import unquote

    from werkzeug.http import parse_options_header

    from app.uploads import content_disposition

    header = content_disposition(name)
    assert "\n" not in header and "\r" not in header
    kind, params = parse_options_header(header)
    assert kind == "attachment" and params["filename"] == name  # what browsers read
    assert unquote(header.split("filename*=UTF-8''")[1]) == name
    fallback = re.search(r'filename="([^"]*)"', header).group(1)
    assert all(32 <= ord(c) < 127 and c not in '"\\' for c in fallback)


def test_a_committed_blob_and_its_folder_keep_only_the_day(tmp_path):
    store = LocalBlobStore(tmp_path)
    key = store.new_key()
    with store.open_write(key) as fh:
        fh.write(b"ciphertext")
    store.commit(key)
    path = tmp_path / key[:2] / key
    for p in (path, path.parent):
        st = p.stat()
        assert st.st_mtime % 86400 == 0 and st.st_atime % 86400 == 0


def test_the_database_store_holds_only_ciphertext_and_streams_in_chunks(database_url):
    import sqlalchemy as sa

    from app.db import make_engine

    engine = make_engine(database_url)
    try:
        store = DatabaseBlobStore(engine, chunk_bytes=4096)
        sink = UploadSink(store, KEY)
        upload = sink.open()
        plaintext = b"CANARY-evidence-" * 10_000
        upload.write(plaintext)
        upload.seek(0)
        sink.claim(FileStorage(stream=upload, filename="e.txt"))
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT data FROM blob_chunks ORDER BY seq")).scalars().all()
        assert len(rows) > 1 and all(len(r) <= 4096 for r in rows)
        assert b"CANARY" not in b"".join(bytes(r) for r in rows)
        out = io.BytesIO()
        with store.open_read(upload.blob_key) as fh:
            decrypt_stream(file_stream_key(KEY, upload.blob_key), fh, out, file_stream_aad(upload.blob_key))
        assert out.getvalue() == plaintext
    finally:
        engine.dispose()


def test_database_sweep_removes_parts_of_earlier_days_but_not_uploads_in_flight(database_url):
    import datetime as dt

    import sqlalchemy as sa

    from app.db import make_engine

    engine = make_engine(database_url)
    try:
        store = DatabaseBlobStore(engine)
        old, fresh, done = store.new_key(), store.new_key(), store.new_key()
        for key in (old, fresh, done):
            with store.open_write(key) as fh:
                fh.write(b"x" * 10)
        store.commit(done)
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE blob_objects SET started_on = :d WHERE key IN (:a, :b)"),
                {"d": dt.date.today() - dt.timedelta(days=3), "a": old, "b": done},
            )
        assert store.sweep(older_than_seconds=3600) == 1
        assert everything_stored(store) == sorted([f"{fresh}.part", done])
    finally:
        engine.dispose()
