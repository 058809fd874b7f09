"""Known-answer vectors: a change to any format (or to a derivation) fails here.

The vectors in tests/vectors/crypto_v1.json were made once by
make_vectors.py; they are compared with fresh output and decrypted, so an
accidental format change cannot slip through while old data stays readable.
"""

import io
import json
from pathlib import Path

import pytest

from crypto import aead, fields, passwords, receipts, sealing, signing, stream
from crypto.errors import DecryptionError
from crypto.kdf import Argon2Params

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "crypto_v1.json").read_text())
h = bytes.fromhex


def _params(v):
    return Argon2Params(memory_kib=v["memory_kib"], iterations=v["iterations"], lanes=v["lanes"])


@pytest.mark.parametrize("v", VECTORS["aead"])
def test_aead_vector(v):
    assert aead._encrypt_with_nonce(h(v["key"]), h(v["plaintext"]), h(v["aad"]), h(v["nonce"])) == h(v["blob"])
    assert aead.decrypt(h(v["key"]), h(v["blob"]), h(v["aad"])) == h(v["plaintext"])


@pytest.mark.parametrize("v", VECTORS["sealing"])
def test_sealing_vector(v):
    made = sealing._seal_with_ephemeral(
        h(v["ephemeral_private"]), h(v["recipient_public"]), h(v["plaintext"]), h(v["context"])
    )
    assert made == h(v["blob"])
    assert sealing.open_sealed(h(v["recipient_private"]), h(v["blob"]), h(v["context"])) == h(v["plaintext"])


@pytest.mark.parametrize("v", VECTORS["fields"])
def test_fields_vector(v):
    cipher = fields.FieldCipher(h(v["case_key"]), v["case_id"])
    assert cipher._encrypt_with_nonce(v["purpose"], h(v["plaintext"]), h(v["nonce"])) == h(v["blob"])
    assert cipher.decrypt(v["purpose"], h(v["blob"])) == h(v["plaintext"])


@pytest.mark.parametrize("v", VECTORS["stream"])
def test_stream_vector(v):
    out = io.BytesIO()
    w = stream.EncryptingWriter._with_salt(h(v["key"]), out, h(v["aad"]), v["chunk_size"], h(v["salt"]))
    w.write(h(v["plaintext"]))
    w.finish()
    assert out.getvalue() == h(v["blob"])
    assert stream.decrypt_bytes(h(v["key"]), h(v["blob"]), h(v["aad"])) == h(v["plaintext"])


@pytest.mark.parametrize("v", VECTORS["passwords"])
def test_password_vector(v):
    made = passwords._wrap_with(v["password"], h(v["secret"]), _params(v), h(v["salt"]), h(v["nonce"]))
    assert made == h(v["blob"])
    assert passwords.unwrap(v["password"], h(v["blob"])) == h(v["secret"])
    with pytest.raises(DecryptionError):
        passwords.unwrap(v["password"] + " ", h(v["blob"]))


@pytest.mark.parametrize("v", VECTORS["receipts"])
def test_receipt_vector(v):
    keys = receipts.derive_receipt_keys(v["receipt"], h(v["instance_salt"]), _params(v))
    assert keys.lookup_id == h(v["lookup_id"])
    assert keys.keypair.public == h(v["public"])


@pytest.mark.parametrize("v", VECTORS["signing"])
def test_signing_vector(v):
    assert signing.signing_key_from_private(h(v["private"])).public == h(v["public"])
    assert signing.sign(h(v["private"]), h(v["message"]), h(v["context"])) == h(v["signature"])
    signing.verify(h(v["public"]), h(v["signature"]), h(v["message"]), h(v["context"]))
