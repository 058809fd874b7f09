"""X25519 key pairs: generation, derivation from a seed, raw serialisation.

Keys travel as raw 32-byte strings so that they can be sealed, wrapped and
stored as opaque binary columns without any PEM/DER parsing surface.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from crypto.errors import CryptoError

KEY_BYTES = 32


@dataclass(frozen=True, repr=False)
class KeyPair:
    """An X25519 private key and its public half, both as raw bytes."""

    private: bytes
    public: bytes

    def __repr__(self) -> str:
        # Threat: a key pair printed into a log or a traceback leaks the private key.
        return f"KeyPair(public={self.public.hex()[:16]}…)"


def generate_keypair() -> KeyPair:
    """Make a fresh random X25519 key pair (staff, team, case grantee, recovery)."""
    return keypair_from_seed(os.urandom(KEY_BYTES))


def keypair_from_seed(seed: bytes) -> KeyPair:
    """Build the key pair whose private scalar is ``seed`` (used for receipt-derived keys)."""
    if len(seed) != KEY_BYTES:
        raise CryptoError("an X25519 seed is 32 bytes")
    private = X25519PrivateKey.from_private_bytes(seed)
    return KeyPair(private=seed, public=private.public_key().public_bytes_raw())


def public_from_private(private: bytes) -> bytes:
    """Return the raw public key that belongs to a raw private key."""
    return X25519PrivateKey.from_private_bytes(_check_len(private)).public_key().public_bytes_raw()


def load_private(private: bytes) -> X25519PrivateKey:
    """Turn raw private bytes into a ``cryptography`` key object."""
    return X25519PrivateKey.from_private_bytes(_check_len(private))


def load_public(public: bytes) -> X25519PublicKey:
    """Turn raw public bytes into a ``cryptography`` key object."""
    return X25519PublicKey.from_public_bytes(_check_len(public))


def _check_len(raw: bytes) -> bytes:
    if len(raw) != KEY_BYTES:
        raise CryptoError("an X25519 key is 32 bytes")
    return raw
