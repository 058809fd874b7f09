import pytest

from crypto import signing
from crypto.errors import CryptoError, InvalidSignatureError, UnsupportedVersionError

from .conftest import every_bit_flip


def test_sign_and_verify():
    key = signing.generate_signing_key()
    sig = signing.sign(key.private, b"checkpoint 100: abcd", b"audit-checkpoint")
    assert sig[0] == signing.VERSION and len(sig) == signing.SIGNATURE_BYTES
    signing.verify(key.public, sig, b"checkpoint 100: abcd", b"audit-checkpoint")


def test_a_changed_message_or_context_or_key_does_not_verify():
    key = signing.generate_signing_key()
    sig = signing.sign(key.private, b"m", b"audit-checkpoint")
    with pytest.raises(InvalidSignatureError):
        signing.verify(key.public, sig, b"m2", b"audit-checkpoint")
    with pytest.raises(InvalidSignatureError):
        signing.verify(key.public, sig, b"m", b"export")
    with pytest.raises(InvalidSignatureError):
        signing.verify(signing.generate_signing_key().public, sig, b"m", b"audit-checkpoint")


def test_every_flipped_bit_and_truncation_of_a_signature_is_rejected():
    key = signing.generate_signing_key()
    sig = signing.sign(key.private, b"m", b"c")
    for mutated in every_bit_flip(sig):
        with pytest.raises((InvalidSignatureError, UnsupportedVersionError)):
            signing.verify(key.public, mutated, b"m", b"c")
    for n in range(len(sig)):
        with pytest.raises(InvalidSignatureError):
            signing.verify(key.public, sig[:n], b"m", b"c")


def test_key_pair_round_trips_from_private_bytes():
    key = signing.generate_signing_key()
    assert signing.signing_key_from_private(key.private) == key
    assert key.private.hex() not in repr(key)


def test_a_wrong_size_signing_key_is_a_crypto_error():
    with pytest.raises(CryptoError):
        signing.sign(b"short", b"m", b"c")


def test_verify_accepts_bytearray_keys():
    key = signing.generate_signing_key()
    sig = signing.sign(key.private, b"m", b"c")
    signing.verify(bytearray(key.public), bytearray(sig), b"m", b"c")
