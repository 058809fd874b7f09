import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import CryptoError, DecryptionError, UnsupportedVersionError
from crypto.fields import OVERHEAD, VERSION, FieldCipher, derive_subkey

from .conftest import every_bit_flip, every_truncation

CASE_KEY = bytes(range(32))


@given(st.text(max_size=500), st.sampled_from(["report.what", "message", "note", "file.name"]))
def test_text_round_trip_for_any_purpose(text, purpose):
    cipher = FieldCipher(CASE_KEY, "case-1")
    assert cipher.decrypt_text(purpose, cipher.encrypt_text(purpose, text)) == text


def test_korean_text_round_trips_and_is_not_visible():
    cipher = FieldCipher(CASE_KEY, "case-1")
    blob = cipher.encrypt_text("report.what", "과장이 법인카드를 심야에 사용했습니다")
    assert "법인카드".encode() not in blob
    assert blob[0] == VERSION
    assert cipher.decrypt_text("report.what", blob) == "과장이 법인카드를 심야에 사용했습니다"


def test_ciphertext_moved_to_another_case_fails():
    blob = FieldCipher(CASE_KEY, "case-1").encrypt("note", b"internal")
    with pytest.raises(DecryptionError):
        FieldCipher(CASE_KEY, "case-2").decrypt("note", blob)


def test_ciphertext_moved_to_another_purpose_fails():
    cipher = FieldCipher(CASE_KEY, "case-1")
    blob = cipher.encrypt("note", b"internal only")
    with pytest.raises(DecryptionError):
        cipher.decrypt("message", blob)


def test_wrong_case_key_fails():
    blob = FieldCipher(CASE_KEY, "case-1").encrypt("note", b"x")
    with pytest.raises(DecryptionError):
        FieldCipher(bytes(32), "case-1").decrypt("note", blob)


def test_every_flipped_bit_and_truncation_fails_closed():
    cipher = FieldCipher(CASE_KEY, "case-1")
    blob = cipher.encrypt("note", b"abc")
    assert len(blob) == 3 + OVERHEAD
    for mutated in every_bit_flip(blob):
        with pytest.raises((DecryptionError, UnsupportedVersionError)):
            cipher.decrypt("note", mutated)
    for short in every_truncation(blob):
        with pytest.raises(DecryptionError):
            cipher.decrypt("note", short)


def test_subkeys_differ_per_purpose():
    assert derive_subkey(CASE_KEY, "note") != derive_subkey(CASE_KEY, "message")


def test_case_key_must_be_256_bits():
    with pytest.raises(CryptoError):
        FieldCipher(b"short", "case-1")


def test_a_binary_field_read_as_text_fails_cleanly():
    cipher = FieldCipher(CASE_KEY, "case-1")
    blob = cipher.encrypt("file.bytes", b"\xff\xfe")
    with pytest.raises(DecryptionError):
        cipher.decrypt_text("file.bytes", blob)
