"""The blob store: where encrypted files live (DESIGN.md section 8: instance/blobs by default).

Only ciphertext ever reaches it: writers are fed by crypto.stream. A blob is
written under a temporary name beside its final place and renamed when
complete, so a reader never sees half a file and a crash leaves only an
orphan ``.part`` file of ciphertext, which :meth:`LocalBlobStore.sweep` removes.

:class:`DatabaseBlobStore` (``HAECHI_BLOB_STORE=database``) keeps the same
ciphertext in the database for deployments of several machines without a
shared folder; an uncommitted blob row plays the part of the ``.part`` file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import io
import os
import secrets
import time
from pathlib import Path
from typing import IO, Protocol, cast

from flask import Flask, Response
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException

from app.models.blob_store import BlobChunk, BlobObject


class BlobStore(Protocol):
    """What the app needs of a blob store (local folder now; S3-compatible later)."""

    def new_key(self) -> str: ...
    def open_write(self, key: str) -> IO[bytes]: ...
    def commit(self, key: str) -> None: ...
    def discard(self, key: str) -> None: ...
    def open_read(self, key: str) -> IO[bytes]: ...
    def delete(self, key: str) -> None: ...


def check_key(key: str) -> str:
    """Refuse a key that is not 32 lowercase hex digits (keys come from the database and backups)."""
    if len(key) != 32 or not all(c in "0123456789abcdef" for c in key):
        # Refuse anything that could walk out of the folder.
        raise ValueError("malformed blob key")
    return key


class StoreFull(HTTPException):
    """The blob store's disk is full: nothing of the request was kept (507 Insufficient Storage).

    Raised from inside the upload's stream, so the request stops at once, its
    unfinished ``.part`` is discarded by the upload sink and no case row is
    written; the reporter sees a page saying so instead of a generic error.
    """

    code = 507
    description = "The server has no room to store this upload."


_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


class _PartFile(io.FileIO):
    """A ``.part`` file that reports a full disk as :class:`StoreFull` rather than a bare OSError."""

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            return super().write(data)
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                raise StoreFull() from exc
            raise


def init_blob_errors(app: Flask) -> None:
    """Show the reporter (or staff member) a clear page when the blob store is full."""
    from app.web.errors import render_error

    def handle(error: StoreFull) -> Response:
        return render_error("507.html", error)

    app.register_error_handler(StoreFull, handle)


def _midnight_utc() -> int:
    """The start of today (UTC) in seconds since the epoch: the only time the blob store's files may carry."""
    return int(time.time()) // 86400 * 86400


def _keep_the_day(*paths: Path) -> None:
    """Set the access and modification times of ``paths`` to midnight (see :meth:`LocalBlobStore.commit`)."""
    midnight = _midnight_utc()
    for path in paths:
        with contextlib.suppress(FileNotFoundError):  # a folder already gone keeps no time
            os.utime(path, (midnight, midnight))


# O_NOATIME is Linux only, and refused (EPERM) on a file the process does not own.
_O_NOATIME = getattr(os, "O_NOATIME", 0)


class LocalBlobStore:
    """Blobs as files in one folder, two levels of fan-out by key prefix.

    Threat: a file's or folder's times telling when a reporter uploaded or
    downloaded a file (DESIGN.md section 5 keeps reporter times to the day).
    Every change to the store sets the times of what it touched to midnight
    UTC, and blobs are read without updating their access time where the
    system allows it (``O_NOATIME``). Since that cannot be guaranteed (a file
    owned by another user, another operating system), deployments should
    mount the blob folder ``noatime``; a folder's access time is also updated
    when it is listed (by :meth:`sweep`), which only ``noatime`` prevents.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def new_key(self) -> str:
        """A random key: it names the blob and says nothing about its case or content."""
        return secrets.token_hex(16)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)[:2] / key

    def open_write(self, key: str) -> IO[bytes]:
        """A file to write the ciphertext of a new blob into (becomes visible on :meth:`commit`)."""
        path = self._path(key)
        try:
            path.parent.mkdir(mode=0o700)
        except FileExistsError:
            pass
        else:
            _keep_the_day(self.root)
        fd = os.open(path.with_suffix(".part"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        _keep_the_day(path.parent)
        return cast(IO[bytes], _PartFile(fd, "wb"))

    def commit(self, key: str) -> None:
        """Make a completely written blob visible under its key, its times kept to the day.

        Threat: a file's modification time would tell when a reporter uploaded
        it, to the microsecond (DESIGN.md section 5 keeps reporter times to
        the day). The blob and its folder are set to midnight UTC. The inode
        change time cannot be set from user space; on a local disk it still
        holds the exact time, which object storage does not expose.
        """
        path = self._path(key)
        part = path.with_suffix(".part")
        # A link, not a rename: it fails (FileExistsError) on an existing blob instead of
        # replacing it, so no write (a restore, a key collision) can overwrite a committed file.
        os.link(part, path)
        os.unlink(part)
        _keep_the_day(path, path.parent)

    def discard(self, key: str) -> None:
        """Forget a blob that was started but not committed (its folder keeps only the day)."""
        path = self._path(key)
        path.with_suffix(".part").unlink(missing_ok=True)
        _keep_the_day(path.parent)

    def open_read(self, key: str) -> IO[bytes]:
        """Open a committed blob's ciphertext without recording when it was read, where allowed."""
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | _O_NOATIME)
        except PermissionError:
            fd = os.open(path, os.O_RDONLY)  # not our file: the mount must be noatime
        return os.fdopen(fd, "rb")

    def delete(self, key: str) -> None:
        """Delete a committed blob (purge, or a submission that was rolled back); its folder keeps the day."""
        path = self._path(key)
        path.unlink(missing_ok=True)
        _keep_the_day(path.parent)

    def sweep(self, older_than_seconds: int = 3600) -> int:
        """Remove orphan ``.part`` files left by a crash; returns how many.

        Only parts older than ``older_than_seconds`` go, so an upload still
        streaming in another worker is left alone.
        """
        cutoff = time.time() - older_than_seconds
        count = 0
        for part in self.root.glob("*/*.part"):
            if part.stat().st_mtime < cutoff:
                part.unlink(missing_ok=True)
                _keep_the_day(part.parent)
                count += 1
        return count


