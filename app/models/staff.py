"""Staff users, roles, teams with their wrapped keys, server-side sessions, recovery key."""

from __future__ import annotations

import datetime as dt
import enum

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, ciphertext, intpk, str100, str200, timestamp, utcnow


class Role(enum.StrEnum):
    """Staff roles of DESIGN.md section 2; a user may hold several."""

    INTAKE = "intake"
    INVESTIGATOR = "investigator"
    LEGAL = "legal"
    PROTECTION = "protection"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class TeamKind(enum.StrEnum):
    """What a team does; decides which cases it is sealed to by default."""

    INTAKE = "intake"
    INVESTIGATION = "investigation"
    LEGAL = "legal"
    PROTECTION = "protection"


class SessionStage(enum.StrEnum):
    """How far a staff login has got: password done, TOTP still to enrol or to enter, or complete."""

    TOTP_ENROL = "totp_enrol"
    TOTP_VERIFY = "totp_verify"
    ACTIVE = "active"


class StaffUser(UserMixin, Base):
    """A member of staff. The private key is stored only wrapped under the password.

    ``is_active`` (a column) is also what Flask-Login reads: a disabled user is logged out.
    """

    __tablename__ = "staff_users"

    id: Mapped[intpk]
    username: Mapped[str100] = mapped_column(unique=True)
    display_name: Mapped[str200]
    email: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8), default="ko")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Argon2id-wrapped X25519 private key (crypto.passwords). Opening it is the password check.
    wrapped_private_key_ct: Mapped[bytes] = mapped_column(LargeBinary)
    # TOTP secret sealed to the user's own public key: a stolen DB does not yield it.
    totp_secret_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    password_changed_at: Mapped[timestamp] = mapped_column(default=utcnow)
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)

    roles: Mapped[list[StaffRole]] = relationship(back_populates="user", cascade="all, delete-orphan", lazy="selectin")
    memberships: Mapped[list[TeamMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", foreign_keys="TeamMembership.user_id"
    )

    @property
    def role_set(self) -> frozenset[Role]:
        """The user's roles as a set of :class:`Role`."""
        return frozenset(Role(r.role) for r in self.roles)

    def has_role(self, *roles: Role) -> bool:
        """True if the user holds any of ``roles``."""
        return bool(self.role_set.intersection(roles))


class StaffRole(Base):
    """One role held by one user."""

    __tablename__ = "staff_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)

    user: Mapped[StaffUser] = relationship(back_populates="roles")


class Team(Base):
    """A team with its own X25519 key pair; the private key is sealed to each member and to recovery."""

    __tablename__ = "teams"

    id: Mapped[intpk]
    name: Mapped[str100] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    recovery_sealed_key_ct: Mapped[bytes] = mapped_column(LargeBinary)
    # Set when a member was removed by someone who could not re-key at once (an
    # admin holds no team key); the next member to sign in re-keys the team.
    rekey_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)

    memberships: Mapped[list[TeamMembership]] = relationship(back_populates="team", cascade="all, delete-orphan")


class TeamMembership(Base):
    """A user's membership of a team, with the team private key sealed to that user."""

    __tablename__ = "team_memberships"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True)
    # NULL while the membership is only proposed (by an admin); a member who holds
    # the team key confirms it by sealing the key to the new member (four eyes).
    sealed_team_key_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_version: Mapped[int | None] = mapped_column(Integer)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)

    team: Mapped[Team] = relationship(back_populates="memberships")
    user: Mapped[StaffUser] = relationship(back_populates="memberships", foreign_keys=[user_id])

    @property
    def is_confirmed(self) -> bool:
        """True once the team key has been sealed to this member."""
        return self.sealed_team_key_ct is not None


class StaffSession(Base):
    """A server-side login session.

    The user's private key is kept here only encrypted under a random key that
    lives in the user's cookie: the row alone (a DB thief) and the cookie
    alone (a stolen browser cookie without the DB) each yield nothing.
    """

    __tablename__ = "staff_sessions"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[intpk]
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    private_key_ct: Mapped[ciphertext]
    # A TOTP secret being enrolled, under the session key until the first code confirms it.
    pending_totp_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    last_seen_at: Mapped[timestamp] = mapped_column(default=utcnow)
    expires_at: Mapped[timestamp]

    user: Mapped[StaffUser] = relationship()


class RecoveryKey(Base):
    """The organisation's recovery public key; its private half is kept offline."""

    __tablename__ = "recovery_keys"

    id: Mapped[intpk]
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
