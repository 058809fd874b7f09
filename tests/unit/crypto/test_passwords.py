import struct

import pytest

from crypto import passwords
from crypto.errors import DecryptionError, UnsupportedVersionError
from crypto.kdf import Argon2Params

from .conftest import FAST, every_bit_flip, every_truncation

PRIVATE = bytes(range(32))


def test_wrap_then_unwrap_with_the_right_password():
    blob = passwords.wrap("correct horse", PRIVATE, FAST)
    assert passwords.unwrap("correct horse", blob) == PRIVATE
    assert PRIVATE not in blob


def test_wrong_password_fails_with_the_generic_error():
    blob = passwords.wrap("correct horse", PRIVATE, FAST)
    with pytest.raises(DecryptionError, match=r"^could not decrypt$"):
        passwords.unwrap("correct horsf", blob)


def test_hangul_composed_and_decomposed_are_the_same_password():
    composed = "비밀번호"
    decomposed = "\u1107\u1175\u1106\u1175\u11af\u1107\u1165\u11ab\u1112\u1169"
    blob = passwords.wrap(composed, PRIVATE, FAST)
    assert passwords.unwrap(decomposed, blob) == PRIVATE


def test_argon2_parameters_are_read_from_the_blob():
    params = Argon2Params(memory_kib=128, iterations=2, lanes=2)
    blob = passwords.wrap("pw", PRIVATE, params)
    read, salt = passwords.read_params(blob)
    assert read == params
    assert len(salt) == passwords.SALT_BYTES
    assert struct.unpack(">BIII", blob[:13]) == (passwords.VERSION, 128, 2, 2)
    assert passwords.unwrap("pw", blob) == PRIVATE


def test_lowering_the_stored_parameters_breaks_the_blob():
    blob = bytearray(passwords.wrap("pw", PRIVATE, Argon2Params(memory_kib=128, iterations=2)))
    blob[5:9] = struct.pack(">I", 1)
    with pytest.raises(DecryptionError):
        passwords.unwrap("pw", bytes(blob))


def test_absurd_stored_parameters_are_refused_before_any_work():
    blob = bytearray(passwords.wrap("pw", PRIVATE, FAST))
    blob[1:5] = struct.pack(">I", 2**31)  # 2 TiB of memory
    with pytest.raises(DecryptionError):
        passwords.unwrap("pw", bytes(blob))


def test_rewrap_changes_the_password_and_raises_the_parameters():
    blob = passwords.wrap("old", PRIVATE, FAST)
    stronger = Argon2Params(memory_kib=256, iterations=2)
    assert passwords.needs_rewrap(blob, stronger)
    new = passwords.rewrap("old", "new", blob, stronger)
    assert passwords.unwrap("new", new) == PRIVATE
    assert not passwords.needs_rewrap(new, stronger)
    with pytest.raises(DecryptionError):
        passwords.unwrap("old", new)


def test_rewrap_with_the_wrong_old_password_fails():
    blob = passwords.wrap("old", PRIVATE, FAST)
    with pytest.raises(DecryptionError):
        passwords.rewrap("wrong", "new", blob, FAST)


def test_every_flipped_bit_and_truncation_fails_closed():
    blob = passwords.wrap("pw", b"k", FAST)
    for mutated in every_bit_flip(blob):
        with pytest.raises((DecryptionError, UnsupportedVersionError)):
            passwords.unwrap("pw", mutated)
    for short in every_truncation(blob):
        with pytest.raises(DecryptionError):
            passwords.unwrap("pw", short)
