"""Regenerate tests/vectors/crypto_v1.json from the test seams.

Run only when a format is deliberately changed (with a new version byte):
the committed file is what catches an accidental change of format.

    .venv/bin/python tests/vectors/make_vectors.py
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from crypto import aead, fields, passwords, receipts, sealing, signing, stream
from crypto.kdf import Argon2Params
from crypto.keys import keypair_from_seed

OUT = Path(__file__).with_name("crypto_v1.json")
KEY = bytes(range(32))
PARAMS = Argon2Params(memory_kib=64, iterations=1, lanes=1)


def build() -> dict[str, list[dict[str, object]]]:
    """Every format's known answers, made with fixed keys, nonces and salts."""
    recipient = keypair_from_seed(bytes([7]) * 32)
    receipt = "188954034842372571843873"
    rk = receipts.derive_receipt_keys(receipt, b"S" * 32, PARAMS)
    sk = signing.signing_key_from_private(bytes([9]) * 32)
    stream_out = io.BytesIO()
    w = stream.EncryptingWriter._with_salt(KEY, stream_out, b"case-1/att-1", 16, b"\x05" * 32)
    stream_plain = "스트림 청크 경계 테스트 / stream chunk boundary".encode()
    w.write(stream_plain)
    w.finish()
    return {
        "aead": [
            {
                "key": KEY.hex(),
                "aad": b"session:1".hex(),
                "nonce": (b"\x01" * 12).hex(),
                "plaintext": b"session private key".hex(),
                "blob": aead._encrypt_with_nonce(KEY, b"session private key", b"session:1", b"\x01" * 12).hex(),
            }
        ],
        "sealing": [
            {
                "recipient_private": recipient.private.hex(),
                "recipient_public": recipient.public.hex(),
                "ephemeral_private": (b"\x03" * 32).hex(),
                "context": b"case-key:1".hex(),
                "plaintext": KEY.hex(),
                "blob": sealing._seal_with_ephemeral(b"\x03" * 32, recipient.public, KEY, b"case-key:1").hex(),
            }
        ],
        "fields": [
            {
                "case_key": KEY.hex(),
                "case_id": "case-1",
                "purpose": "report.what",
                "nonce": (b"\x02" * 12).hex(),
                "plaintext": "법인카드 심야 사용".encode().hex(),
                "blob": fields.FieldCipher(KEY, "case-1")
                ._encrypt_with_nonce("report.what", "법인카드 심야 사용".encode(), b"\x02" * 12)
                .hex(),
            }
        ],
        "stream": [
            {
                "key": KEY.hex(),
                "aad": b"case-1/att-1".hex(),
                "chunk_size": 16,
                "salt": (b"\x05" * 32).hex(),
                "plaintext": stream_plain.hex(),
                "blob": stream_out.getvalue().hex(),
            }
        ],
        "passwords": [
            {
                "password": "비밀번호 correct horse",
                "secret": KEY.hex(),
                "memory_kib": PARAMS.memory_kib,
                "iterations": PARAMS.iterations,
                "lanes": PARAMS.lanes,
                "salt": (b"\x04" * 16).hex(),
                "nonce": (b"\x06" * 12).hex(),
                "blob": passwords._wrap_with("비밀번호 correct horse", KEY, PARAMS, b"\x04" * 16, b"\x06" * 12).hex(),
            }
        ],
        "receipts": [
            {
                "receipt": receipt,
                "instance_salt": (b"S" * 32).hex(),
                "memory_kib": PARAMS.memory_kib,
                "iterations": PARAMS.iterations,
                "lanes": PARAMS.lanes,
                "lookup_id": rk.lookup_id.hex(),
                "public": rk.keypair.public.hex(),
            }
        ],
        "signing": [
            {
                "private": sk.private.hex(),
                "public": sk.public.hex(),
                "context": b"audit-checkpoint".hex(),
                "message": b"checkpoint 1".hex(),
                "signature": signing.sign(sk.private, b"checkpoint 1", b"audit-checkpoint").hex(),
            }
        ],
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")
