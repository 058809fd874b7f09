"""Blind index of an employee number: how protected persons and personnel events find each other.

Threat: the database (or a backup, or a log) is read by someone who should
not learn who is protected or whose personnel events we hold. We therefore
never store an employee number; we store ``HMAC-SHA256(protection_key,
"haechi/blind-index/v1" || 0x00 || normalised number)``. The key lives in the
instance folder (``secrets/protection_key``), not the database, so a stolen
database cannot be brute-forced over the small space of employee numbers.

Format, version 1 (``VERSION``): 32 bytes, the raw HMAC output. The version
is bound in through the domain-separation label rather than a prefix byte,
because the ``blind_index`` columns are ``LargeBinary(32)`` and both sides of
a match (``protected_persons`` and ``personnel_events``) must be computed
with the same version anyway. A future version changes the label and
re-indexes both tables in one migration.

Normalisation, version 1: Unicode NFKC (full-width digits and letters become
ASCII, as HR exports from Korean systems often contain them), then every kind
of whitespace and dash (ASCII hyphen, en/em dash, minus sign, the Korean
full-width hyphen) removed, then upper-case. ``"ab-12 345"``,
``"AB12345"`` and the same written in full-width forms give the same index.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

VERSION = 1
_LABEL = b"haechi/blind-index/v1\x00"
KEY_BYTES = 32
# Whitespace (any Unicode space) and the dash characters NFKC leaves as they are.
_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70]+")


class BlindIndexError(ValueError):
    """The key or the employee number cannot give a blind index (wrong key size, nothing left to index)."""


def normalise_employee_number(employee_number: str) -> str:
    """The canonical form that is indexed: NFKC, no spaces or dashes, upper-case."""
    text = unicodedata.normalize("NFKC", employee_number)
    return _SEPARATORS.sub("", text).upper()


def blind_index(protection_key: bytes, employee_number: str) -> bytes:
    """The 32-byte version-1 blind index of an employee number under the instance's protection key."""
    if len(protection_key) != KEY_BYTES:
        raise BlindIndexError("the protection key must be 32 bytes")
    normalised = normalise_employee_number(employee_number)
    if not normalised:
        raise BlindIndexError("the employee number is empty once normalised")
    return hmac.new(protection_key, _LABEL + normalised.encode("utf-8"), hashlib.sha256).digest()


def same_index(a: bytes, b: bytes) -> bool:
    """Compare two blind indexes in constant time."""
    return hmac.compare_digest(a, b)
