"""Streaming file encryption: chunked AES-256-GCM in the STREAM construction.

Files are encrypted while they arrive, so plaintext never reaches the disk
(not even a temporary file), and memory stays at about two chunks whatever
the size of the file.

Format (version 1)::

    header  = 0x01 | chunk_size (u32 big-endian) | salt (32 random bytes)
    body    = chunk_0 | chunk_1 | … | chunk_n       (each: ciphertext | tag 16)

    stream key = HKDF-SHA256(key, salt=salt,
                             info = len‖"haechi/stream/v1" | len‖chunk_size | len‖aad)
    nonce_i    = i as 11 bytes big-endian | last flag (0x01 on the final chunk, else 0x00)

Every chunk but the last carries exactly ``chunk_size`` bytes of plaintext;
the last carries 1..chunk_size bytes (0 only for an empty stream, where it is
the only chunk). The reader knows a chunk is the last only by reaching the
end of the input, and the tag checks that the writer agreed. Hence:

* truncation at a chunk boundary: the new final chunk was sealed with flag 0;
* dropping or swapping chunks: their index is in the nonce;
* appending: the former last chunk was sealed with flag 1;
* a changed header or ``aad``: a different stream key, so every chunk fails.

Threat accepted by design: a streaming reader hands out plaintext of early
chunks before it has seen the end. A caller that must not act on a
truncated file reads to the end (the final chunk raises) before acting.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from typing import IO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto._format import check_version, length_prefixed
from crypto.errors import CryptoError, DecryptionError

VERSION = 0x01
DEFAULT_CHUNK_SIZE = 64 * 1024
MIN_CHUNK_SIZE = 16
MAX_CHUNK_SIZE = 16 * 1024 * 1024
SALT_BYTES = 32
TAG_BYTES = 16
HEADER_BYTES = 1 + 4 + SALT_BYTES
_MAX_CHUNKS = 2**40  # far below the 2**88 the 11-byte counter allows


class Writable(Protocol):
    """What a stream sink must offer: ``write`` of bytes-like objects."""

    def write(self, data: bytes | bytearray | memoryview, /) -> int | None: ...


def _stream_key(key: bytes, salt: bytes, chunk_size: int, aad: bytes) -> AESGCM:
    if len(key) != 32:
        raise CryptoError("a stream key is 32 bytes")
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=salt,
        info=length_prefixed(b"haechi/stream/v1", struct.pack(">I", chunk_size), aad),
    ).derive(key)
    return AESGCM(derived)


def _nonce(index: int, last: bool) -> bytes:
    if index >= _MAX_CHUNKS:
        raise CryptoError("stream too long")
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def ciphertext_length(plaintext_length: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """Exact size of the encrypted form of ``plaintext_length`` bytes (for quotas)."""
    chunks = max(1, -(-plaintext_length // chunk_size))
    return HEADER_BYTES + plaintext_length + chunks * TAG_BYTES


class EncryptingWriter(io.RawIOBase):
    """A write-only file object that encrypts into ``sink`` as data arrives.

    Only :meth:`finish` seals the final chunk. ``close()`` without it (an
    exception leaving a ``with`` block, garbage collection of a writer whose
    upload broke off) *aborts*: the output stays an unfinished stream that no
    reader accepts. Threat: an attacker who resets the connection mid-upload
    must not get a shorter file stored as if it were whole.
    The sink is not closed.
    """

    _finished = True  # until _init succeeds, close() has nothing to do

    def __init__(
        self,
        key: bytes,
        sink: Writable,
        aad: bytes = b"",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        super().__init__()
        self._init(key, sink, aad, chunk_size, os.urandom(SALT_BYTES))

    def _init(self, key: bytes, sink: Writable, aad: bytes, chunk_size: int, salt: bytes) -> None:
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise CryptoError("chunk size out of range")
        self._sink = sink
        self._chunk_size = chunk_size
        self._aes = _stream_key(key, salt, chunk_size, aad)
        self._buf = bytearray(chunk_size)
        self._pos = 0
        self._out = bytearray(chunk_size + TAG_BYTES)
        self._out_view = memoryview(self._out)
        self._index = 0
        self._written = 0
        self._finished = False
        self._sealed = False
        self._write_out(bytes([VERSION]) + struct.pack(">I", chunk_size) + salt)

    @classmethod
    def _with_salt(cls, key: bytes, sink: Writable, aad: bytes, chunk_size: int, salt: bytes) -> EncryptingWriter:
        """Test seam: a writer with a chosen salt, for known-answer vectors."""
        writer = cls.__new__(cls)
        io.RawIOBase.__init__(writer)
        writer._init(key, sink, aad, chunk_size, salt)
        return writer

    @property
    def plaintext_bytes(self) -> int:
        """How many plaintext bytes have been written so far."""
        return self._written

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        """Encrypt ``data``; holds back at most one chunk until it knows more follows."""
        if self._finished:
            raise ValueError("write to a closed stream")
        view = memoryview(data).cast("B")
        total = len(view)
        size = self._chunk_size
        offset = 0
        while offset < total:
            if self._pos == size:
                # More data follows a full buffer, so that buffer was not the last chunk.
                self._emit(self._buf, size, last=False)
                self._pos = 0
            remaining = total - offset
            if self._pos == 0 and remaining > size:
                # Fast path: encrypt straight from the caller's buffer, no copy.
                self._emit(view[offset : offset + size], size, last=False)
                offset += size
                continue
            take = min(size - self._pos, remaining)
            self._buf[self._pos : self._pos + take] = view[offset : offset + take]
            self._pos += take
            offset += take
        self._written += total
        return total

    @property
    def sealed(self) -> bool:
        """True once :meth:`finish` has written the final chunk."""
        return self._sealed

    def finish(self) -> None:
        """Seal the final chunk (flag 1): the stream is complete and readable."""
        self._finish_with(self._buf, self._pos)

    def _finish_with(self, data: bytes | bytearray | memoryview, length: int) -> None:
        """Seal ``data[:length]`` as the final chunk (``encrypt_stream`` hands its own buffer)."""
        if self._finished:
            raise ValueError("stream already finished or aborted")
        self._emit(data, length, last=True)
        self._finished = True
        self._sealed = True
        self._buf = bytearray()
        super().close()

    def close(self) -> None:
        """Stop accepting data; without :meth:`finish` first, this aborts the stream."""
        self._finished = True
        self._buf = bytearray()
        super().close()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        # Finish only when the block completed; an exception aborts.
        if exc_type is None and not self._finished:
            self.finish()
        self.close()

    def _emit(self, data: bytes | bytearray | memoryview, length: int, last: bool) -> None:
        chunk = memoryview(data)[:length]
        nonce = _nonce(self._index, last)
        # The index moves on before any output, so a failed write can never lead
        # to a second encryption under the same nonce.
        self._index += 1
        try:
            self._aes.encrypt_into(nonce, chunk, None, self._out_view[: length + TAG_BYTES])
            self._write_out(self._out_view[: length + TAG_BYTES])
        except BaseException:
            self._finished = True  # broken: no further writes, never sealed
            raise

    def _write_out(self, data: bytes | memoryview) -> None:
        """Write all of ``data`` to the sink, looping over short writes of raw sinks."""
        view = memoryview(data)
        while view:
            n = self._sink.write(view)
            if n is None or n >= len(view):
                return
            if n <= 0:
                raise OSError("sink accepted no data")
            view = view[n:]


class DecryptingReader(io.RawIOBase):
    """A read-only file object that decrypts ``source`` as it is read.

    Raises :class:`DecryptionError` at the first chunk that fails, including
    at the end when the stream was truncated or extended.
    """

    def __init__(self, key: bytes, source: IO[bytes], aad: bytes = b"") -> None:
        super().__init__()
        header = _read_full(source, HEADER_BYTES)
        check_version(header, VERSION, "stream")
        if len(header) < HEADER_BYTES:
            raise DecryptionError()
        (chunk_size,) = struct.unpack(">I", header[1:5])
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise DecryptionError()
        self._source = source
        self._chunk_size = chunk_size
        self._aes = _stream_key(key, bytes(header[5:]), chunk_size, aad)
        full = chunk_size + TAG_BYTES
        # Two ciphertext buffers: the chunk being opened and the one after it,
        # which tells whether the current chunk is the last.
        self._ct = [bytearray(full), bytearray(full)]
        self._ct_len = [0, 0]
        self._ct_len[0] = _readinto_full(source, self._ct[0])
        self._plain = bytearray(chunk_size)
        self._plain_view = memoryview(self._plain)
        self._plain_pos = 0
        self._plain_len = 0
        self._index = 0
        self._done = False
        self._failed = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` with plaintext; returns 0 at the authenticated end."""
        out = memoryview(buffer).cast("B")
        if self._plain_pos == self._plain_len and not self._next_chunk():
            return 0
        n = min(len(out), self._plain_len - self._plain_pos)
        out[:n] = self._plain_view[self._plain_pos : self._plain_pos + n]
        self._plain_pos += n
        return n

    def chunks(self) -> Iterator[bytes]:
        """Yield the plaintext chunk by chunk (for streaming an HTTP download)."""
        for view in self._views():
            yield bytes(view)

    def _views(self) -> Iterator[memoryview]:
        """Yield views of the internal plaintext buffer, valid until the next step."""
        if self._plain_pos < self._plain_len:
            yield self._plain_view[self._plain_pos : self._plain_len]
            self._plain_pos = self._plain_len
        while self._next_chunk():
            self._plain_pos = self._plain_len
            yield self._plain_view[: self._plain_len]

    def _next_chunk(self) -> bool:
        """Decrypt the next chunk into the plaintext buffer; False at the end."""
        if self._failed:
            raise DecryptionError()  # an error sticks: a retry must not skip the failed check
        if self._done:
            return False
        try:
            return self._open_next()
        except BaseException:
            self._failed = True
            # decrypt_into may have written unverified plaintext: wipe it.
            self._plain_view[:] = bytes(len(self._plain_view))
            self._plain_len = self._plain_pos = 0
            raise

    def _open_next(self) -> bool:
        """Read ahead one chunk to learn whether the current one is last, then open it."""
        current = self._ct[0]
        length = self._ct_len[0]
        last = length < len(current)
        if not last:
            self._ct_len[1] = _readinto_full(self._source, self._ct[1])
            last = self._ct_len[1] == 0
        if length < TAG_BYTES or (length == TAG_BYTES and self._index > 0):
            # Only an empty stream may have an empty final chunk.
            raise DecryptionError()
        try:
            self._aes.decrypt_into(
                _nonce(self._index, last),
                memoryview(current)[:length],
                None,
                self._plain_view[: length - TAG_BYTES],
            )
        except InvalidTag:
            raise DecryptionError() from None
        self._plain_len = length - TAG_BYTES
        self._plain_pos = 0
        self._index += 1
        if last:
            self._done = True
        else:
            self._ct.reverse()
            self._ct_len.reverse()
        return self._plain_len > 0 or not last


