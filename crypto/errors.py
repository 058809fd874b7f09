"""One exception hierarchy for the whole crypto package.

Every failure to open a ciphertext is a :class:`DecryptionError` whose message
never says *why* (wrong key, flipped bit, wrong case or purpose, truncation):
telling those apart would hand an attacker an oracle.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error raised by :mod:`crypto`."""


class DecryptionError(CryptoError):
    """A ciphertext could not be opened; deliberately says nothing more."""

    def __init__(self, message: str = "could not decrypt") -> None:
        super().__init__(message)


class UnsupportedVersionError(CryptoError):
    """A blob starts with a format version byte this code does not know."""


class InvalidSignatureError(CryptoError):
    """An Ed25519 signature does not verify for this key and message."""


class WeakParametersError(CryptoError):
    """Argon2id parameters are below the production minimum or above the safe maximum."""


class ReceiptError(CryptoError):
    """Base class of receipt-code errors that are detectable without any slow work."""


class ReceiptFormatError(ReceiptError):
    """The typed receipt has characters or a length a receipt never has."""


class ReceiptChecksumError(ReceiptError):
    """The typed receipt has the right shape but its check digits do not match (a typo)."""
