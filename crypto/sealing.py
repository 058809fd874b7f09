"""Sealing: encrypt to an X25519 public key so only its private key opens it.

This is how a case key reaches its grantees (teams, users, the reporter's
receipt key, the recovery key) and how a team key reaches each member.

Format (version 1)::

    0x01 | ephemeral public key (32) | ciphertext | tag (16)

Key and nonce come from HKDF-SHA256 over the X25519 shared secret, with the
info binding the version, the ephemeral key, the recipient key and the
caller's ``context``; the context is also the AES-GCM associated data. A
sealed case key therefore cannot be replayed as, say, a sealed team key:
the context differs, so opening fails.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto._format import check_version, length_prefixed
from crypto.errors import CryptoError, DecryptionError
from crypto.keys import KEY_BYTES, load_private, load_public

VERSION = 0x01
_INFO = b"haechi/seal/v1"
TAG_BYTES = 16
OVERHEAD = 1 + KEY_BYTES + TAG_BYTES


def seal(recipient_public: bytes, plaintext: bytes, context: bytes) -> bytes:
    """Encrypt ``plaintext`` so that only ``recipient_public``'s private key opens it.

    The ephemeral key is made by ``X25519PrivateKey.generate`` and used as
    is: going through its raw bytes (``from_private_bytes``) would compute
    its public point a second time, a third of a seal's cost.
    """
    return _seal_with(X25519PrivateKey.generate(), recipient_public, plaintext, context)


def open_sealed(private: bytes, blob: bytes, context: bytes) -> bytes:
    """Open a blob made by :func:`seal` for this private key and ``context``, or raise."""
    check_version(blob, VERSION, "sealed box")
    if len(blob) < OVERHEAD:
        raise DecryptionError()
    ephemeral_public = bytes(blob[1 : 1 + KEY_BYTES])
    try:
        me = load_private(private)
        shared = me.exchange(load_public(ephemeral_public))
    except ValueError:
        # A low-order ephemeral point gives an all-zero secret; cryptography refuses it.
        raise DecryptionError() from None
    recipient_public = me.public_key().public_bytes_raw()
    key, nonce = _derive(shared, ephemeral_public, recipient_public, context)
    try:
        return AESGCM(key).decrypt(nonce, blob[1 + KEY_BYTES :], _aad(context))
    except InvalidTag:
        raise DecryptionError() from None


def _seal_with_ephemeral(ephemeral_private: bytes, recipient_public: bytes, plaintext: bytes, context: bytes) -> bytes:
    """Test seam: seal with a chosen ephemeral key so known-answer vectors are possible."""
    return _seal_with(X25519PrivateKey.from_private_bytes(ephemeral_private), recipient_public, plaintext, context)


def _seal_with(eph: X25519PrivateKey, recipient_public: bytes, plaintext: bytes, context: bytes) -> bytes:
    ephemeral_public = eph.public_key().public_bytes_raw()
    try:
        shared = eph.exchange(load_public(bytes(recipient_public)))
    except ValueError:
        raise CryptoError("not a usable X25519 public key") from None
    key, nonce = _derive(shared, ephemeral_public, recipient_public, context)
    return bytes([VERSION]) + ephemeral_public + AESGCM(key).encrypt(nonce, plaintext, _aad(context))


def _derive(shared: bytes, ephemeral_public: bytes, recipient_public: bytes, context: bytes) -> tuple[bytes, bytes]:
    # Both public keys in the info defend against key-substitution: the same
    # shared secret reached with another recipient key yields another key.
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=32 + 12,
        salt=None,
        info=length_prefixed(_INFO, ephemeral_public, recipient_public, context),
    ).derive(shared)
    # The key is unique per ephemeral key pair, so a derived nonce never repeats under it.
    return okm[:32], okm[32:]


def _aad(context: bytes) -> bytes:
    return bytes([VERSION]) + context
