import gc
import io
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import stream
from crypto.errors import CryptoError, DecryptionError, UnsupportedVersionError

from .conftest import every_bit_flip

KEY = bytes(range(32))
AAD = b"case-1/attachment-9"


def _data(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def _chunks(blob: bytes, chunk_size: int) -> tuple[bytes, list[bytes]]:
    header, body = blob[: stream.HEADER_BYTES], blob[stream.HEADER_BYTES :]
    step = chunk_size + stream.TAG_BYTES
    return header, [body[i : i + step] for i in range(0, len(body), step)]


def _decrypt(blob: bytes, key: bytes = KEY, aad: bytes = AAD) -> bytes:
    return stream.decrypt_bytes(key, blob, aad)


# Sizes around chunk boundaries for a small chunk, and up to several MiB for the default chunk.
_boundary = st.integers(min_value=0, max_value=6).flatmap(
    lambda k: st.sampled_from([max(0, k * 16 + d) for d in (-1, 0, 1)])
)
_large = st.one_of(
    st.integers(min_value=0, max_value=4 * 1024 * 1024),
    st.integers(min_value=1, max_value=48).map(lambda k: k * stream.DEFAULT_CHUNK_SIZE),
    st.integers(min_value=1, max_value=48).map(lambda k: k * stream.DEFAULT_CHUNK_SIZE + 1),
)


@given(_boundary)
def test_round_trip_at_every_chunk_boundary(size):
    data = _data(size)
    blob = stream.encrypt_bytes(KEY, data, AAD, chunk_size=16)
    assert len(blob) == stream.ciphertext_length(size, 16)
    assert _decrypt(blob) == data


@settings(max_examples=25)
@given(_large, st.integers(min_value=0, max_value=2**32))
def test_round_trip_of_several_mib_with_default_chunks(size, seed):
    data = _data(size, seed)
    out = io.BytesIO()
    n = stream.encrypt_stream(KEY, io.BytesIO(data), out, AAD)
    assert n == size
    assert len(out.getvalue()) == stream.ciphertext_length(size)
    assert _decrypt(out.getvalue()) == data


@given(
    st.binary(max_size=400),
    st.lists(st.integers(min_value=0, max_value=400), max_size=8),
    st.integers(min_value=16, max_value=70),
)
def test_writer_output_does_not_depend_on_how_writes_are_split(data, cuts, chunk_size):
    salt = b"s" * stream.SALT_BYTES
    whole = io.BytesIO()
    w = stream.EncryptingWriter._with_salt(KEY, whole, AAD, chunk_size, salt)
    w.write(data)
    w.finish()
    pieces = io.BytesIO()
    w = stream.EncryptingWriter._with_salt(KEY, pieces, AAD, chunk_size, salt)
    last = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        w.write(data[last:cut])
        last = cut
    w.finish()
    assert pieces.getvalue() == whole.getvalue()
    assert _decrypt(whole.getvalue()) == data


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=50))
def test_reader_returns_the_plaintext_for_any_read_size(data, read_size):
    blob = stream.encrypt_bytes(KEY, data, AAD, chunk_size=32)
    reader = stream.DecryptingReader(KEY, io.BytesIO(blob), AAD)
    got = bytearray()
    while piece := reader.read(read_size):
        got += piece
    assert bytes(got) == data


def test_reader_copes_with_a_source_that_returns_short_reads():
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._src = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b):  # type: ignore[override]
            piece = self._src.read(min(len(b), 7))
            b[: len(piece)] = piece
            return len(piece)

    data = _data(1000)
    blob = stream.encrypt_bytes(KEY, data, AAD, chunk_size=64)
    assert b"".join(stream.DecryptingReader(KEY, Trickle(blob), AAD).chunks()) == data


def test_the_writer_emits_ciphertext_as_data_arrives():
    sink = io.BytesIO()
    w = stream.EncryptingWriter(KEY, sink, AAD, chunk_size=64)
    for _ in range(10):
        w.write(b"a" * 64)
    # All but the held-back last chunk are already out: memory stays at one chunk.
    assert len(sink.getvalue()) == stream.HEADER_BYTES + 9 * (64 + stream.TAG_BYTES)
    w.finish()
    assert _decrypt(sink.getvalue()) == b"a" * 640


