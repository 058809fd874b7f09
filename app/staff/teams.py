"""Teams and their keys: create, propose and confirm members, remove and re-key.

Adding a member needs someone who holds the team key (a confirmed member, or
the setup CLI that just made the key, or the offline recovery key): an admin
can *propose* a membership but cannot grant one alone, so an admin never
reaches case content by role alone (DESIGN.md section 2).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from app import audit
from app.db import utcnow
from app.models.audit import ActorKind
from app.models.cases import CaseKeyGrant, GranteeKind, IdentityRecord
from app.models.protection import CheckIn
from app.models.staff import StaffUser, Team, TeamKind, TeamMembership
from app.protection import answer_keys
from app.staff import keyring
from app.staff.errors import NotATeamMember, UnknownTeam
from crypto import generate_keypair, open_sealed, seal


def get_team(session: Session, team_id: int) -> Team:
    """Load a team or raise :class:`UnknownTeam`."""
    team = session.get(Team, team_id)
    if team is None:
        raise UnknownTeam(str(team_id))
    return team


def find_team(session: Session, name: str) -> Team | None:
    """Find a team by its name."""
    return session.scalars(select(Team).where(Team.name == name)).first()


def list_teams(session: Session) -> list[Team]:
    """All teams, by name."""
    return list(session.scalars(select(Team).order_by(Team.name)))


def create_team(session: Session, name: str, kind: TeamKind, members: list[StaffUser]) -> tuple[Team, bytes]:
    """Create a team key pair, sealed to recovery and to each initial member.

    Returns the team and its private key (for the caller to add more members now).
    """
    recovery = keyring.recovery_public_key(session)
    keys = generate_keypair()
    team = Team(
        name=name,
        kind=kind.value,
        public_key=keys.public,
        key_version=1,
        rekey_pending=False,
        recovery_sealed_key_ct=b"",
    )
    session.add(team)
    session.flush()
    team.recovery_sealed_key_ct = keyring.seal_team_key_to(team, keys.private, recovery)
    for user in members:
        _confirm(team, keys.private, user, proposed_by=None)
    session.flush()
    return team, keys.private


def propose_member(session: Session, team: Team, user: StaffUser, proposed_by: StaffUser | None) -> TeamMembership:
    """Record a membership without its key (an admin's proposal); a member confirms it."""
    existing = _membership(team, user)
    if existing is not None:
        if not existing.is_confirmed and existing.proposed_by_id is None and proposed_by is not None:
            # A proposal whose proposer's account was deleted (SET NULL) can be confirmed again once re-proposed.
            existing.proposed_by_id = proposed_by.id
        return existing
    m = TeamMembership(
        team=team,
        user=user,
        sealed_team_key_ct=None,
        key_version=None,
        proposed_by_id=proposed_by.id if proposed_by else None,
    )
    session.add(m)
    session.flush()
    return m


def confirm_member(team: Team, team_private: bytes, user: StaffUser, confirmed_by: StaffUser) -> TeamMembership:
    """Seal the team key to ``user``, completing an admin's proposal (four eyes).

    Only a pending proposal is confirmed: a membership that exists, holds no
    key yet and was proposed by someone other than the confirming member.
    Without that, any member could add anyone to the team alone (the confirm
    button alone used to create the membership), and an admin who is also a
    member could propose and confirm by themselves. Nobody confirms their own
    membership, and a disabled account is never given the team key. Every
    refusal is :class:`NotATeamMember` (the web answers 403).
    """
    if confirmed_by.id == user.id:
        raise NotATeamMember("nobody confirms their own membership")
    m = _membership(team, user)
    if m is None or m.is_confirmed or m.proposed_by_id is None:
        raise NotATeamMember("no pending proposal for this member")
    if m.proposed_by_id == confirmed_by.id:
        raise NotATeamMember("a proposal is confirmed by someone other than its proposer")
    if not user.is_active:
        raise NotATeamMember("a disabled account cannot be confirmed")
    return _confirm(team, team_private, user, proposed_by=None)


def add_member_with_key(
    session: Session, team: Team, team_private: bytes, user: StaffUser, actor: StaffUser | None
) -> TeamMembership:
    """Propose and confirm at once, for the setup and recovery CLI that holds the team key itself.

    Not reachable from the web: there, a member confirms only what an admin
    proposed (:func:`confirm_member`).
    """
    propose_member(session, team, user, actor)
    return _confirm(team, team_private, user, proposed_by=actor)


def open_team_key_for(team: Team, user: StaffUser, user_private: bytes) -> bytes:
    """The team private key as ``user`` holds it, or :class:`NotATeamMember`."""
    key = keyring.open_team_key(team, user, user_private)
    if key is None:
        raise NotATeamMember(team.name)
    return key


def open_team_key_with_recovery(team: Team, recovery_private: bytes) -> bytes:
    """The team private key opened with the offline recovery key (`flask recovery`, setup CLI)."""
    return open_sealed(
        recovery_private, team.recovery_sealed_key_ct, keyring.team_key_context(team.id, team.key_version)
    )


def remove_member(
    session: Session,
    team: Team,
    user: StaffUser,
    team_private: bytes | None,
    *,
    actor_user_id: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Remove a member; re-key at once when the caller holds the key, else mark a re-key pending.

    Their personal grants that stand in for this team's grant (sealed to them one by one when a
    colleague was excluded, ``CaseKeyGrant.via_team_id``) are revoked too: the re-key shuts a leaver
    out of the team's grants, and without this they would keep every case an exclusion touched.
    """
    m = _membership(team, user)
    if m is not None:
        team.memberships.remove(m)
        session.delete(m)
        session.flush()
    _revoke_stand_in_grants(session, team, user, actor_user_id, now or utcnow())
    if team_private is None:
        team.rekey_pending = True
    else:
        rekey(session, team, team_private, actor_user_id=actor_user_id)


def rekey(session: Session, team: Team, old_private: bytes, *, actor_user_id: int | None = None) -> bytes:
    """Give the team a new key pair; seal it to every remaining confirmed member and to recovery.

    Every case key, every reporter identity key and every check-in answer
    key sealed to the team is re-sealed to the new key (the old ciphertext overwritten), so a removed
    member's copy of the old team key opens nothing stored from now on, and
    the remaining members keep their access.

    The team row is locked first (:func:`app.protection.answer_keys.lock_team`),
    before listing what to re-seal: a key sealed to the old public key by a
    concurrent transaction (a check-in answer, a submission) is then either
    committed before this lists it, or sealed afterwards to the new key.
    """
    if answer_keys.lock_team(session, team.id) is None:
        raise UnknownTeam(str(team.id))
    recovery = keyring.recovery_public_key(session)
    keys = generate_keypair()
    new_version = team.key_version + 1
    # Live grants only: a revoked grant's sealed copy was destroyed (``sealed_key_ct`` is empty), so there
    # is nothing to re-seal, and trying to open it failed the whole re-key (removals answered 500 and a
    # pending re-key broke every member's login after any conflict-of-interest exclusion).
    grants = session.scalars(
        select(CaseKeyGrant).where(
            CaseKeyGrant.grantee_kind == GranteeKind.TEAM.value,
            CaseKeyGrant.team_id == team.id,
            CaseKeyGrant.revoked_at.is_(None),
        )
    )
    for grant in grants:
        context = keyring.case_key_context(grant.case_id)
        case_key = open_sealed(old_private, grant.sealed_key_ct, context)
        grant.sealed_key_ct = seal(keys.public, case_key, context)
        grant.key_version = new_version
    identities = session.scalars(select(IdentityRecord).where(IdentityRecord.protection_team_id == team.id))
    for record in identities:
        context = keyring.identity_key_context(record.case_id)
        sealed = record.sealed_to_protection_key_ct
        record.sealed_to_protection_key_ct = _reseal(old_private, keys.public, sealed, context)
        record.key_version = new_version
    answers = session.scalars(
        select(CheckIn).where(CheckIn.protection_team_id == team.id, CheckIn.sealed_to_protection_key_ct.is_not(None))
    )
    for check_in in answers:
        assert check_in.sealed_to_protection_key_ct is not None
        context = answer_keys.context(check_in.case_id, check_in.id)
        check_in.sealed_to_protection_key_ct = _reseal(
            old_private, keys.public, check_in.sealed_to_protection_key_ct, context
        )
        check_in.key_version = new_version
    team.public_key = keys.public
    team.key_version = new_version
    team.recovery_sealed_key_ct = keyring.seal_team_key_to(team, keys.private, recovery)
    for m in team.memberships:
        if m.sealed_team_key_ct is not None:
            m.sealed_team_key_ct = keyring.seal_team_key_to(team, keys.private, m.user.public_key)
            m.key_version = new_version
    team.rekey_pending = False
    session.flush()
    audit.record(
        session,
        "team.rekeyed",
        actor_user_id=actor_user_id,
        actor_kind=ActorKind.STAFF if actor_user_id is not None else ActorKind.SYSTEM,
        target=f"team:{team.id}",
    )
    return keys.private


def _revoke_stand_in_grants(
    session: Session, team: Team, user: StaffUser, actor_user_id: int | None, now: dt.datetime
) -> None:
    """Destroy ``user``'s live grants that stand in for ``team``'s grant, one audit row each.

    Unlike :func:`app.cases.service.revoke_grant` this does not refuse the last staff grant of a
    case: a person who left the team must not keep the case, and the recovery key can re-grant it.
    """
    grants = session.scalars(
        select(CaseKeyGrant).where(
            CaseKeyGrant.grantee_kind == GranteeKind.USER.value,
            CaseKeyGrant.user_id == user.id,
            CaseKeyGrant.via_team_id == team.id,
            CaseKeyGrant.revoked_at.is_(None),
        )
    )
    for grant in list(grants):
        grant.revoked_at = now
        grant.sealed_key_ct = b""
        session.flush()
        audit.record(
            session,
            "case.grant_revoked",
            actor_user_id=actor_user_id,
            actor_kind=ActorKind.STAFF if actor_user_id is not None else ActorKind.SYSTEM,
            case_id=grant.case_id,
            target=f"grant:{grant.id}",
            now=now,
        )


def _reseal(old_private: bytes, new_public: bytes, sealed: bytes, context: bytes) -> bytes:
    """Open a key sealed to the team's old key pair and seal it to the new one, under the same context."""
    return seal(new_public, open_sealed(old_private, sealed, context), context)


def finish_pending_rekeys(session: Session, user: StaffUser, user_private: bytes) -> int:
    """At a member's login: re-key every team of theirs whose re-key is pending."""
    done = 0
    for m in list(user.memberships):
        team = m.team
        if team.rekey_pending and m.sealed_team_key_ct is not None:
            key = keyring.open_team_key(team, user, user_private)
            if key is not None:
                rekey(session, team, key, actor_user_id=user.id)
                done += 1
    # Same moment, same reason (only a member's key can do it): team grants of retaliation
    # complaints still to be re-sealed around an officer excluded after the complaint was opened.
    from app.protection.retaliation import finish_exclusion_reseals

    finish_exclusion_reseals(session, user, user_private, utcnow())
    return done


def _membership(team: Team, user: StaffUser) -> TeamMembership | None:
    for m in team.memberships:
        if m.user_id == user.id:
            return m
    return None


def _confirm(team: Team, team_private: bytes, user: StaffUser, proposed_by: StaffUser | None) -> TeamMembership:
    m = _membership(team, user)
    if m is None:
        # Setting ``team=`` already adds it to team.memberships (back-populates); appending again
        # listed the member twice. Adding it to the session at once keeps both sides consistent.
        m = TeamMembership(team=team, user=user, proposed_by_id=proposed_by.id if proposed_by else None)
        session = object_session(team)
        if session is not None:
            session.add(m)
    m.sealed_team_key_ct = keyring.seal_team_key_to(team, team_private, user.public_key)
    m.key_version = team.key_version
    return m
