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


class Box:
    """One key's AES-256-GCM box, for many blobs under the same key (the format of :func:`encrypt`).

    Why: :func:`encrypt` builds the cipher object from the key at every call;
    the bridge encrypts a million payloads under one subkey, and building the
    object was about half of each encryption. Blobs are byte-compatible with
    :func:`encrypt` and :func:`decrypt` in both directions.
    """

    __slots__ = ("_cipher",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise CryptoError("an AES-256-GCM key is 32 bytes")
        self._cipher = AESGCM(key)

    def __repr__(self) -> str:
        return "Box(<key>)"

    def encrypt(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        """As :func:`encrypt` under this box's key."""
        nonce = os.urandom(NONCE_BYTES)
        return _HEAD + nonce + self._cipher.encrypt(nonce, plaintext, _HEAD + aad)

    def decrypt(self, blob: bytes, aad: bytes = b"") -> bytes:
        """As :func:`decrypt` under this box's key."""
        check_version(blob, VERSION, "aead")
        if len(blob) < OVERHEAD:
            raise DecryptionError()
        try:
            return self._cipher.decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], _HEAD + aad)
        except InvalidTag:
            raise DecryptionError() from None


_HEAD = bytes([VERSION])
