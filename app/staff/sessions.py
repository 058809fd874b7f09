"""Server-side staff sessions holding the user's private key, encrypted.

The cookie carries ``token ‖ session_key`` (64 random bytes, base64url). The
row stores SHA-256(token) and the private key under ``session_key``. A
database thief gets ciphertext without its key; a cookie thief without the
database gets a key for nothing; both are needed, as DESIGN.md section 4 asks.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from app.models.staff import SessionStage, StaffSession, StaffUser
from app.staff import keyring
from app.staff.errors import SessionInvalid
from config import Settings
from crypto import aead
from crypto.errors import CryptoError

COOKIE_NAME = "haechi_staff"
PENDING_MINUTES = 10  # time allowed between the password and the one-time code
_TOUCH_SECONDS = 60  # write last_seen_at at most once a minute


@dataclass(frozen=True)
class OpenedSession:
    """A session row together with the key from its cookie."""

    row: StaffSession
    session_key: bytes

    def private_key(self) -> bytes:
        """The user's private key; needs both the row and the cookie."""
        try:
            return keyring.decrypt_session_key(self.session_key, self.row.token_hash, self.row.private_key_ct)
        except CryptoError:
            raise SessionInvalid() from None


def _hash(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()


def start(
    session: Session, settings: Settings, user: StaffUser, private_key: bytes, stage: SessionStage, now: dt.datetime
) -> tuple[StaffSession, str]:
    """Create a session row and return it with the cookie value to set."""
    token = secrets.token_bytes(32)
    session_key = aead.generate_key()
    token_hash = _hash(token)
    lifetime = (
        dt.timedelta(hours=settings.staff_absolute_hours)
        if stage == SessionStage.ACTIVE
        else dt.timedelta(minutes=PENDING_MINUTES)
    )
    row = StaffSession(
        token_hash=token_hash,
        user_id=user.id,
        stage=stage.value,
        private_key_ct=keyring.encrypt_session_key(session_key, token_hash, private_key),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return row, base64.urlsafe_b64encode(token + session_key).decode()


def load(session: Session, settings: Settings, cookie: str | None, now: dt.datetime) -> OpenedSession:
    """Find the session a cookie names; refuse it when expired (and delete it then)."""
    if not cookie:
        raise SessionInvalid()
    try:
        raw = base64.urlsafe_b64decode(cookie.encode())
    except (binascii.Error, ValueError):
        raise SessionInvalid() from None
    if len(raw) != 64:
        raise SessionInvalid()
    token, session_key = raw[:32], raw[32:]
    token_hash = _hash(token)
    # The user and their roles come in the same statement: every staff request needs both
    # (the session check, then the route's role rule), and loading them lazily took two more.
    row = (
        session.scalars(
            select(StaffSession)
            .options(joinedload(StaffSession.user).joinedload(StaffUser.roles))
            .where(StaffSession.token_hash == token_hash)
        )
        .unique()
        .first()
    )
    if row is None or not hmac.compare_digest(row.token_hash, token_hash):
        raise SessionInvalid()
    idle = dt.timedelta(minutes=settings.staff_idle_minutes)
    if row.expires_at <= now or row.last_seen_at + idle <= now:
        session.delete(row)
        session.commit()
        raise SessionInvalid()
    return OpenedSession(row=row, session_key=session_key)


def touch(row: StaffSession, now: dt.datetime) -> bool:
    """Note activity for the idle timeout; True if the row changed."""
    if (now - row.last_seen_at).total_seconds() >= _TOUCH_SECONDS:
        row.last_seen_at = now
        return True
    return False


def promote(session: Session, settings: Settings, opened: OpenedSession, now: dt.datetime) -> tuple[StaffSession, str]:
    """Finish a login: replace the pending session with a new active one (new token, no fixation)."""
    private = opened.private_key()
    user = opened.row.user
    session.delete(opened.row)
    return start(session, settings, user, private, SessionStage.ACTIVE, now)


def destroy(session: Session, row: StaffSession) -> None:
    """Log out: the row, and with it the encrypted key, is gone."""
    session.delete(row)


def purge_expired(session: Session, settings: Settings, now: dt.datetime) -> int:
    """Delete every expired or idle session row; returns how many."""
    idle_cutoff = now - dt.timedelta(minutes=settings.staff_idle_minutes)
    result = session.execute(
        delete(StaffSession).where((StaffSession.expires_at <= now) | (StaffSession.last_seen_at <= idle_cutoff))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def store_pending_totp(opened: OpenedSession, secret: str) -> None:
    """Keep a TOTP secret being enrolled, encrypted under the session key."""
    aad = b"pending-totp" + opened.row.token_hash
    opened.row.pending_totp_ct = aead.encrypt(opened.session_key, secret.encode(), aad)


def pending_totp(opened: OpenedSession) -> str | None:
    """The TOTP secret being enrolled in this session, if any."""
    if opened.row.pending_totp_ct is None:
        return None
    try:
        aad = b"pending-totp" + opened.row.token_hash
        return aead.decrypt(opened.session_key, opened.row.pending_totp_ct, aad).decode()
    except CryptoError:
        return None
