"""Whatever the folder blob store does, its files and folders carry no time finer than the day.

A folder's modification time changes whenever a file is created or removed
in it, and a file's access time whenever it is read: left alone, they would
tell when a reporter uploaded, gave up an upload or downloaded a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app import blobs
from app.blobs import LocalBlobStore


def _finer_than_the_day(*paths: Path, folder_atime: bool = True) -> list[str]:
    """The paths whose access or modification time is not a midnight.

    Named one by one: listing a folder to find them would itself update the
    folder's access time (which only :meth:`LocalBlobStore.sweep` does).
    """
    found = []
    for p in paths:
        st = p.stat()
        times = [st.st_mtime] + ([st.st_atime] if folder_atime or not p.is_dir() else [])
        if any(t % 86400 for t in times):
            found.append(f"{p.name} atime={st.st_atime} mtime={st.st_mtime}")
    return found


def _written(store: LocalBlobStore) -> str:
    key = store.new_key()
    with store.open_write(key) as fh:
        fh.write(b"ciphertext")
    return key


def _folders(store: LocalBlobStore, key: str) -> tuple[Path, Path]:
    return store.root, store.root / key[:2]


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def test_a_blob_being_written_leaves_its_folders_at_the_day(store):
    key = store.new_key()
    with store.open_write(key) as fh:
        assert _finer_than_the_day(*_folders(store, key)) == []
        fh.write(b"ciphertext")
    assert (store.root / key[:2] / f"{key}.part").exists()


def test_a_discarded_blob_leaves_no_time_finer_than_the_day(store):
    key = _written(store)
    store.discard(key)
    assert not (store.root / key[:2] / f"{key}.part").exists()
    assert _finer_than_the_day(*_folders(store, key)) == []


def test_a_committed_then_deleted_blob_leaves_no_time_finer_than_the_day(store):
    key = _written(store)
    store.commit(key)
    assert _finer_than_the_day(*_folders(store, key), store.root / key[:2] / key) == []
    store.delete(key)
    assert not (store.root / key[:2] / key).exists()
    assert _finer_than_the_day(*_folders(store, key)) == []


def test_a_swept_part_leaves_no_modification_time_finer_than_the_day(store):
    key = _written(store)
    assert store.sweep(older_than_seconds=-60) == 1
    assert not (store.root / key[:2] / f"{key}.part").exists()
    # Sweeping lists the folders, which updates their access time unless the mount is noatime.
    assert _finer_than_the_day(*_folders(store, key), folder_atime=False) == []


def test_reading_a_committed_blob_leaves_its_access_time_at_the_day(store):
    key = _written(store)
    store.commit(key)
    with store.open_read(key) as fh:
        assert fh.read() == b"ciphertext"
    assert _finer_than_the_day(store.root / key[:2] / key) == []


@pytest.mark.skipif(not getattr(os, "O_NOATIME", 0), reason="O_NOATIME is Linux only")
def test_a_blob_another_user_owns_is_still_read_when_o_noatime_is_refused(store, monkeypatch):
    key = _written(store)
    store.commit(key)
    real_open = os.open

    def refuse_noatime(path, flags, *args):
        if flags & os.O_NOATIME:
            raise PermissionError(1, "Operation not permitted")  # what Linux says to a non-owner
        return real_open(path, flags, *args)

    monkeypatch.setattr(blobs.os, "open", refuse_noatime)
    with store.open_read(key) as fh:
        assert fh.read() == b"ciphertext"
