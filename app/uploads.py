"""Uploads encrypted as they stream in: no plaintext file, not even a temporary one.

Werkzeug normally spools each uploaded file to a temporary file on disk.
:class:`EncryptingRequest` replaces that stream factory: each file part is
written through crypto.stream into the blob store as it arrives. A view that
accepts files first calls :func:`expect_uploads` with a key; any other route
that receives a file refuses it (400), so no route can spool plaintext.

Threat: a reporter's document reaching the server's disk (swap aside) in
clear, where backups, forensics or a stolen disk would find it.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Request, abort, g, request
from werkzeug.datastructures import FileStorage

from app.blobs import BlobStore
from app.extensions import csrf
from app.runtime import get_settings
from crypto.fields import derive_subkey
from crypto.stream import EncryptingWriter

F = TypeVar("F", bound=Callable[..., Any])


MAX_FILENAME_CHARS = 200


def clean_filename(raw: str | None) -> str:
    """A file name safe to store and show: no folders, no control or invisible characters.

    Old browsers send the full Windows path (which names the user); a name
    with a line break would break the download header.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co"})
    name = name.strip().strip(".") or "file"
    if len(name) > MAX_FILENAME_CHARS:
        _stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        name = name[: MAX_FILENAME_CHARS - len(keep) - 1].rstrip() + ("." + keep if keep else "")
    return name


def content_disposition(name: str) -> str:
    """An attachment header for ``name``: a plain ASCII fallback and the exact UTF-8 name."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in name) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_stream_aad(blob_key: str) -> bytes:
    """Associated data of a file's stream: binds the ciphertext to its blob."""
    return b"haechi/file/v1:" + blob_key.encode()


def file_stream_key(case_key: bytes, blob_key: str) -> bytes:
    """The key a file is encrypted under: derived from its case key, per blob."""
    return derive_subkey(case_key, f"file:{blob_key}")


class EncryptedUpload:
    """The file-like object Werkzeug writes one uploaded file into.

    ``seek(0)`` is Werkzeug's signal that the part is complete: the stream is
    sealed then. A part that never completes (client gone, size limit) is
    never sealed and its blob is discarded.
    """

    def __init__(self, store: BlobStore, case_key: bytes) -> None:
        self.store = store
        self.blob_key = store.new_key()
        self._file = store.open_write(self.blob_key)
        self._writer = EncryptingWriter(
            file_stream_key(case_key, self.blob_key), self._file, file_stream_aad(self.blob_key)
        )
        self.size = 0
        self.complete = False

    def write(self, data: bytes) -> int:
        n = self._writer.write(data)
        self.size += n
        return n

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if offset == 0 and whence == os.SEEK_SET and not self.complete:
            self._writer.finish()
            self._file.close()
            self.complete = True
        return 0

    def read(self, *_args: Any) -> bytes:
        raise OSError("an encrypted upload cannot be read back as plaintext")

    def abandon(self) -> None:
        """Drop this upload: its ciphertext (complete or not) is deleted."""
        self._writer.close()
        if not self._file.closed:
            self._file.close()
        self.store.discard(self.blob_key)  # never claimed, so still a .part file


class DiscardedPart:
    """Where the part of a file field left empty goes: nowhere, and no blob is opened for it.

    Every browser sends such a part (``filename=""``, no content) when the
    file field is left empty. Opening a blob for it, even one discarded at
    once, would touch the blob store's folders at the exact time of the
    submission. A part without a file name is never kept (:func:`files_from`
    skips it), so whatever it carries is dropped here.
    """

    def write(self, data: bytes) -> int:
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return 0

    def read(self, *_args: Any) -> bytes:
        return b""


@dataclass
class UploadSink:
    """Where a request's files go, and the key they are encrypted under."""

    store: BlobStore
    case_key: bytes
    started: list[EncryptedUpload] = field(default_factory=list)
    claimed: set[str] = field(default_factory=set)

    def open(self) -> EncryptedUpload:
        upload = EncryptedUpload(self.store, self.case_key)
        self.started.append(upload)
        return upload

    def claim(self, storage: FileStorage) -> EncryptedUpload | None:
        """Keep one uploaded file (commits its blob); None for an empty file field."""
        upload = storage.stream
        if not isinstance(upload, EncryptedUpload) or not upload.complete:
            return None
        if upload.size == 0 and not storage.filename:
            return None  # the browser sends an empty part for a file field left empty
        self.store.commit(upload.blob_key)
        self.claimed.add(upload.blob_key)
        return upload

    def release(self) -> None:
        """After the request: delete every upload that was not claimed."""
        for upload in self.started:
            if upload.blob_key not in self.claimed:
                upload.abandon()
        self.started.clear()

    def forget_claimed(self) -> None:
        """The transaction that referenced the claimed blobs failed: delete them too."""
        for key in self.claimed:
            self.store.delete(key)
        self.started = [u for u in self.started if u.blob_key not in self.claimed]
        self.claimed.clear()


def accepts_uploads(view: F) -> F:
    """Mark a view that receives files.

    Flask-WTF's global CSRF check would parse the body (and so the files)
    before the view could say where encrypted files go; such views are
    exempt from that early check and make it themselves in
    :func:`expect_uploads`, once the encrypting sink is in place.
    """
    csrf.exempt(view)
    view._accepts_uploads = True  # type: ignore[attr-defined]
    return view


def expect_uploads(sink: UploadSink) -> None:
    """Let this request receive files, encrypted into ``sink``, then check its CSRF token.

    Call it before anything touches ``request.form`` or ``request.files``.
    """
    if request.mimetype != "multipart/form-data":
        abort(400)  # an upload route takes multipart bodies only (nothing else is read whole into memory)
    # The small default body limit (settings.max_form_bytes) is raised for this request only.
    request.max_content_length = get_settings().max_upload_bytes
    g.upload_sink = sink
    csrf.protect()


def files_from(field_name: str) -> list[FileStorage]:
    """The files of one form field; a file sent under any other field name is refused (400)."""
    if any(name != field_name for name in request.files):
        abort(400)
    return [s for s in request.files.getlist(field_name) if s.filename]


class EncryptingRequest(Request):
    """Flask's request with Werkzeug's temporary-file spooling replaced by encryption."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> Any:
        sink: UploadSink | None = g.get("upload_sink")
        if sink is None:
            abort(400)
        if not filename:
            return DiscardedPart()
        return sink.open()


def release_uploads(_exc: BaseException | None = None) -> None:
    """Teardown: whatever a request uploaded and did not keep is deleted."""
    sink: UploadSink | None = g.pop("upload_sink", None)
    if sink is not None:
        sink.release()
