"""Shared helpers for versioned binary formats."""

from __future__ import annotations

import struct

from crypto.errors import DecryptionError, UnsupportedVersionError


def check_version(blob: bytes | memoryview, expected: int, name: str) -> None:
    """Fail on an empty blob or an unknown version byte, before any parsing.

    The version is checked first so that a future format is rejected with a
    clear error rather than mis-parsed into garbage.
    """
    if len(blob) == 0:
        raise DecryptionError()
    if blob[0] != expected:
        raise UnsupportedVersionError(
            f"unsupported {name} format version {blob[0]:#04x} (this code reads {expected:#04x})"
        )


def length_prefixed(*parts: bytes) -> bytes:
    """Concatenate byte strings unambiguously (u32 big-endian length before each).

    Without the lengths, ("ab", "c") and ("a", "bc") would bind to the same
    associated data.
    """
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)
