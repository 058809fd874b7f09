"""Key material of staff and teams (DESIGN.md section 4), as pure functions over rows.

Contexts bind each sealed key to what it is, so a sealed team key cannot be
passed off as a sealed case key or as another team's key.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.staff import RecoveryKey, StaffUser, Team
from app.staff.errors import RecoveryKeyMissing
from crypto import aead, open_sealed, seal


def team_key_context(team_id: int, key_version: int) -> bytes:
    """Sealing context of a team's private key (per team and key version)."""
    return f"haechi/team-key/v1:{team_id}:{key_version}".encode()


def case_key_context(case_id: int) -> bytes:
    """Sealing context of a case key, whoever the grantee (team, user, reporter, recovery)."""
    return f"haechi/case-key/v1:{case_id}".encode()


def identity_key_context(case_id: int) -> bytes:
    """Sealing context of a case's identity key (protection team and recovery only)."""
    return f"haechi/identity-key/v1:{case_id}".encode()


def totp_context(user_id: int) -> bytes:
    """Sealing context of a user's TOTP secret."""
    return f"haechi/totp/v1:{user_id}".encode()


def session_aad(token_hash: bytes) -> bytes:
    """Associated data of a session's encrypted private key (ties it to its row)."""
    return b"haechi/staff-session/v1:" + token_hash


def recovery_public_key(session: Session) -> bytes:
    """The active organisation recovery public key, or :class:`RecoveryKeyMissing`."""
    key = session.scalars(select(RecoveryKey).where(RecoveryKey.active.is_(True)).limit(1)).first()
    if key is None:
        raise RecoveryKeyMissing("no recovery key: run `flask recovery init` first")
    return key.public_key


def open_team_key(team: Team, user: StaffUser, user_private: bytes) -> bytes | None:
    """The team's private key as opened by ``user``, or None if not a confirmed member."""
    for m in team.memberships:
        if m.user_id == user.id and m.sealed_team_key_ct is not None and m.key_version == team.key_version:
            return open_sealed(user_private, m.sealed_team_key_ct, team_key_context(team.id, team.key_version))
    return None


def seal_team_key_to(team: Team, team_private: bytes, public_key: bytes) -> bytes:
    """Seal the team's current private key to one member's (or recovery's) public key."""
    return seal(public_key, team_private, team_key_context(team.id, team.key_version))


def encrypt_session_key(session_key: bytes, token_hash: bytes, private_key: bytes) -> bytes:
    """Encrypt a user's private key under the session key held in the cookie."""
    return aead.encrypt(session_key, private_key, session_aad(token_hash))


def decrypt_session_key(session_key: bytes, token_hash: bytes, blob: bytes) -> bytes:
    """Recover the user's private key from the session row and the cookie's key."""
    return aead.decrypt(session_key, blob, session_aad(token_hash))