def test_plaintext_never_appears_in_the_ciphertext():
    canary = b"CANARY-STREAM-" * 100
    assert b"CANARY" not in stream.encrypt_bytes(KEY, canary, AAD, chunk_size=64)


def test_unfinished_writer_output_is_rejected_even_after_garbage_collection():
    sink = io.BytesIO()
    w = stream.EncryptingWriter(KEY, sink, AAD, chunk_size=16)
    w.write(b"x" * 100)
    del w
    gc.collect()
    with pytest.raises(DecryptionError):
        _decrypt(sink.getvalue())


def test_an_upload_interrupted_inside_a_with_block_is_not_sealed():
    sink = io.BytesIO()
    with pytest.raises(ConnectionError), stream.EncryptingWriter(KEY, sink, AAD, chunk_size=16) as w:
        w.write(b"A" * 40)
        raise ConnectionError("client went away")
    assert not w.sealed
    with pytest.raises(DecryptionError):
        _decrypt(sink.getvalue())


def test_a_with_block_that_completes_seals_the_stream():
    sink = io.BytesIO()
    with stream.EncryptingWriter(KEY, sink, AAD, chunk_size=16) as w:
        w.write(b"A" * 40)
    assert w.sealed
    assert _decrypt(sink.getvalue()) == b"A" * 40


def test_close_without_finish_aborts_and_finish_twice_is_an_error():
    sink = io.BytesIO()
    w = stream.EncryptingWriter(KEY, sink, AAD, chunk_size=16)
    w.write(b"A" * 20)
    w.close()
    with pytest.raises(ValueError):
        w.finish()
    with pytest.raises(DecryptionError):
        _decrypt(sink.getvalue())


def test_a_source_that_fails_midway_leaves_no_readable_stream():
    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b):  # type: ignore[override]
            self.calls += 1
            if self.calls > 2:
                raise OSError("disk error")
            b[:16] = b"z" * 16
            return 16

    sink = io.BytesIO()
    with pytest.raises(OSError):
        stream.encrypt_stream(KEY, Failing(), sink, AAD, chunk_size=16)
    gc.collect()
    with pytest.raises(DecryptionError):
        _decrypt(sink.getvalue())


def test_a_non_blocking_source_with_no_data_is_not_taken_for_the_end():
    class NotReady(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b):  # type: ignore[override]
            return None

    with pytest.raises(CryptoError):
        stream.encrypt_stream(KEY, NotReady(), io.BytesIO(), AAD, chunk_size=16)


def test_short_writes_of_a_raw_sink_lose_nothing():
    class Trickle:
        def __init__(self) -> None:
            self.data = bytearray()

        def write(self, b) -> int:
            piece = bytes(b[:5])
            self.data += piece
            return len(piece)

    sink = Trickle()
    w = stream.EncryptingWriter(KEY, sink, AAD, chunk_size=16)
    w.write(b"q" * 50)
    w.finish()
    assert _decrypt(bytes(sink.data)) == b"q" * 50


def test_a_failing_sink_breaks_the_writer_so_no_nonce_is_used_twice():
    class Flaky:
        def __init__(self) -> None:
            self.fail = False

        def write(self, b) -> int:
            if self.fail:
                raise OSError("full")
            return len(b)

    sink = Flaky()
    w = stream.EncryptingWriter(KEY, sink, AAD, chunk_size=16)
    sink.fail = True
    with pytest.raises(OSError):
        w.write(b"a" * 40)
    sink.fail = False
    with pytest.raises(ValueError):
        w.write(b"b" * 40)


def test_write_after_close_is_an_error():
    w = stream.EncryptingWriter(KEY, io.BytesIO(), AAD)
    w.finish()
    with pytest.raises(ValueError):
        w.write(b"late")


# Tampering: every way a stream can be wrong fails closed.


def _sample() -> bytes:
    return stream.encrypt_bytes(KEY, _data(16 * 4 + 5), AAD, chunk_size=16)


def test_every_flipped_bit_fails_closed():
    blob = stream.encrypt_bytes(KEY, _data(40), AAD, chunk_size=16)
    for mutated in every_bit_flip(blob):
        with pytest.raises((DecryptionError, UnsupportedVersionError)):
            _decrypt(mutated)


def test_every_truncation_fails_closed():
    blob = _sample()
    for n in range(len(blob)):
        with pytest.raises(DecryptionError):
            _decrypt(blob[:n])


