"""The bridge's own secrets, all under the instance ``bridge_key`` (config.SECRET_FILES).

Threat: a database thief. Per-source HMAC keys, quarantined raw bytes, record
payloads and the case keys the bridge still feeds are stored only encrypted
under subkeys of the instance bridge key, which never enters the database;
each ciphertext is bound to its purpose and owner (source, case), so moving
one elsewhere fails to open. Correlation keys and raw-line MACs are keyed too:
a plain hash would let a reader of the database confirm a guessed official or
record reference.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from crypto import FieldCipher

HMAC_KEY_BYTES = 32


def _cipher(bridge_key: bytes) -> FieldCipher:
    return FieldCipher(bridge_key, "haechi/bridge")


def new_hmac_key() -> bytes:
    """A fresh random per-source request-signing key."""
    return secrets.token_bytes(HMAC_KEY_BYTES)


def wrap_hmac_key(bridge_key: bytes, source_name: str, key: bytes) -> bytes:
    """A source's signing key, encrypted for the database."""
    return _cipher(bridge_key).encrypt(f"hmac:{source_name}", key)


def unwrap_hmac_key(bridge_key: bytes, source_name: str, blob: bytes) -> bytes:
    """The signing key of a source (DecryptionError if moved or tampered)."""
    return _cipher(bridge_key).decrypt(f"hmac:{source_name}", blob)


def encrypt_raw(bridge_key: bytes, source_id: int, raw: bytes) -> bytes:
    """Quarantined raw bytes, encrypted: a bad record may still name people."""
    return _cipher(bridge_key).encrypt(f"quarantine:{source_id}", raw)


def decrypt_raw(bridge_key: bytes, source_id: int, blob: bytes) -> bytes:
    """The raw bytes of a quarantined record, for retry."""
    return _cipher(bridge_key).decrypt(f"quarantine:{source_id}", blob)


def encrypt_payload(bridge_key: bytes, source_id: int, external_id: str, payload: bytes) -> bytes:
    """A record's normalised data, bound to its source and external id."""
    return _cipher(bridge_key).encrypt(f"payload:{source_id}:{external_id}", payload)


def decrypt_payload(bridge_key: bytes, source_id: int, external_id: str, blob: bytes) -> bytes:
    """A record's normalised data."""
    return _cipher(bridge_key).decrypt(f"payload:{source_id}:{external_id}", blob)


def wrap_case_key(bridge_key: bytes, case_id: int, case_key: bytes) -> bytes:
    """A bridge-made case's key, bound to that case."""
    return _cipher(bridge_key).encrypt(f"case-key:{case_id}", case_key)


def unwrap_case_key(bridge_key: bytes, case_id: int, blob: bytes) -> bytes:
    """The key of a case the bridge still feeds."""
    return _cipher(bridge_key).decrypt(f"case-key:{case_id}", blob)


def mac(bridge_key: bytes, purpose: str, *parts: str | bytes) -> bytes:
    """A keyed 32-byte fingerprint of ``parts`` (correlation keys, raw-line dedup)."""
    h = hmac.new(bridge_key, purpose.encode(), hashlib.sha256)
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.digest()


class RecordMac:
    """The keyed fingerprint of a record's normalised data, for one source: ``mac(key, "record-data", source, data)``.

    Why keyed: the data of a training record is mostly plain on its row except
    the official's name, so an unkeyed hash let anyone with the database and a
    staff directory recover that name. The HMAC state after the purpose and
    source is computed once and copied per record (a bulk import makes
    millions).
    """

    PURPOSE = "record-data"

    def __init__(self, bridge_key: bytes, source_id: int) -> None:
        source = str(source_id).encode()
        self._head = hmac.new(bridge_key, self.PURPOSE.encode(), hashlib.sha256)
        self._head.update(len(source).to_bytes(8, "big"))
        self._head.update(source)

    def __repr__(self) -> str:
        return "RecordMac(...)"

    def __call__(self, normalised: bytes) -> bytes:
        h = self._head.copy()
        h.update(len(normalised).to_bytes(8, "big"))
        h.update(normalised)
        return h.digest()


def signature(key: bytes, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``timestamp + "\\n" + body``: what a feed sends in X-Haechi-Signature."""
    return hmac.new(key, timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
