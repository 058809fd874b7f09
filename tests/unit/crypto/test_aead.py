import pytest

from crypto import aead
from crypto.errors import DecryptionError, UnsupportedVersionError

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
