"""Receipt codes: the reporter's only key back to their case.

A receipt is 24 decimal digits: 22 random (about 73 bits) and 2 check digits
(ISO/IEC 7064 MOD 97-10, as in IBAN), shown as six groups of four. The check
digits catch every single mistyped digit and every swap of two neighbours
*before* any slow derivation, so a typo gets a helpful message and costs the
server nothing, while a well-formed wrong receipt still costs a full
Argon2id run (constant work).

Derivation (scheme 1), one Argon2id run and nothing else slow::

    ikm       = Argon2id(digits as ASCII, salt = instance receipt secret, 32 bytes)
    lookup_id = HKDF-SHA256(ikm, info = "haechi/receipt/v1/lookup")
    seed      = HKDF-SHA256(ikm, info = "haechi/receipt/v1/x25519")
    key pair  = X25519 from seed

The salt is a secret of the instance folder (not in the database), so a
stolen database alone cannot even start guessing receipts. ``lookup_id`` is
what the database stores to find the case; the key pair is what the case key
is sealed to. The code itself is never stored.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import ReceiptChecksumError, ReceiptFormatError
from crypto.kdf import DEFAULT_PARAMS, Argon2Params, argon2id
from crypto.keys import KeyPair, keypair_from_seed

SCHEME = 1
RANDOM_DIGITS = 22
CHECK_DIGITS = 2
LENGTH = RANDOM_DIGITS + CHECK_DIGITS
GROUP = 4
MIN_SALT_BYTES = 16
# Separators people type or paste between groups: spaces of every width,
# hyphens and dashes of every kind (NFKC has already folded full-width forms).
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\u30fc\uff0d._/]+")


@dataclass(frozen=True, repr=False)
class ReceiptKeys:
    """What one receipt derivation yields: the lookup id and the reporter key pair."""

    lookup_id: bytes
    keypair: KeyPair

    def __repr__(self) -> str:
        return "ReceiptKeys(…)"


def check_digits(digits: str) -> str:
    """The two MOD 97-10 check digits for a string of digits."""
    return f"{98 - (int(digits) * 100) % 97:02d}"


def generate_receipt() -> str:
    """Make a new receipt code (24 digits, unformatted) from the OS's CSPRNG."""
    body = f"{secrets.randbelow(10**RANDOM_DIGITS):0{RANDOM_DIGITS}d}"
    return body + check_digits(body)


def format_receipt(code: str) -> str:
    """Show a receipt in groups of four separated by dashes: ``1234-5678-…``."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalize_receipt(typed: str) -> str:
    """Turn what a person typed into the 24 canonical digits, or say what is wrong.

    Accepts full-width digits, spaces and any kind of dash; raises
    :class:`ReceiptFormatError` for anything else or a wrong length, and
    :class:`ReceiptChecksumError` for a typo the check digits catch.
    """
    folded = unicodedata.normalize("NFKC", typed)
    digits = _SEPARATORS.sub("", folded)
    if not digits.isascii() or not digits.isdigit() or len(digits) != LENGTH:
        raise ReceiptFormatError(f"a receipt has exactly {LENGTH} digits")
    if int(digits) % 97 != 1:
        raise ReceiptChecksumError("the receipt does not check out: a digit may be mistyped")
    return digits


def derive_receipt_keys(code: str, instance_salt: bytes, params: Argon2Params = DEFAULT_PARAMS) -> ReceiptKeys:
    """Derive the lookup id and the key pair of a receipt with one Argon2id run."""
    digits = normalize_receipt(code)
    if len(instance_salt) < MIN_SALT_BYTES:
        raise ValueError("the instance receipt salt is at least 16 bytes")
    ikm = argon2id(digits.encode("ascii"), instance_salt, params)
    lookup_id = _expand(ikm, b"haechi/receipt/v1/lookup")
    seed = _expand(ikm, b"haechi/receipt/v1/x25519")
    return ReceiptKeys(lookup_id=lookup_id, keypair=keypair_from_seed(seed))


def _expand(ikm: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(ikm)
