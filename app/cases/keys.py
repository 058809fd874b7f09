"""Case keys and grants (DESIGN.md section 4): access control is cryptographic.

A case key is random; it is stored only sealed, once per grantee, in
``case_key_grants``. Whoever cannot open a grant cannot read the case,
whatever a URL or a role says.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from app.models.cases import Case, CaseExcludedMember, CaseKeyGrant, GranteeKind
from app.models.staff import RecoveryKey, StaffUser, Team
from app.staff import keyring
from crypto import aead, open_sealed, seal
from crypto.errors import CryptoError


class NoAccess(Exception):
    """This user holds no grant that opens the case (or was excluded from it)."""


def new_case_key() -> bytes:
    """A fresh random 256-bit case key."""
    return aead.generate_key()


def grant_team(case: Case, case_key: bytes, team: Team, granted_by: int | None = None) -> CaseKeyGrant:
    """Seal the case key to a team's current key."""
    grant = CaseKeyGrant(
        grantee_kind=GranteeKind.TEAM.value,
        team_id=team.id,
        key_version=team.key_version,
        sealed_key_ct=seal(team.public_key, case_key, keyring.case_key_context(case.id)),
        granted_by=granted_by,
    )
    case.grants.append(grant)
    return grant


def grant_user(
    case: Case,
    case_key: bytes,
    user: StaffUser,
    granted_by: int | None = None,
    *,
    created_at: dt.datetime | None = None,
    via_team: Team | None = None,
) -> CaseKeyGrant:
    """Seal the case key to one person (assignment to named people, conflict-of-interest cases).

    ``via_team``: the grant stands in for that team's grant (an exclusion or a
    retaliation case sealed the team's members one by one), so leaving the team
    revokes it. ``created_at`` is the caller's clock (the column's default otherwise).
    """
    grant = CaseKeyGrant(
        grantee_kind=GranteeKind.USER.value,
        user_id=user.id,
        sealed_key_ct=seal(user.public_key, case_key, keyring.case_key_context(case.id)),
        granted_by=granted_by,
    )
    if created_at is not None:
        grant.created_at = created_at
    if via_team is not None:
        grant.via_team_id = via_team.id
    case.grants.append(grant)
    return grant


def grant_reporter(case: Case, case_key: bytes, reporter_public: bytes) -> CaseKeyGrant:
    """Seal the case key to the key pair derived from the reporter's receipt."""
    grant = CaseKeyGrant(
        grantee_kind=GranteeKind.REPORTER.value,
        sealed_key_ct=seal(reporter_public, case_key, keyring.case_key_context(case.id)),
    )
    case.grants.append(grant)
    return grant


def grant_recovery(case: Case, case_key: bytes, recovery: RecoveryKey) -> CaseKeyGrant:
    """Seal the case key to the organisation's offline recovery key."""
    grant = CaseKeyGrant(
        grantee_kind=GranteeKind.RECOVERY.value,
        recovery_key_id=recovery.id,
        sealed_key_ct=seal(recovery.public_key, case_key, keyring.case_key_context(case.id)),
    )
    case.grants.append(grant)
    return grant


def open_as_reporter(case: Case, reporter_private: bytes) -> bytes:
    """The case key as the reporter opens it with their receipt-derived key."""
    context = keyring.case_key_context(case.id)
    for grant in case.grants:
        if grant.grantee_kind == GranteeKind.REPORTER.value and grant.revoked_at is None:
            try:
                return open_sealed(reporter_private, grant.sealed_key_ct, context)
            except CryptoError:
                continue
    raise NoAccess()


def open_as_staff(session: Session, case: Case, user: StaffUser, user_private: bytes) -> bytes:
    """The case key as a staff member opens it: a personal grant, or a grant to a team of theirs.

    A member excluded from the case (conflict of interest) is refused even
    when their team holds a grant.
    """
    excluded = session.scalar(
        select(CaseExcludedMember).where(CaseExcludedMember.case_id == case.id, CaseExcludedMember.user_id == user.id)
    )
    if excluded is not None:
        raise NoAccess()
    context = keyring.case_key_context(case.id)
    team_keys: dict[int, bytes | None] = {}
    for grant in case.grants:
        if grant.revoked_at is not None:
            continue
        try:
            if grant.grantee_kind == GranteeKind.USER.value and grant.user_id == user.id:
                return open_sealed(user_private, grant.sealed_key_ct, context)
            if grant.grantee_kind == GranteeKind.TEAM.value and grant.team_id is not None:
                if grant.team_id not in team_keys:
                    team = session.get(Team, grant.team_id)
                    team_keys[grant.team_id] = keyring.open_team_key(team, user, user_private) if team else None
                team_private = team_keys[grant.team_id]
                if team_private is not None:
                    return open_sealed(team_private, grant.sealed_key_ct, context)
        except CryptoError:
            continue
    raise NoAccess()


def cases_visible_to(session: Session, user: StaffUser) -> list[int]:
    """Ids of cases with a live grant to this user or to a team they are a confirmed member of."""
    team_ids = [m.team_id for m in user.memberships if m.is_confirmed]
    stmt = (
        select(CaseKeyGrant.case_id)
        .where(CaseKeyGrant.revoked_at.is_(None))
        .where(
            ((CaseKeyGrant.grantee_kind == GranteeKind.USER.value) & (CaseKeyGrant.user_id == user.id))
            | ((CaseKeyGrant.grantee_kind == GranteeKind.TEAM.value) & CaseKeyGrant.team_id.in_(team_ids))
        )
        .distinct()
    )
    excluded = select(CaseExcludedMember.case_id).where(CaseExcludedMember.user_id == user.id)
    return list(session.scalars(stmt.where(CaseKeyGrant.case_id.not_in(excluded))))


def owning_team() -> ColumnElement[int | None]:
    """The team a grant gives its case to: a team grant's own team, or the team a personal grant stands in for.

    Why: a conflict-of-interest exclusion revokes the team's grant and seals
    the key to each other member instead (``via_team_id``). The case is still
    that team's: its queue, reminders and dashboards must keep it.
    """
    return func.coalesce(CaseKeyGrant.team_id, CaseKeyGrant.via_team_id)


def held_by_teams(team_ids: list[int] | tuple[int, ...]) -> ColumnElement[bool]:
    """A grant that gives its case to one of ``team_ids`` (see :func:`owning_team`), as two indexable tests."""
    return or_(CaseKeyGrant.team_id.in_(team_ids), CaseKeyGrant.via_team_id.in_(team_ids))
