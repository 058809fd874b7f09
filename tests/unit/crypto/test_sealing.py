import pytest

from crypto.errors import CryptoError, DecryptionError, UnsupportedVersionError
from crypto.keys import generate_keypair, keypair_from_seed, public_from_private
from crypto.sealing import OVERHEAD, VERSION, open_sealed, seal

from .conftest import every_bit_flip, every_truncation

CASE_KEY = bytes(range(32))


def test_only_the_recipient_private_key_opens_a_sealed_box():
    alice, mallory = generate_keypair(), generate_keypair()
    blob = seal(alice.public, CASE_KEY, b"case-key:7")
    assert open_sealed(alice.private, blob, b"case-key:7") == CASE_KEY
    with pytest.raises(DecryptionError):
        open_sealed(mallory.private, blob, b"case-key:7")


def test_sealing_twice_gives_different_ciphertexts():
    alice = generate_keypair()
    assert seal(alice.public, CASE_KEY, b"c") != seal(alice.public, CASE_KEY, b"c")


def test_format_is_version_ephemeral_key_ciphertext_tag():
    alice = generate_keypair()
    blob = seal(alice.public, CASE_KEY, b"c")
    assert blob[0] == VERSION
    assert len(blob) == len(CASE_KEY) + OVERHEAD


def test_context_is_bound_so_a_case_key_cannot_pass_as_a_team_key():
    alice = generate_keypair()
    blob = seal(alice.public, CASE_KEY, b"case-key:7")
    with pytest.raises(DecryptionError):
        open_sealed(alice.private, blob, b"team-key:7")
    with pytest.raises(DecryptionError):
        open_sealed(alice.private, blob, b"case-key:8")


def test_every_flipped_bit_fails_closed():
    alice = generate_keypair()
    blob = seal(alice.public, b"k" * 4, b"c")
    for mutated in every_bit_flip(blob):
        with pytest.raises((DecryptionError, UnsupportedVersionError)):
            open_sealed(alice.private, mutated, b"c")


def test_every_truncation_fails_closed():
    alice = generate_keypair()
    blob = seal(alice.public, b"k" * 4, b"c")
    for short in every_truncation(blob):
        with pytest.raises(DecryptionError):
            open_sealed(alice.private, short, b"c")


def test_low_order_ephemeral_point_is_refused_not_crashed():
    alice = generate_keypair()
    blob = bytearray(seal(alice.public, b"k", b"c"))
    blob[1:33] = bytes(32)  # the all-zero point has order 1
    with pytest.raises(DecryptionError):
        open_sealed(alice.private, bytes(blob), b"c")


def test_key_pair_from_seed_is_deterministic():
    a = keypair_from_seed(b"\x07" * 32)
    assert a == keypair_from_seed(b"\x07" * 32)
    assert public_from_private(a.private) == a.public
    assert a.private.hex() not in repr(a)


def test_sealing_to_a_low_order_public_key_is_a_crypto_error():
    with pytest.raises(CryptoError):
        seal(bytes(32), b"k", b"c")
