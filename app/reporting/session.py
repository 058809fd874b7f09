"""The reporter's inbox session, held only by the reporter's browser.

After a receipt login the browser gets a cookie with the case id and the
receipt-derived private key, encrypted (AES-256-GCM) under a key derived from
the instance's session secret, with an idle expiry and an absolute end inside. The server stores
nothing about the session: no row, no time, no address. Idle expiry is
enforced by the expiry inside the cookie, refreshed on each request; "leave"
deletes the cookie.

Threat accepted: a copy of the cookie taken from the reporter's own browser
works until it expires (a short idle time, and never past the absolute end).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.reporting.errors import SessionEnded
from crypto import aead
from crypto.errors import CryptoError

COOKIE_NAME = "haechi_reporter"
COOKIE_PATH = "/receipt"
_AAD = b"haechi/reporter-session/v1"


@dataclass(frozen=True)
class ReporterSession:
    """A reporter's open inbox: which case, and the key that opens its grant."""

    case_id: int
    private_key: bytes
    ends_epoch: int  # absolute end, fixed at login: a copied cookie cannot be kept alive by polling


def _cookie_key(session_secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"haechi/reporter-cookie-key/v1").derive(
        session_secret
    )


def encode(session_secret: bytes, session: ReporterSession, expires_epoch: int) -> str:
    """The cookie value: the session, its idle expiry and its absolute end, encrypted."""
    payload = json.dumps(
        {"c": session.case_id, "k": session.private_key.hex(), "e": expires_epoch, "a": session.ends_epoch}
    ).encode()
    return base64.urlsafe_b64encode(aead.encrypt(_cookie_key(session_secret), payload, _AAD)).decode()


def decode(session_secret: bytes, cookie: str | None, now_epoch: int) -> ReporterSession:
    """Open a cookie, or :class:`SessionEnded` when missing, forged or expired."""
    if not cookie:
        raise SessionEnded()
    try:
        blob = base64.urlsafe_b64decode(cookie.encode())
        data = json.loads(aead.decrypt(_cookie_key(session_secret), blob, _AAD))
        session = ReporterSession(
            case_id=int(data["c"]), private_key=bytes.fromhex(data["k"]), ends_epoch=int(data["a"])
        )
        expires = min(int(data["e"]), session.ends_epoch)
    except (binascii.Error, ValueError, KeyError, TypeError, CryptoError):
        raise SessionEnded() from None
    if expires <= now_epoch or len(session.private_key) != 32:
        raise SessionEnded()
    return session
