"""The backup file: a passphrase-wrapped random key and one encrypted record stream.

File format (version 1)::

    header = 0x01 | len (u16 big-endian) | wrapped backup key (crypto.passwords v1, len bytes)
    body   = crypto.stream v1 under the backup key, aad = "haechi/backup/v1:" | header

The backup key is 32 random bytes wrapped under the passphrase with Argon2id
(the parameters travel in the wrapped key, as for staff keys). The header is
the stream's associated data, so swapping the wrapped key of one backup onto
another's body breaks every chunk. Inside the stream, records follow each
other as ``tag (1 byte) | length (u32 big-endian) | payload``; see
``app/backup/README.md`` for the tags.

Threat: a backup is the whole office in one file. Everything in it is either
already ciphertext (case content, blobs) or becomes ciphertext before it is
written (instance secrets, metadata): the plaintext records exist only in
memory, never in a temporary file.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path
from typing import IO

from app.backup.errors import DamagedBackup, WrongPassphrase
from crypto import passwords
from crypto.errors import CryptoError
from crypto.kdf import Argon2Params
from crypto.stream import DecryptingReader, EncryptingWriter

VERSION = 0x01
KEY_BYTES = 32
_RECORD = struct.Struct(">cI")
MAX_RECORD_BYTES = 64 * 1024 * 1024  # a row or blob piece is far smaller; bounds a damaged length


def _aad(header: bytes) -> bytes:
    return b"haechi/backup/v1:" + header


class ArchiveWriter:
    """Writes records into a new backup file, encrypted as they are written.

    The file is created as ``OUT.part`` (mode 0600, never overwriting) and
    renamed to ``OUT`` only after the stream is sealed, so an interrupted
    backup never looks like a complete one.
    """

    def __init__(self, path: Path, passphrase: str, params: Argon2Params) -> None:
        self.path = path
        self._part = path.with_name(path.name + ".part")
        if path.exists():
            raise FileExistsError(f"{path} exists; a backup never overwrites a file")
        key = os.urandom(KEY_BYTES)
        wrapped = passwords.wrap(passphrase, key, params)
        header = bytes([VERSION]) + struct.pack(">H", len(wrapped)) + wrapped
        fd = os.open(self._part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._file.write(header)
        self._stream = EncryptingWriter(key, self._file, _aad(header))

    def record(self, tag: bytes, payload: bytes | memoryview) -> None:
        """Append one record."""
        self._stream.write(_RECORD.pack(tag, len(payload)))
        self._stream.write(payload)

    def finish(self) -> None:
        """Seal the stream, flush it to disk and give the file its final name."""
        self._stream.finish()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._part, self.path)

    def abort(self) -> None:
        """Drop an unfinished backup (its ciphertext is never sealed and is deleted)."""
        self._stream.close()
        self._file.close()
        self._part.unlink(missing_ok=True)


class ArchiveReader:
    """Reads the records of a backup file, decrypting and authenticating as it goes."""

    def __init__(self, source: IO[bytes], passphrase: str) -> None:
        first = source.read(3)
        if len(first) < 3 or first[0] != VERSION:
            raise DamagedBackup("not a Haechi backup (or an unknown version)")
        (length,) = struct.unpack(">H", first[1:3])
        wrapped = source.read(length)
        if len(wrapped) != length:
            raise DamagedBackup("the backup is truncated")
        try:
            key = passwords.unwrap(passphrase, wrapped)
        except CryptoError:
            raise WrongPassphrase("wrong passphrase (or the backup's header was changed)") from None
        try:
            self._stream = io.BufferedReader(DecryptingReader(key, source, _aad(first + wrapped)), 64 * 1024)
        except CryptoError:
            raise DamagedBackup("the backup is damaged or was changed") from None

    def _read(self, n: int) -> bytes:
        try:
            data = self._stream.read(n)
        except CryptoError:
            raise DamagedBackup("the backup is damaged or was changed") from None
        if len(data) != n:
            raise DamagedBackup("the backup is truncated")
        return data

    def next(self) -> tuple[bytes, bytes]:
        """The next record's tag and payload."""
        tag, length = _RECORD.unpack(self._read(_RECORD.size))
        if length > MAX_RECORD_BYTES:
            raise DamagedBackup("the backup is damaged or was changed")
        return tag, self._read(length)

    def expect_end(self) -> None:
        """Read to the authenticated end of the stream: nothing may follow the end record."""
        try:
            extra = self._stream.read(1)
        except CryptoError:
            raise DamagedBackup("the backup is damaged or was changed") from None
        if extra:
            raise DamagedBackup("the backup is damaged or was changed")
