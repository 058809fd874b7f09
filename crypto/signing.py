"""Ed25519 signatures for audit checkpoints and signed exports.

Format (version 1)::

    0x01 | Ed25519 signature (64)

The signed message is ``len‖"haechi/sign/v1" | len‖context | len‖message``,
so a signature made for an audit checkpoint cannot be passed off as one for
an export (domain separation by ``context``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto._format import check_version, length_prefixed
from crypto.errors import CryptoError, InvalidSignatureError, UnsupportedVersionError

VERSION = 0x01
SIGNATURE_BYTES = 1 + 64


@dataclass(frozen=True, repr=False)
class SigningKeyPair:
    """An Ed25519 private key (raw 32-byte seed) and its public half."""

    private: bytes
    public: bytes

    def __repr__(self) -> str:
        return f"SigningKeyPair(public={self.public.hex()[:16]}…)"


def generate_signing_key() -> SigningKeyPair:
    """Make a fresh Ed25519 key pair (the instance's audit signing key)."""
    return signing_key_from_private(os.urandom(32))


def signing_key_from_private(private: bytes) -> SigningKeyPair:
    """Rebuild the key pair from its raw private bytes."""
    if len(private) != 32:
        raise CryptoError("an Ed25519 private key is 32 bytes")
    key = Ed25519PrivateKey.from_private_bytes(private)
    return SigningKeyPair(private=private, public=key.public_key().public_bytes_raw())


def sign(private: bytes, message: bytes, context: bytes) -> bytes:
    """Sign ``message`` for ``context``."""
    if len(private) != 32:
        raise CryptoError("an Ed25519 private key is 32 bytes")
    key = Ed25519PrivateKey.from_private_bytes(bytes(private))
    return bytes([VERSION]) + key.sign(_signed(message, context))


def verify(public: bytes, signature: bytes, message: bytes, context: bytes) -> None:
    """Return quietly if the signature is valid; raise :class:`InvalidSignatureError` if not."""
    try:
        check_version(signature, VERSION, "signature")
    except UnsupportedVersionError:
        raise
    except CryptoError:
        raise InvalidSignatureError("signature does not verify") from None
    if len(signature) != SIGNATURE_BYTES or len(public) != 32:
        raise InvalidSignatureError("signature does not verify")
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public)).verify(bytes(signature[1:]), _signed(message, context))
    except (InvalidSignature, ValueError):
        raise InvalidSignatureError("signature does not verify") from None


def _signed(message: bytes, context: bytes) -> bytes:
    return length_prefixed(b"haechi/sign/v1", context, message)