CHUNK_BYTES = 256 * 1024


class DatabaseBlobStore:
    """Blobs as rows: ``blob_objects`` plus their ciphertext in ``blob_chunks`` of :data:`CHUNK_BYTES`.

    Every write and read runs in its own short transaction on the store's
    engine, never in the request's session: a chunk is durable when written,
    and a request that rolls back deletes its blobs explicitly, as with the
    folder store. Memory stays at one chunk whatever the size of the file.
    """

    def __init__(self, engine: Engine, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.engine = engine
        self.chunk_bytes = chunk_bytes

    def new_key(self) -> str:
        """A random key: it names the blob and says nothing about its case or content."""
        return secrets.token_hex(16)

    def open_write(self, key: str) -> IO[bytes]:
        """A writer for a new blob's ciphertext (becomes visible on :meth:`commit`)."""
        today = dt.datetime.now(dt.UTC).date()
        with self.engine.begin() as conn:
            conn.execute(insert(BlobObject).values(key=check_key(key), committed=False, started_on=today))
        return cast(IO[bytes], _ChunkWriter(self, key))

    def commit(self, key: str) -> None:
        """Make a completely written blob visible under its key."""
        with self.engine.begin() as conn:
            done = conn.execute(update(BlobObject).where(BlobObject.key == check_key(key)).values(committed=True))
        if done.rowcount != 1:
            raise FileNotFoundError(key)

    def discard(self, key: str) -> None:
        """Forget a blob that was started but not committed."""
        self._delete(key, committed=False)

    def open_read(self, key: str) -> IO[bytes]:
        """Open a committed blob's ciphertext; it is fetched one chunk at a time."""
        with self.engine.connect() as conn:
            found = conn.scalar(select(BlobObject.committed).where(BlobObject.key == check_key(key)))
        if not found:
            raise FileNotFoundError(key)
        return cast(IO[bytes], io.BufferedReader(_ChunkReader(self.engine, key), self.chunk_bytes))

    def delete(self, key: str) -> None:
        """Delete a committed blob (purge, or a submission that was rolled back)."""
        self._delete(key, committed=True)

    def _delete(self, key: str, committed: bool) -> None:
        with self.engine.begin() as conn:
            # Chunks first: SQLite enforces the cascade only when foreign keys are on.
            conn.execute(delete(BlobChunk).where(BlobChunk.blob_key == check_key(key)))
            conn.execute(delete(BlobObject).where(BlobObject.key == key, BlobObject.committed == committed))

    def sweep(self, older_than_seconds: int = 3600) -> int:
        """Remove uncommitted blobs left by a crash, started on a day wholly older than the age given.

        Only the day a blob was started is stored, so "older than" is read
        conservatively: a blob started on day D goes once D ended more than
        ``older_than_seconds`` ago, never an upload still streaming in.
        """
        cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than_seconds)).date()
        with self.engine.begin() as conn:
            keys = list(
                conn.scalars(
                    select(BlobObject.key).where(BlobObject.committed.is_(False), BlobObject.started_on < cutoff)
                )
            )
            for key in keys:
                conn.execute(delete(BlobChunk).where(BlobChunk.blob_key == key))
                conn.execute(delete(BlobObject).where(BlobObject.key == key))
        return len(keys)

    def count(self) -> int:
        """How many blobs (committed or not) the store holds (fault tests, monitoring)."""
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(BlobObject)) or 0)


class _ChunkWriter(io.RawIOBase):
    """Buffers one chunk of ciphertext and inserts it as a row when full (and on close)."""

    def __init__(self, store: DatabaseBlobStore, key: str) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._buf = bytearray()
        self._seq = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        self._buf += view
        size = self._store.chunk_bytes
        while len(self._buf) >= size:
            self._flush(bytes(self._buf[:size]))
            del self._buf[:size]
        return len(view)

    def _flush(self, piece: bytes) -> None:
        with self._store.engine.begin() as conn:
            conn.execute(insert(BlobChunk).values(blob_key=self._key, seq=self._seq, data=piece))
        self._seq += 1

    def close(self) -> None:
        if not self.closed and self._buf:
            piece, self._buf = bytes(self._buf), bytearray()
            self._flush(piece)
        super().close()


class _ChunkReader(io.RawIOBase):
    """Fetches a blob's chunks in order, one row per query."""

    def __init__(self, engine: Engine, key: str) -> None:
        super().__init__()
        self._engine = engine
        self._key = key
        self._seq = 0
        self._piece = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        out = memoryview(buffer).cast("B")
        if self._pos == len(self._piece):
            with self._engine.connect() as conn:
                piece = conn.scalar(
                    select(BlobChunk.data).where(BlobChunk.blob_key == self._key, BlobChunk.seq == self._seq)
                )
            if piece is None:
                return 0
            self._piece, self._pos = bytes(piece), 0
            self._seq += 1
        n = min(len(out), len(self._piece) - self._pos)
        out[:n] = self._piece[self._pos : self._pos + n]
        self._pos += n
        return n