def test_truncation_at_a_chunk_boundary_fails():
    header, chunks = _chunks(_sample(), 16)
    with pytest.raises(DecryptionError):
        _decrypt(header + b"".join(chunks[:-1]))


def test_dropping_a_chunk_fails():
    header, chunks = _chunks(_sample(), 16)
    for i in range(len(chunks)):
        with pytest.raises(DecryptionError):
            _decrypt(header + b"".join(chunks[:i] + chunks[i + 1 :]))


def test_swapping_chunks_fails():
    header, chunks = _chunks(_sample(), 16)
    chunks[0], chunks[1] = chunks[1], chunks[0]
    with pytest.raises(DecryptionError):
        _decrypt(header + b"".join(chunks))


def test_appending_a_chunk_or_bytes_fails():
    blob = _sample()
    _header, chunks = _chunks(blob, 16)
    with pytest.raises(DecryptionError):
        _decrypt(blob + chunks[0])
    with pytest.raises(DecryptionError):
        _decrypt(blob + b"\x00")


def test_chunks_from_another_stream_under_the_same_key_fail():
    a_header, a_chunks = _chunks(_sample(), 16)
    _b_header, b_chunks = _chunks(_sample(), 16)
    with pytest.raises(DecryptionError):
        _decrypt(a_header + b_chunks[0] + b"".join(a_chunks[1:]))


def test_wrong_key_or_wrong_binding_fails():
    blob = _sample()
    with pytest.raises(DecryptionError):
        _decrypt(blob, key=bytes(32))
    with pytest.raises(DecryptionError):
        _decrypt(blob, aad=b"case-2/attachment-9")


def test_changing_the_declared_chunk_size_fails():
    blob = bytearray(_sample())
    blob[1:5] = struct.pack(">I", 17)
    with pytest.raises(DecryptionError):
        _decrypt(bytes(blob))
    blob[1:5] = struct.pack(">I", 0)
    with pytest.raises(DecryptionError):
        _decrypt(bytes(blob))


def test_unknown_version_is_a_clear_error():
    blob = bytearray(_sample())
    blob[0] = 0x7F
    with pytest.raises(UnsupportedVersionError):
        _decrypt(bytes(blob))


def test_an_empty_stream_is_one_final_empty_chunk():
    blob = stream.encrypt_bytes(KEY, b"", AAD, chunk_size=16)
    assert len(blob) == stream.HEADER_BYTES + stream.TAG_BYTES
    assert _decrypt(blob) == b""


def test_an_empty_final_chunk_after_data_is_refused():
    # A correctly sealed empty final chunk after a full one: only the length guard stops it.
    sink = io.BytesIO()
    w = stream.EncryptingWriter(KEY, sink, AAD, chunk_size=16)
    w._emit(b"x" * 16, 16, last=False)
    w._emit(b"", 0, last=True)
    with pytest.raises(DecryptionError):
        _decrypt(sink.getvalue())


def test_a_reader_error_sticks_and_wipes_unverified_plaintext():
    blob = bytearray(stream.encrypt_bytes(KEY, b"1" * 16 + b"2" * 16, AAD, chunk_size=16))
    blob[-1] ^= 1
    reader = stream.DecryptingReader(KEY, io.BytesIO(bytes(blob)), AAD)
    assert reader.read(16) == b"1" * 16
    with pytest.raises(DecryptionError):
        reader.read(16)
    assert b"2" not in reader._plain
    with pytest.raises(DecryptionError):
        reader.read(16)


def test_retrying_after_an_appended_byte_still_fails():
    blob = stream.encrypt_bytes(KEY, b"1" * 16 + b"2" * 16, AAD, chunk_size=16) + b"\x00"
    reader = stream.DecryptingReader(KEY, io.BytesIO(blob), AAD)
    with pytest.raises(DecryptionError):
        reader.read()
    with pytest.raises(DecryptionError):
        reader.read()


def test_chunk_size_out_of_range_is_refused_at_write():
    with pytest.raises(CryptoError):
        stream.EncryptingWriter(KEY, io.BytesIO(), AAD, chunk_size=8)


def test_the_writer_counts_each_plaintext_byte_once():
    w = stream.EncryptingWriter(KEY, io.BytesIO(), AAD, chunk_size=16)
    w.write(b"a" * 40)
    w.write(b"b" * 3)
    w.finish()
    assert w.plaintext_bytes == 43
