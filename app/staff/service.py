"""Staff accounts: creation, roles, password check with lockout, TOTP, password change.

No Flask request objects here: callers pass the session, settings and clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.models.staff import Role, StaffRole, StaffSession, StaffUser
from app.staff import keyring
from app.staff.errors import (
    AccountLocked,
    DuplicateUser,
    InvalidCredentials,
    InvalidEmail,
    InvalidTotp,
    OwnRolesUnchangeable,
    UnknownUser,
    WeakPassword,
)
from config import Settings
from crypto import generate_keypair, open_sealed, passwords, seal
from crypto.errors import CryptoError

# One plain address: no spaces or line breaks (a header injection), no commas or angle brackets
# (a second recipient), a dotted domain. The mail library would refuse a CR/LF anyway, but at
# sending time, for every mail of the run after it.
EMAIL_PATTERN = re.compile(r"[^@\s,;<>\"()\[\]\\]{1,64}@[^@\s,;<>\"()\[\]\\]+\.[^@\s,;<>\"()\[\]\\.]+")
EMAIL_WHOLE = re.compile(rf"(?:{EMAIL_PATTERN.pattern})\Z")  # for WTForms' Regexp, which only anchors the start
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


@dataclass(frozen=True)
class Authenticated:
    """A user whose password opened their private key."""

    user: StaffUser
    private_key: bytes


def check_password_rules(password: str, username: str) -> None:
    """Refuse passwords that are short, absurdly long, or contain the username."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"at most {MAX_PASSWORD_LENGTH} characters")
    if username and username.lower() in password.lower():
        raise WeakPassword("must not contain the username")


def normalise_username(username: str) -> str:
    """Usernames are compared case-insensitively, without surrounding spaces."""
    return username.strip().lower()


def check_email(email: str | None) -> str | None:
    """The address trimmed, None when empty; :class:`InvalidEmail` unless it is one plain address."""
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > 200 or not EMAIL_PATTERN.fullmatch(email):
        raise InvalidEmail("give one e-mail address, like name@city.example")
    return email


def create_user(
    session: Session,
    settings: Settings,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: set[Role],
    email: str | None = None,
    totp_secret: str | None = None,
) -> StaffUser:
    """Create a user with a fresh X25519 key pair wrapped under ``password``.

    ``totp_secret`` pre-enrols TOTP (demo accounts and CLI); otherwise the user
    enrols by QR code at first login.
    """
    name = normalise_username(username)
    if not name or len(name) > 100:
        raise InvalidCredentials("username must be 1 to 100 characters")
    email = check_email(email)
    check_password_rules(password, name)
    if session.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.username == name)):
        raise DuplicateUser(name)
    keys = generate_keypair()
    user = StaffUser(
        username=name,
        display_name=display_name.strip() or name,
        email=email,
        public_key=keys.public,
        wrapped_private_key_ct=passwords.wrap(password, keys.private, settings.argon2),
        failed_logins=0,
        is_active=True,
    )
    user.roles = [StaffRole(role=r.value) for r in sorted(roles)]
    session.add(user)
    session.flush()
    if totp_secret is not None:
        user.totp_secret_ct = seal(user.public_key, totp_secret.encode(), keyring.totp_context(user.id))
    return user


def get_user(session: Session, user_id: int) -> StaffUser:
    """Load a user by id or raise :class:`UnknownUser`."""
    user = session.get(StaffUser, user_id)
    if user is None:
        raise UnknownUser(str(user_id))
    return user


def find_user(session: Session, username: str) -> StaffUser | None:
    """Find a user by username (case-insensitive)."""
    return session.scalars(select(StaffUser).where(StaffUser.username == normalise_username(username))).first()


def set_roles(user: StaffUser, roles: set[Role], *, actor: StaffUser) -> None:
    """Replace the user's roles, unless ``actor`` is the user themselves and the set would change.

    Threat: an administrator granting themselves a role that opens what is kept
    from administrators (supervisor: raw quarantined bridge bytes, identity
    decisions; protection: identities), or dropping their own administrator
    role by mistake. Roles are therefore always set by a second person.
    """
    if actor.id == user.id and set(roles) != set(user.role_set):
        raise OwnRolesUnchangeable(user.username)
    user.roles = [StaffRole(role=r.value) for r in sorted(roles)]


def set_active(session: Session, user: StaffUser, active: bool) -> None:
    """Enable or disable an account; disabling also ends all of its sessions."""
    user.is_active = active
    if not active:
        session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))


# A wrapped blob of a key nobody has, so that an unknown username costs the same
# Argon2id run as a known one (no username oracle by timing).
_DUMMY: dict[tuple[int, int, int], bytes] = {}


