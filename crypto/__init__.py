"""Haechi's cryptographic core: pure library, no Flask and no database.

Only ``cryptography``'s primitives (X25519, HKDF-SHA256, AES-256-GCM,
Argon2id, Ed25519, SHA-256/HMAC), composed as DESIGN.md section 4 says.
Every format starts with a version byte; see ``crypto/README.md``.
"""

from crypto import aead, fields, kdf, passwords, receipts, sealing, signing, stream
from crypto.errors import (
    CryptoError,
    DecryptionError,
    InvalidSignatureError,
    ReceiptChecksumError,
    ReceiptError,
    ReceiptFormatError,
    UnsupportedVersionError,
    WeakParametersError,
)
from crypto.fields import FieldCipher
from crypto.kdf import Argon2Params
from crypto.keys import KeyPair, generate_keypair, keypair_from_seed, public_from_private
from crypto.sealing import open_sealed, seal

__all__ = [
    "Argon2Params",
    "CryptoError",
    "DecryptionError",
    "FieldCipher",
    "InvalidSignatureError",
    "KeyPair",
    "ReceiptChecksumError",
    "ReceiptError",
    "ReceiptFormatError",
    "UnsupportedVersionError",
    "WeakParametersError",
    "aead",
    "fields",
    "generate_keypair",
    "kdf",
    "keypair_from_seed",
    "open_sealed",
    "passwords",
    "public_from_private",
    "receipts",
    "seal",
    "sealing",
    "signing",
    "stream",
]
