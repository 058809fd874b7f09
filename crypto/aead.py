"""A versioned AES-256-GCM box: the one symmetric recipe everything else builds on.

Format (version 1)::

    0x01 | nonce (12 bytes, random) | ciphertext | tag (16 bytes)

The version byte is part of the associated data, so a blob re-labelled as
another version cannot be opened either.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto._format import check_version
from crypto.errors import CryptoError, DecryptionError

VERSION = 0x01
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES


def generate_key() -> bytes:
    """Return a fresh random 256-bit key (case keys, identity keys, session keys)."""
    return os.urandom(KEY_BYTES)


def encrypt(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """Encrypt ``plaintext`` under ``key``, binding it to ``aad``."""
    return _encrypt_with_nonce(key, plaintext, aad, os.urandom(NONCE_BYTES))


def decrypt(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    """Open a blob made by :func:`encrypt` with the same key and ``aad``, or raise."""
    check_version(blob, VERSION, "aead")
    if len(blob) < OVERHEAD or len(key) != KEY_BYTES:
        raise DecryptionError()
    nonce = blob[1 : 1 + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, blob[1 + NONCE_BYTES :], bytes([VERSION]) + aad)
    except InvalidTag:
        raise DecryptionError() from None


def _encrypt_with_nonce(key: bytes, plaintext: bytes, aad: bytes, nonce: bytes) -> bytes:
    """Test seam: encrypt with a chosen nonce so known-answer vectors are possible."""
    if len(key) != KEY_BYTES:
        raise CryptoError("an AES-256-GCM key is 32 bytes")
    ct = AESGCM(key).encrypt(nonce, plaintext, bytes([VERSION]) + aad)
    return bytes([VERSION]) + nonce + ct
