"""The blob store holds only ciphertext under random keys; uploads are sealed only when complete."""

import io
import re

import pytest
from werkzeug.datastructures import FileStorage

from app.blobs import LocalBlobStore
from app.uploads import EncryptedUpload, UploadSink, file_stream_aad, file_stream_key
from crypto.errors import DecryptionError
from crypto.stream import decrypt_stream

KEY = b"k" * 32


@pytest.mark.parametrize("key", ["../../etc/passwd", "a" * 31, "A" * 32, "0" * 31 + "/", ""])
def test_malformed_blob_keys_are_refused(tmp_path, key):
    store = LocalBlobStore(tmp_path)
    with pytest.raises(ValueError):
        store.open_read(key)


def test_an_upload_is_readable_only_after_seek_zero_seals_it(tmp_path):
    store = LocalBlobStore(tmp_path)
    sink = UploadSink(store, KEY)
    upload = sink.open()
    upload.write(b"evidence " * 1000)
    upload.seek(0)
    assert sink.claim(FileStorage(stream=upload, filename="e.txt")) is upload
    out = io.BytesIO()
    with store.open_read(upload.blob_key) as fh:
        decrypt_stream(file_stream_key(KEY, upload.blob_key), fh, out, file_stream_aad(upload.blob_key))
    assert out.getvalue() == b"evidence " * 1000
    with store.open_read(upload.blob_key) as fh:
        assert b"evidence" not in fh.read()


def test_an_upload_cut_off_midway_leaves_nothing(tmp_path):
    store = LocalBlobStore(tmp_path)
    sink = UploadSink(store, KEY)
    upload = sink.open()
    upload.write(b"half a file")
    sink.release()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_unclaimed_uploads_are_deleted_and_an_empty_file_field_is_not_kept(tmp_path):
    store = LocalBlobStore(tmp_path)
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
    files = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [kept.blob_key]


def test_an_upload_cannot_be_read_back_as_plaintext(tmp_path):
    upload = EncryptedUpload(LocalBlobStore(tmp_path), KEY)
    try:
        with pytest.raises(OSError):
            upload.read()
    finally:
        upload.abandon()


def test_a_file_moved_to_another_blob_key_does_not_decrypt(tmp_path):
    store = LocalBlobStore(tmp_path)
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
