"""Encryption of a bridge record's normalised payload, one subkey per source (format 2).

Format 1 (:func:`monitoring_bridge.keyring.encrypt_payload`) derives a subkey
per record (purpose ``payload:<source>:<external id>``): one HKDF per record
was about a fifth of a bulk import's crypto time. Format 2 derives one subkey
per source and binds the record instead through the associated data, so the
threat the binding answers is still answered: a payload moved to another
record or source (by someone who can write the database) no longer opens.

Format 2::

    crypto.aead blob under HKDF(bridge_key, info = "haechi/field-key/v1" | "payload-v2:<source id>")
    associated data = len‖"haechi/bridge-payload/v2" | len‖source id | len‖external id

The version byte of both formats is 0x01 (they are both ``crypto`` boxes), so
:meth:`PayloadCipher.decrypt` tries format 2 and falls back to format 1 for
rows written before it.
"""

from __future__ import annotations

import struct

from crypto import aead
from crypto._format import length_prefixed
from crypto.errors import DecryptionError
from crypto.fields import derive_subkey
from monitoring_bridge import keyring

_LABEL = b"haechi/bridge-payload/v2"


class PayloadCipher:
    """Encrypts and decrypts the payloads of one source's records under one cached subkey."""

    def __init__(self, bridge_key: bytes, source_id: int) -> None:
        self._bridge_key = bridge_key
        self._source_id = source_id
        # length_prefixed(_LABEL, source id, external id), its constant head computed once.
        self._aad_head = length_prefixed(_LABEL, str(source_id).encode())
        self._box = aead.Box(derive_subkey(bridge_key, f"payload-v2:{source_id}"))

    def __repr__(self) -> str:
        return f"PayloadCipher(source_id={self._source_id})"

    def _aad(self, external_id: str) -> bytes:
        ext = external_id.encode()
        return self._aad_head + struct.pack(">I", len(ext)) + ext

    def encrypt(self, external_id: str, payload: bytes) -> bytes:
        """The payload of record ``external_id``, encrypted and bound to it and its source."""
        return self._box.encrypt(payload, self._aad(external_id))

    def decrypt(self, external_id: str, blob: bytes) -> bytes:
        """The payload of record ``external_id`` (either format); DecryptionError if moved or tampered."""
        try:
            return self._box.decrypt(blob, self._aad(external_id))
        except DecryptionError:
            return keyring.decrypt_payload(self._bridge_key, self._source_id, external_id, blob)