def _readinto_full(source: IO[bytes], buf: bytearray) -> int:
    """Read until ``buf`` is full or the source ends (sources may return short reads)."""
    view = memoryview(buf)
    got = 0
    readinto = getattr(source, "readinto", None)
    while got < len(buf):
        if readinto is not None:
            n = readinto(view[got:])
            if n is None:
                # A non-blocking source with nothing ready is not an end of file.
                raise CryptoError("stream source returned no data without reaching its end")
        else:
            piece = source.read(len(buf) - got)
            n = len(piece)
            view[got : got + n] = piece
        if not n:
            break
        got += n
    return got


def _read_full(source: IO[bytes], size: int) -> bytes:
    buf = bytearray(size)
    return bytes(buf[: _readinto_full(source, buf)])


def encrypt_stream(
    key: bytes,
    source: IO[bytes],
    sink: Writable,
    aad: bytes = b"",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> int:
    """Encrypt everything ``source`` yields into ``sink``; returns the plaintext length.

    Pull-style twin of :class:`EncryptingWriter` that reads one chunk ahead,
    so each chunk is encrypted straight from the buffer it was read into (the
    read is the only copy). Chunk-sized buffers stay in the CPU cache; larger
    read blocks were measured slower.
    """
    writer = EncryptingWriter(key, sink, aad, chunk_size)
    bufs = [bytearray(chunk_size), bytearray(chunk_size)]
    lengths = [_readinto_full(source, bufs[0]), 0]
    total = 0
    while True:
        last = lengths[0] < chunk_size
        if not last:
            lengths[1] = _readinto_full(source, bufs[1])
            last = lengths[1] == 0
        if last:
            writer._finish_with(bufs[0], lengths[0])
            return total + lengths[0]
        writer._emit(bufs[0], lengths[0], last)
        total += lengths[0]
        bufs.reverse()
        lengths.reverse()


def decrypt_stream(key: bytes, source: IO[bytes], sink: Writable, aad: bytes = b"") -> int:
    """Decrypt ``source`` into ``sink``; returns the plaintext length or raises.

    ``sink.write`` must consume the data before it returns (as files do): it
    is handed a view of a buffer that the next chunk overwrites.
    """
    reader = DecryptingReader(key, source, aad)
    total = 0
    for view in reader._views():
        sink.write(view)
        total += len(view)
    return total


def encrypt_bytes(key: bytes, plaintext: bytes, aad: bytes = b"", chunk_size: int = DEFAULT_CHUNK_SIZE) -> bytes:
    """Encrypt an in-memory value in the stream format (small files, tests)."""
    out = io.BytesIO()
    writer = EncryptingWriter(key, out, aad, chunk_size)
    writer.write(plaintext)
    writer.finish()
    return out.getvalue()


def decrypt_bytes(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    """Decrypt an in-memory stream-format value, or raise."""
    out = io.BytesIO()
    decrypt_stream(key, io.BytesIO(blob), out, aad)
    return out.getvalue()
