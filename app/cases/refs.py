"""Case references ("HC-2026-7KQ2MX"), shared by reports and bridge cases.

Random, never sequential: a sequence would tell anyone who sees one
reference how many cases came before it. The alphabet leaves out 0/O and
1/I, which are misread when a reference is read out over the phone. Callers
check uniqueness against the database themselves (one query per reference,
or one per batch).
"""

from __future__ import annotations

import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LETTERS = 6
# 32 letters, so the low five bits of a random byte pick one without bias.
assert len(ALPHABET) == 32


def random_ref(year: int) -> str:
    """A fresh random reference of ``year`` (32⁶, about a billion, per year)."""
    return f"HC-{year}-" + "".join([ALPHABET[b & 31] for b in secrets.token_bytes(LETTERS)])