def _dummy_blob(settings: Settings) -> bytes:
    params = settings.argon2
    key = (params.memory_kib, params.iterations, params.lanes)
    if key not in _DUMMY:
        _DUMMY[key] = passwords.wrap(secrets.token_urlsafe(24), bytes(32), params)
    return _DUMMY[key]


def authenticate(session: Session, settings: Settings, username: str, password: str, now: dt.datetime) -> Authenticated:
    """Check the password by opening the wrapped private key; count failures and lock out.

    Wrong username, wrong password and disabled account all raise the same
    :class:`InvalidCredentials` after the same work.
    """
    user = find_user(session, username)
    if user is None or not user.is_active:
        with contextlib.suppress(CryptoError):
            passwords.unwrap(password, _dummy_blob(settings))
        raise InvalidCredentials()
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(user.locked_until.isoformat())
    try:
        private = passwords.unwrap(password, user.wrapped_private_key_ct)
    except CryptoError:
        record_failure(user, settings, now)
        raise InvalidCredentials() from None
    if passwords.needs_rewrap(user.wrapped_private_key_ct, settings.argon2):
        # Raise the stored Argon2id cost to today's settings while we hold the password.
        user.wrapped_private_key_ct = passwords.wrap(password, private, settings.argon2)
    return Authenticated(user=user, private_key=private)


def record_failure(user: StaffUser, settings: Settings, now: dt.datetime) -> None:
    """Count a failed password or code; lock with doubling backoff past the threshold."""
    user.failed_logins = (user.failed_logins or 0) + 1
    over = user.failed_logins - settings.login_lockout_after
    if over >= 0:
        minutes = settings.login_lockout_minutes * (2 ** min(over, 6))
        user.locked_until = now + dt.timedelta(minutes=minutes)


def record_success(user: StaffUser) -> None:
    """A full login (password and code) clears the failure count."""
    user.failed_logins = 0
    user.locked_until = None


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def totp_uri(settings: Settings, user: StaffUser, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=settings.totp_issuer)


def verify_totp(user: StaffUser, secret: str, code: str, now: dt.datetime) -> None:
    """Accept a 6-digit code for this or the neighbouring 30 s step, never the same step twice."""
    code = "".join(code.split())
    if not (len(code) == 6 and code.isdigit()):
        raise InvalidTotp()
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step - 1, step, step + 1):
        # pyotp compares in constant time (hmac.compare_digest).
        if totp.verify(code, for_time=candidate * totp.interval, valid_window=0):
            if user.totp_last_step is not None and candidate <= user.totp_last_step:
                raise InvalidTotp()  # replay of a code already used
            user.totp_last_step = candidate
            return
    raise InvalidTotp()


def open_totp_secret(user: StaffUser, private_key: bytes) -> str:
    """The user's TOTP secret, opened with their private key."""
    if user.totp_secret_ct is None:
        raise InvalidTotp()
    return open_sealed(private_key, user.totp_secret_ct, keyring.totp_context(user.id)).decode()


def enrol_totp(user: StaffUser, secret: str) -> None:
    """Store a confirmed TOTP secret, sealed to the user's own public key."""
    user.totp_secret_ct = seal(user.public_key, secret.encode(), keyring.totp_context(user.id))


def change_password(
    session: Session,
    settings: Settings,
    user: StaffUser,
    old: str,
    new: str,
    keep_session_id: int | None,
    *,
    now: dt.datetime | None = None,
) -> None:
    """Re-wrap the private key under a new password; end the user's other sessions.

    Threat: a stolen session cookie used to guess the current password here
    without limit; the right guess would let the thief set a password of their
    own and keep the account after the session ends. Wrong guesses therefore
    count toward the login page's lockout (same thresholds, :func:`record_failure`)
    and a locked account is refused with :class:`AccountLocked`, as
    :func:`authenticate` does. The caller commits after :class:`InvalidCredentials`
    so that the count is kept.
    """
    now = now or dt.datetime.now(dt.UTC)
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(user.locked_until.isoformat())
    check_password_rules(new, user.username)
    try:
        user.wrapped_private_key_ct = passwords.rewrap(old, new, user.wrapped_private_key_ct, settings.argon2)
    except CryptoError:
        record_failure(user, settings, now)
        raise InvalidCredentials() from None
    user.password_changed_at = now
    stmt = delete(StaffSession).where(StaffSession.user_id == user.id)
    if keep_session_id is not None:
        stmt = stmt.where(StaffSession.id != keep_session_id)
    session.execute(stmt)
