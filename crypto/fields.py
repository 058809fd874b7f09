"""Field encryption under a case key.

Every piece of case content (report fields, messages, notes, file names,
identity) is encrypted with a subkey derived from the case key for one
*purpose* (``"report.what"``, ``"message"``, ``"note"``, ``"file.name"`` …),
with associated data naming the case and the purpose.

Threat: someone with write access to the database moves a ciphertext from one
case or column to another (say, an internal note into the reporter's inbox).
Because both the subkey and the associated data depend on the case id and the
purpose, the moved ciphertext no longer opens.

Format (version 1)::

    0x01 | nonce (12, random) | ciphertext | tag (16)

associated data = 0x01 | len‖"haechi/field/v1" | len‖case_id | len‖purpose
subkey          = HKDF-SHA256(case_key, salt=None,
                              info = len‖"haechi/field-key/v1" | len‖purpose)
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto._format import check_version, length_prefixed
from crypto.errors import CryptoError, DecryptionError

VERSION = 0x01
NONCE_BYTES = 12
TAG_BYTES = 16
OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES


def derive_subkey(case_key: bytes, purpose: str) -> bytes:
    """Derive the 256-bit subkey of ``case_key`` for one purpose (also used for file streams)."""
    if len(case_key) != 32:
        raise CryptoError("a case key is 32 bytes")
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=length_prefixed(b"haechi/field-key/v1", purpose.encode()),
    ).derive(case_key)


def binding(case_id: str, purpose: str) -> bytes:
    """Associated data that ties a ciphertext to one case and one purpose."""
    return length_prefixed(b"haechi/field/v1", case_id.encode(), purpose.encode())


class FieldCipher:
    """Encrypts and decrypts the fields of one case; caches a subkey and associated data per purpose.

    Both caches matter to bulk work (the bridge encrypts ten alerts per case
    in a batch): deriving a subkey is an HKDF run and building the
    associated data a length-prefixed join, each costing more than the
    AES-GCM encryption of a short field.
    """

    def __init__(self, case_key: bytes, case_id: str) -> None:
        if len(case_key) != 32:
            raise CryptoError("a case key is 32 bytes")
        self._case_key = case_key
        self._case_id = case_id
        self._ciphers: dict[str, AESGCM] = {}
        self._aads: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"FieldCipher(case_id={self._case_id!r})"

    def encrypt(self, purpose: str, plaintext: bytes) -> bytes:
        """Encrypt one field value for ``purpose``."""
        return self._encrypt_with_nonce(purpose, plaintext, os.urandom(NONCE_BYTES))

    def decrypt(self, purpose: str, blob: bytes) -> bytes:
        """Decrypt one field value; fails if it belongs to another case or purpose."""
        check_version(blob, VERSION, "field")
        if len(blob) < OVERHEAD:
            raise DecryptionError()
        try:
            return self._cipher(purpose).decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], self._aad(purpose))
        except InvalidTag:
            raise DecryptionError() from None

    def encrypt_text(self, purpose: str, text: str) -> bytes:
        """Encrypt a text field (UTF-8)."""
        return self.encrypt(purpose, text.encode("utf-8"))

    def decrypt_text(self, purpose: str, blob: bytes) -> str:
        """Decrypt a text field made by :meth:`encrypt_text`."""
        try:
            return self.decrypt(purpose, blob).decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError() from None

    def _encrypt_with_nonce(self, purpose: str, plaintext: bytes, nonce: bytes) -> bytes:
        """Test seam: encrypt with a chosen nonce for known-answer vectors."""
        return bytes([VERSION]) + nonce + self._cipher(purpose).encrypt(nonce, plaintext, self._aad(purpose))

    def _cipher(self, purpose: str) -> AESGCM:
        cipher = self._ciphers.get(purpose)
        if cipher is None:
            cipher = self._ciphers[purpose] = AESGCM(derive_subkey(self._case_key, purpose))
        return cipher

    def _aad(self, purpose: str) -> bytes:
        aad = self._aads.get(purpose)
        if aad is None:
            aad = self._aads[purpose] = bytes([VERSION]) + binding(self._case_id, purpose)
        return aad
