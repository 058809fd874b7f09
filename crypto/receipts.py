"""Receipt codes: the reporter's only key back to their case.

A receipt is 24 decimal digits: 22 random (about 73 bits) and 2 check digits
(ISO/IEC 7064 MOD 97-10, as in IBAN), shown as six groups of four. The check
digits catch every single mistyped digit and every swap of two neighbours
*before* any slow derivation, so a typo gets a helpful message and costs the
server nothing, while a well-formed wrong receipt still costs a full
Argon2id run (constant work).

Derivation (scheme 1), one Argon2id run and nothing else slow::

    ikm       = Argon2id(digits as ASCII, salt = instance receipt secret, 32 bytes)
    token     = HKDF-SHA256(ikm, info = "haechi/receipt/v1/lookup")
    lookup_id = HMAC-SHA256(token, "haechi/receipt/v1/lookup-id")
    seed      = HKDF-SHA256(ikm, info = "haechi/receipt/v1/x25519")
    key pair  = X25519 from seed

The salt is a secret of the instance folder (not in the database), so a
stolen database alone cannot even start guessing receipts. ``lookup_id`` is
what the database stores to find the case; the key pair is what the case key
is sealed to. The code itself is never stored.
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import CryptoError, ReceiptChecksumError, ReceiptFormatError
from crypto.kdf import DEFAULT_PARAMS, Argon2Params, argon2id
from crypto.keys import KeyPair, keypair_from_seed

SCHEME = 1
RANDOM_DIGITS = 22
CHECK_DIGITS = 2
LENGTH = RANDOM_DIGITS + CHECK_DIGITS
GROUP = 4
MIN_SALT_BYTES = 16
# What people type or paste between groups besides the categories below: dots,
# slashes, underscores, and dash-like signs that are not in category Pd
# (wave dash, full-width tilde, katakana long vowel mark, Hangul ㅡ).
_EXTRA_SEPARATORS = frozenset("._/~\u301c\uff5e\u30fc\u3161\u2043\u2e3a\u2212")
# Spaces, line breaks, controls, invisible format characters (soft hyphen,
# zero-width space, BOM, direction marks) and every dash punctuation.
_SEPARATOR_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Pd"})


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
    digits = "".join(
        c for c in folded if c not in _EXTRA_SEPARATORS and unicodedata.category(c) not in _SEPARATOR_CATEGORIES
    )
    if not digits.isascii() or not digits.isdigit() or len(digits) != LENGTH:
        raise ReceiptFormatError(f"a receipt has exactly {LENGTH} digits")
    if int(digits) % 97 != 1:
        raise ReceiptChecksumError("the receipt does not check out: a digit may be mistyped")
    return digits


def derive_receipt_keys(code: str, instance_salt: bytes, params: Argon2Params = DEFAULT_PARAMS) -> ReceiptKeys:
    """Derive the lookup id and the key pair of a receipt with one Argon2id run."""
    digits = normalize_receipt(code)
    if len(instance_salt) < MIN_SALT_BYTES:
        raise CryptoError("the instance receipt salt is at least 16 bytes")
    ikm = argon2id(digits.encode("ascii"), instance_salt, params)
    # DESIGN.md section 4: the lookup token is stored as an HMAC of itself.
    lookup_token = _expand(ikm, b"haechi/receipt/v1/lookup")
    lookup_id = hmac.digest(lookup_token, b"haechi/receipt/v1/lookup-id", "sha256")
    seed = _expand(ikm, b"haechi/receipt/v1/x25519")
    return ReceiptKeys(lookup_id=lookup_id, keypair=keypair_from_seed(seed))


def _expand(ikm: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(ikm)
