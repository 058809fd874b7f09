"""Wrapping a private key under a password (staff keys).

Format (version 1)::

    0x01 | memory_kib (u32) | iterations (u32) | lanes (u32) | salt (16)
         | nonce (12) | ciphertext | tag (16)

key = Argon2id(NFC(password) as UTF-8, salt, params) → 32 bytes, used with
AES-256-GCM; the associated data is everything before the nonce, so the
stored parameters cannot be lowered without breaking the tag. Because the
parameters travel in the blob, they can be raised later: :func:`rewrap`
(at password change, or on login when :func:`needs_rewrap` says so) writes
a blob with today's parameters.

A successful unwrap is itself the proof of the password: AES-GCM will not
open under a key derived from any other password.
"""

from __future__ import annotations

import os
import struct
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto._format import check_version
from crypto.errors import DecryptionError, WeakParametersError
from crypto.kdf import DEFAULT_PARAMS, Argon2Params, argon2id

VERSION = 0x01
SALT_BYTES = 16
NONCE_BYTES = 12
_HEADER = struct.Struct(">BIII")
HEADER_BYTES = _HEADER.size + SALT_BYTES
OVERHEAD = HEADER_BYTES + NONCE_BYTES + 16


def _password_bytes(password: str) -> bytes:
    # Hangul typed on different systems may arrive composed or decomposed;
    # NFC makes both the same password.
    return unicodedata.normalize("NFC", password).encode("utf-8")


def wrap(password: str, secret: bytes, params: Argon2Params = DEFAULT_PARAMS) -> bytes:
    """Encrypt ``secret`` (a private key) under a key derived from ``password``."""
    return _wrap_with(password, secret, params, os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES))


def unwrap(password: str, blob: bytes) -> bytes:
    """Recover the secret; raises :class:`DecryptionError` for a wrong password or a bad blob."""
    params, salt = read_params(blob)
    header = blob[:HEADER_BYTES]
    nonce = blob[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
    key = argon2id(_password_bytes(password), salt, params)
    try:
        return AESGCM(key).decrypt(nonce, blob[HEADER_BYTES + NONCE_BYTES :], header)
    except InvalidTag:
        raise DecryptionError() from None


def rewrap(old_password: str, new_password: str, blob: bytes, params: Argon2Params = DEFAULT_PARAMS) -> bytes:
    """Re-encrypt the wrapped secret under a new password (and current parameters)."""
    return wrap(new_password, unwrap(old_password, blob), params)


def read_params(blob: bytes) -> tuple[Argon2Params, bytes]:
    """Return the Argon2id parameters and salt stored in a wrapped blob."""
    check_version(blob, VERSION, "wrapped key")
    if len(blob) < OVERHEAD:
        raise DecryptionError()
    _, memory, iterations, lanes = _HEADER.unpack_from(blob)
    params = Argon2Params(memory_kib=memory, iterations=iterations, lanes=lanes)
    try:
        params.check_bounds()
    except WeakParametersError:
        raise DecryptionError() from None
    return params, bytes(blob[_HEADER.size : HEADER_BYTES])


def needs_rewrap(blob: bytes, wanted: Argon2Params) -> bool:
    """True when the blob was made with weaker parameters than ``wanted``."""
    have, _ = read_params(blob)
    return have.memory_kib < wanted.memory_kib or have.iterations < wanted.iterations


def _wrap_with(password: str, secret: bytes, params: Argon2Params, salt: bytes, nonce: bytes) -> bytes:
    """Test seam: wrap with a chosen salt and nonce for known-answer vectors."""
    header = _HEADER.pack(VERSION, params.memory_kib, params.iterations, params.lanes) + salt
    key = argon2id(_password_bytes(password), salt, params)
    return header + nonce + AESGCM(key).encrypt(nonce, secret, header)
