"""Fixtures for the crypto tests: cheap Argon2id parameters and flip helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crypto.kdf import Argon2Params

# Tests lower the Argon2id cost (DESIGN.md section 4 allows it for tests only);
# production strength is checked separately in test_kdf.py.
FAST = Argon2Params(memory_kib=64, iterations=1, lanes=1)


@pytest.fixture
def fast_params() -> Argon2Params:
    return FAST


def every_bit_flip(blob: bytes) -> Iterator[bytes]:
    """Yield ``blob`` with each single bit flipped in turn."""
    for i in range(len(blob)):
        for bit in range(8):
            mutated = bytearray(blob)
            mutated[i] ^= 1 << bit
            yield bytes(mutated)


def every_truncation(blob: bytes) -> Iterator[bytes]:
    """Yield every proper prefix of ``blob`` (including empty)."""
    for n in range(len(blob)):
        yield blob[:n]
