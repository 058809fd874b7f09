import pytest

from crypto import aead
from crypto.errors import CryptoError, DecryptionError, UnsupportedVersionError

from .conftest import every_bit_flip, every_truncation


def test_round_trip_with_associated_data():
    key = aead.generate_key()
    blob = aead.encrypt(key, b"session private key", b"session:42")
    assert aead.decrypt(key, blob, b"session:42") == b"session private key"


def test_blob_starts_with_version_and_hides_plaintext():
    key = aead.generate_key()
    blob = aead.encrypt(key, b"canary-aead", b"")
    assert blob[0] == aead.VERSION
    assert b"canary-aead" not in blob
    assert len(blob) == len(b"canary-aead") + aead.OVERHEAD


def test_every_flipped_bit_fails_closed():
    key = aead.generate_key()
    blob = aead.encrypt(key, b"x" * 8, b"ad")
    for mutated in every_bit_flip(blob):
        with pytest.raises((DecryptionError, UnsupportedVersionError)):
            aead.decrypt(key, mutated, b"ad")


def test_every_truncation_fails_closed():
    key = aead.generate_key()
    blob = aead.encrypt(key, b"x" * 8, b"ad")
    for short in every_truncation(blob):
        with pytest.raises(DecryptionError):
            aead.decrypt(key, short, b"ad")


def test_wrong_key_or_associated_data_fails():
    key = aead.generate_key()
    blob = aead.encrypt(key, b"secret", b"ad")
    with pytest.raises(DecryptionError):
        aead.decrypt(aead.generate_key(), blob, b"ad")
    with pytest.raises(DecryptionError):
        aead.decrypt(key, blob, b"other")


def test_unknown_version_is_a_clear_error():
    key = aead.generate_key()
    blob = bytearray(aead.encrypt(key, b"secret"))
    blob[0] = 0x02
    with pytest.raises(UnsupportedVersionError, match="version 0x02"):
        aead.decrypt(key, bytes(blob))


def test_a_box_makes_and_opens_the_same_blobs_as_the_functions():
    key = aead.generate_key()
    box = aead.Box(key)
    assert aead.decrypt(key, box.encrypt(b"payload", b"aad"), b"aad") == b"payload"
    assert box.decrypt(aead.encrypt(key, b"payload", b"aad"), b"aad") == b"payload"
    blob = box.encrypt(b"payload")
    assert blob[0] == aead.VERSION and len(blob) == aead.OVERHEAD + len(b"payload")
    assert box.encrypt(b"payload") != blob  # a fresh nonce each time


@pytest.mark.parametrize(
    "tamper",
    [
        lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]),
        lambda blob: bytes([2]) + blob[1:],
        lambda blob: blob[: aead.OVERHEAD - 1],
    ],
)
def test_a_box_refuses_a_tampered_truncated_or_relabelled_blob(tamper):
    box = aead.Box(aead.generate_key())
    with pytest.raises(CryptoError):
        box.decrypt(tamper(box.encrypt(b"payload", b"aad")), b"aad")


def test_a_box_refuses_other_associated_data_another_key_and_a_short_key():
    box = aead.Box(aead.generate_key())
    blob = box.encrypt(b"payload", b"aad")
    with pytest.raises(DecryptionError):
        box.decrypt(blob, b"other")
    with pytest.raises(DecryptionError):
        aead.Box(aead.generate_key()).decrypt(blob, b"aad")
    with pytest.raises(CryptoError):
        aead.Box(b"short")
    assert "key" in repr(box) and box.encrypt(b"") != b""
