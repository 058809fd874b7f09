"""Teams and their keys: create, propose and confirm members, remove and re-key.

Adding a member needs someone who holds the team key (a confirmed member, or
the setup CLI that just made the key, or the offline recovery key): an admin
can *propose* a membership but cannot grant one alone, so an admin never
reaches case content by role alone (DESIGN.md section 2).

A new member is fitted to the team's conflict-of-interest exclusions as they
join (:func:`_fit_to_team_cases`): a team grant on a case they are excluded
from is replaced by personal grants to the others before they get the team
key, and a case the team holds only through personal stand-in grants (an
exclusion restricted it) is sealed to them as well.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from app import audit
from app.cases import keys as case_keys
from app.cases.service import CaseError, destroy_grant, restrict_to_members
from app.db import utcnow
from app.models.audit import ActorKind, AuditEvent
from app.models.cases import Case, CaseExcludedMember, CaseKeyGrant, GranteeKind, IdentityRecord
from app.models.protection import CheckIn
from app.models.staff import StaffUser, Team, TeamKind, TeamMembership
from app.protection import answer_keys
from app.staff import keyring
from app.staff.errors import LastToOpenCases, NotATeamMember, UnknownTeam
from crypto import generate_keypair, open_sealed, seal

log = logging.getLogger(__name__)

# Audit action that marks a stand-in grant still owed to a new member (see :func:`finish_stand_in_grants`).
STAND_IN_PENDING = "team.stand_in_pending"

# How far back a login looks for ``team.stand_in_pending`` rows (see :func:`finish_stand_in_grants`).
STAND_IN_PENDING_WINDOW = dt.timedelta(days=90)

# The target of a pending row, exactly as :func:`_grant_stand_ins` writes it (ASCII digits only).
_PENDING_TARGET = re.compile(r"^team:(\d+),user:(\d+)$", re.ASCII)


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


def confirm_member(
    team: Team,
    team_private: bytes,
    user: StaffUser,
    confirmed_by: StaffUser,
    *,
    confirmer_private: bytes | None = None,
    now: dt.datetime | None = None,
) -> TeamMembership:
    """Seal the team key to ``user``, completing an admin's proposal (four eyes).

    Only a pending proposal is confirmed: a membership that exists, holds no
    key yet and was proposed by someone other than the confirming member.
    Without that, any member could add anyone to the team alone (the confirm
    button alone used to create the membership), and an admin who is also a
    member could propose and confirm by themselves. Nobody confirms their own
    membership, and a disabled account is never given the team key. Every
    refusal is :class:`NotATeamMember` (the web answers 403).

    The new member is fitted to the team's exclusions in the same transaction
    (:func:`_fit_to_team_cases`). ``confirmer_private`` (the confirming member's
    own private key) lets the cases the team holds only through personal
    stand-in grants be sealed to the new member at once; without it they are
    left to the next login of a member who can open them.
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
    return _fit_and_confirm(team, team_private, user, confirmed_by, confirmer_private, now or utcnow())


def add_member_with_key(
    session: Session, team: Team, team_private: bytes, user: StaffUser, actor: StaffUser | None
) -> TeamMembership:
    """Propose and confirm at once, for the setup and recovery CLI that holds the team key itself.

    Not reachable from the web: there, a member confirms only what an admin
    proposed (:func:`confirm_member`). Fitted to the team's exclusions like a
    confirmation; the CLI holds no member's key, so stand-in grants owed to
    the new member wait for a member's login.
    """
    propose_member(session, team, user, actor)
    return _fit_and_confirm(team, team_private, user, actor, None, utcnow())


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
    Such a grant is kept, marked as standing in for another team instead, when the leaver is still
    entitled to the case through that team (:func:`_other_team_standing_in`).

    Refused with :class:`LastToOpenCases`, before anything is changed, when a revoked grant would
    leave a case that no staff member can open (:func:`_plan_stand_in_grants`).
    """
    now = now or utcnow()
    moves, revocations = _plan_stand_in_grants(session, team, user)
    m = _membership(team, user)
    if m is not None:
        team.memberships.remove(m)
        session.delete(m)
        session.flush()
    _move_stand_in_grants(session, moves, actor_user_id, now)
    for grant in revocations:  # checked by the plan above: none is a case's last staff grant
        destroy_grant(session, grant, actor_user_id, now)
    if team_private is None:
        team.rekey_pending = True
    else:
        rekey(session, team, team_private, actor_user_id=actor_user_id)


def check_removal(session: Session, team: Team, user: StaffUser) -> None:
    """Refuse, changing nothing, a removal :func:`remove_member` would refuse (:class:`LastToOpenCases`).

    For a caller that writes before removing (the removal's audit row): it asks first, so a refused
    removal leaves no trace but the refusal.
    """
    _plan_stand_in_grants(session, team, user)


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


def _plan_stand_in_grants(
    session: Session, team: Team, user: StaffUser
) -> tuple[list[tuple[CaseKeyGrant, Team]], list[CaseKeyGrant]]:
    """Sort ``user``'s live grants standing in for ``team`` into (moved to another team, revoked).

    Threat: unlike :func:`app.cases.service.revoke_grant`, a leaver's grant is revoked even when it is
    the case's last staff grant (a person who left the team must not keep the case), and a case
    that no staff member can open is lost to everyone but the offline recovery key; a newcomer to
    the team never receives it either. So the removal is refused (:class:`LastToOpenCases`, naming
    the cases) when a revoked grant would leave its case without another live staff grant: a team
    grant, or a personal grant of an active user that this removal keeps.
    """
    grants = session.scalars(
        select(CaseKeyGrant)
        .where(
            CaseKeyGrant.grantee_kind == GranteeKind.USER.value,
            CaseKeyGrant.user_id == user.id,
            CaseKeyGrant.via_team_id == team.id,
            CaseKeyGrant.revoked_at.is_(None),
        )
        .order_by(CaseKeyGrant.id)
    ).all()
    moves: list[tuple[CaseKeyGrant, Team]] = []
    revocations: list[CaseKeyGrant] = []
    for grant in grants:
        other_team = _other_team_standing_in(session, grant, team, user)
        if other_team is not None:
            moves.append((grant, other_team))
        else:
            revocations.append(grant)
    revoked_ids = {g.id for g in revocations}
    orphaned = sorted(
        {grant.case.public_ref for grant in revocations if not _other_staff_can_open(session, grant.case, revoked_ids)}
    )
    if orphaned:
        raise LastToOpenCases(orphaned)
    return moves, revocations


def _other_staff_can_open(session: Session, case: Case, revoked_ids: set[int]) -> bool:
    """Whether a live team grant, or a live personal grant of an active user, stays on ``case``."""
    for grant in case.grants:
        if grant.revoked_at is not None or grant.id in revoked_ids:
            continue
        if grant.grantee_kind == GranteeKind.TEAM.value:
            return True
        if grant.grantee_kind == GranteeKind.USER.value and grant.user_id is not None:
            holder = session.get(StaffUser, grant.user_id)
            if holder is not None and holder.is_active:
                return True
    return False


def _other_team_standing_in(session: Session, grant: CaseKeyGrant, team: Team, user: StaffUser) -> Team | None:
    """Another team of ``user``'s through which they still hold the grant's case, or None.

    A personal grant records one team (``via_team_id``), and sealing stand-ins for a second team
    skips anyone who already holds a live grant: a member of two teams that both hold the case only
    through stand-in grants got one grant, marked for the first team, and lost the case on leaving
    it although the second team still entitles them to it. Such a team (the user a confirmed member,
    active, not excluded; live stand-in grants for it on the case and no live team grant, which
    would open for them anyway) takes the grant over instead of it being revoked.
    """
    case = grant.case
    if not user.is_active or session.get(CaseExcludedMember, (case.id, user.id)) is not None:
        return None
    live = [g for g in case.grants if g.revoked_at is None]
    for m in sorted(user.memberships, key=lambda m: m.team_id):
        if not m.is_confirmed or m.team_id == team.id:
            continue
        if any(g.grantee_kind == GranteeKind.TEAM.value and g.team_id == m.team_id for g in live):
            continue
        if any(g.via_team_id == m.team_id for g in live):
            return m.team
    return None


def _move_stand_in_grants(
    session: Session, moves: list[tuple[CaseKeyGrant, Team]], actor_user_id: int | None, now: dt.datetime
) -> None:
    """Mark each grant as standing in for its other team (:func:`_other_team_standing_in`), audited."""
    for grant, other_team in moves:
        grant.via_team_id = other_team.id
        session.flush()
        audit.record(
            session,
            "case.stand_in_moved",
            actor_user_id=actor_user_id,
            actor_kind=ActorKind.STAFF if actor_user_id is not None else ActorKind.SYSTEM,
            case_id=grant.case_id,
            target=f"grant:{grant.id},team:{other_team.id}",
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
    # And stand-in grants a confirmation owed a new member but could not seal (no member's own key at hand).
    finish_stand_in_grants(session, user, user_private, utcnow())
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


def _fit_and_confirm(
    team: Team,
    team_private: bytes,
    user: StaffUser,
    actor: StaffUser | None,
    actor_private: bytes | None,
    now: dt.datetime,
) -> TeamMembership:
    """Fit ``user`` to the team's exclusions, then seal the team key to them (one transaction, the caller's)."""
    session = object_session(team)
    if session is None:
        raise UnknownTeam(str(team.id))
    _fit_to_team_cases(session, team, team_private, user, actor, actor_private, now)
    return _confirm(team, team_private, user, proposed_by=actor)


def _fit_to_team_cases(
    session: Session,
    team: Team,
    team_private: bytes,
    user: StaffUser,
    actor: StaffUser | None,
    actor_private: bytes | None,
    now: dt.datetime,
) -> None:
    """Make the team's cases match a joining member's exclusions, before the team key is sealed to them.

    Threat: a person excluded from a case (conflict of interest) who later joins a team holding a
    live grant on that case would get the team key, open that grant and read the case; only the
    access check would refuse them, and exclusion is meant to be cryptographic (DESIGN.md
    section 4). So each such grant is opened with the team key, sealed personally to the team's
    other confirmed, active, non-excluded members (marked as standing in for the team) and
    destroyed, as an exclusion does (:func:`app.cases.service.restrict_to_members`, audited). A case
    that nobody else could then open is refused: :class:`NotATeamMember`, and nothing is changed.

    The other way round: a case the team holds only through stand-in grants (an exclusion restricted
    it) would never reach the new member, so it is sealed to them too when they are not excluded
    (:func:`_grant_stand_ins`).
    """
    excluded_team_grants = list(
        session.scalars(
            select(CaseKeyGrant)
            .join(
                CaseExcludedMember,
                (CaseExcludedMember.case_id == CaseKeyGrant.case_id) & (CaseExcludedMember.user_id == user.id),
            )
            .where(
                CaseKeyGrant.grantee_kind == GranteeKind.TEAM.value,
                CaseKeyGrant.team_id == team.id,
                CaseKeyGrant.revoked_at.is_(None),
            )
            .order_by(CaseKeyGrant.id)
        )
    )
    others = [m.user for m in team.memberships if m.is_confirmed and m.user_id != user.id and m.user.is_active]
    plans: list[tuple[Case, bytes, list[StaffUser]]] = []
    for grant in excluded_team_grants:
        case = grant.case
        staying = [u for u in others if session.get(CaseExcludedMember, (case.id, u.id)) is None]
        other_staff = any(
            g.revoked_at is None
            and g.id != grant.id
            and g.grantee_kind in (GranteeKind.TEAM.value, GranteeKind.USER.value)
            for g in case.grants
        )
        if not staying and not other_staff:
            raise NotATeamMember(f"case {case.id} would be left to nobody: every other member is excluded from it")
        case_key = open_sealed(team_private, grant.sealed_key_ct, keyring.case_key_context(case.id))
        plans.append((case, case_key, staying))
    for case, case_key, staying in plans:
        try:
            restrict_to_members(session, case, case_key, team, staying, actor, now)
        except CaseError as exc:  # checked above; kept so a change there cannot hand the key over silently
            raise NotATeamMember(str(exc)) from exc
    _grant_stand_ins(session, team, user, actor, actor_private, now)


def _grant_stand_ins(
    session: Session,
    team: Team,
    user: StaffUser,
    actor: StaffUser | None,
    actor_private: bytes | None,
    now: dt.datetime,
) -> None:
    """Seal to a joining member each case the team holds only through stand-in grants, or mark it pending.

    Such a case has live personal grants standing in for the team (``via_team_id``), no live team
    grant, and the joining member is neither excluded from it nor holding a live grant already. The
    team key cannot open a personal grant, so the case key comes from the confirming member's own
    key (``actor_private``). When they cannot open it (no key given, or they are excluded or hold no
    grant) an audit row ``team.stand_in_pending`` marks it, and :func:`finish_stand_in_grants` seals
    it at the next login of a member who can.
    """
    stand_ins = select(CaseKeyGrant.case_id).where(
        CaseKeyGrant.grantee_kind == GranteeKind.USER.value,
        CaseKeyGrant.via_team_id == team.id,
        CaseKeyGrant.revoked_at.is_(None),
    )
    team_grants = select(CaseKeyGrant.case_id).where(
        CaseKeyGrant.grantee_kind == GranteeKind.TEAM.value,
        CaseKeyGrant.team_id == team.id,
        CaseKeyGrant.revoked_at.is_(None),
    )
    own_grants = select(CaseKeyGrant.case_id).where(CaseKeyGrant.user_id == user.id, CaseKeyGrant.revoked_at.is_(None))
    exclusions = select(CaseExcludedMember.case_id).where(CaseExcludedMember.user_id == user.id)
    case_ids = session.scalars(
        stand_ins.where(
            CaseKeyGrant.case_id.not_in(team_grants),
            CaseKeyGrant.case_id.not_in(own_grants),
            CaseKeyGrant.case_id.not_in(exclusions),
        )
        .distinct()
        .order_by(CaseKeyGrant.case_id)
    ).all()
    for case_id in case_ids:
        case = session.get(Case, case_id)
        if case is None:
            continue
        case_key = _case_key_as(session, case, actor, actor_private)
        if case_key is None:
            audit.record(
                session,
                STAND_IN_PENDING,
                actor_user_id=actor.id if actor else None,
                actor_kind=ActorKind.STAFF if actor else ActorKind.SYSTEM,
                case_id=case.id,
                target=f"team:{team.id},user:{user.id}",
                now=now,
            )
            continue
        _seal_stand_in(session, case, case_key, team, user, actor, now)


def finish_stand_in_grants(session: Session, user: StaffUser, user_private: bytes, now: dt.datetime) -> int:
    """At a member's login: seal the stand-in grants a confirmation could not; returns how many.

    Why: the confirming member may hold no grant of a restricted case (or the confirmation came
    from the CLI), so the new member was left without it and ``team.stand_in_pending`` was
    audited. Any confirmed member of the team who can open the case finishes it. A pending row is
    done, or stale, when the new member has any grant row of the case made since it (sealed
    already, even if revoked since on purpose), has left the team or been disabled or excluded,
    or the team holds the case again by its own grant or not at all.

    Audit rows are never closed, so only the rows of the last :data:`STAND_IN_PENDING_WINDOW` are
    read, and of those only the latest for each case and newcomer: every login otherwise rescanned
    every pending row ever written. A newcomer whose grant was not finished within that window (no
    member who can open the case signed in meanwhile) must ask a member to assign them the case.
    A row that cannot be handled (a target not as :func:`_grant_stand_ins` writes it, or any
    failure while sealing) is skipped and logged, so it never makes a login fail.
    """
    done = 0
    for membership in list(user.memberships):
        if not membership.is_confirmed:
            continue
        team = membership.team
        pending = session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action == STAND_IN_PENDING,
                AuditEvent.target.like(f"team:{team.id},user:%"),
                AuditEvent.at >= now - STAND_IN_PENDING_WINDOW,
            )
            .order_by(AuditEvent.id.desc())
        ).all()
        seen: set[tuple[int | None, str | None]] = set()
        for event in pending:
            # The latest row for a case and newcomer decides (a grant made since it finished every earlier one).
            if (event.case_id, event.target) in seen:
                continue
            seen.add((event.case_id, event.target))
            try:
                done += _finish_stand_in(session, team, event, user, user_private, now)
            except Exception:  # a login must never fail because of one pending row
                # The row's id only: its target names people, and the exception may quote it.
                log.warning("pending stand-in row %s skipped: it could not be handled", event.id)
    return done


def _finish_stand_in(
    session: Session, team: Team, event: AuditEvent, user: StaffUser, user_private: bytes, now: dt.datetime
) -> int:
    """Seal the stand-in grant one pending row owes, when still owed and ``user`` can open the case; 1 if sealed."""
    newcomer = _pending_newcomer(team, event)
    if newcomer is None or newcomer.id == user.id or event.case_id is None:
        return 0
    case = session.get(Case, event.case_id)
    if case is None or not _stand_in_still_owed(session, case, team, newcomer, event.at):
        return 0
    case_key = _case_key_as(session, case, user, user_private)
    if case_key is None:
        return 0
    with session.begin_nested():  # a failure undoes this row's writes only
        _seal_stand_in(session, case, case_key, team, newcomer, user, now)
    return 1


def _pending_newcomer(team: Team, event: AuditEvent) -> StaffUser | None:
    """The confirmed, active member a pending row names, if they still are one.

    Parsed strictly (ASCII digits, the whole target): ``str.isdigit`` accepts "²", which ``int``
    then refuses, and that one malformed row made every login of the team's members fail.
    """
    match = _PENDING_TARGET.fullmatch(event.target or "")
    if match is None:
        log.warning("pending stand-in row %s skipped: malformed target", event.id)
        return None
    if int(match.group(1)) != team.id:
        return None
    user_id = int(match.group(2))
    for m in team.memberships:
        if m.user_id == user_id and m.is_confirmed and m.user.is_active:
            return m.user
    return None


def _stand_in_still_owed(session: Session, case: Case, team: Team, newcomer: StaffUser, since: dt.datetime) -> bool:
    if session.get(CaseExcludedMember, (case.id, newcomer.id)) is not None:
        return False
    live = [g for g in case.grants if g.revoked_at is None]
    if any(g.grantee_kind == GranteeKind.TEAM.value and g.team_id == team.id for g in live):
        return False
    if not any(g.via_team_id == team.id for g in live):
        return False
    return not any(g.user_id == newcomer.id and (g.revoked_at is None or _made_since(g, since)) for g in case.grants)


def _made_since(grant: CaseKeyGrant, since: dt.datetime) -> bool:
    return grant.created_at is not None and grant.created_at >= since


def _case_key_as(session: Session, case: Case, who: StaffUser | None, private: bytes | None) -> bytes | None:
    """The case key as ``who`` opens it with their own key, or None (no key, no grant, or excluded)."""
    if who is None or private is None:
        return None
    try:
        return case_keys.open_as_staff(session, case, who, private)
    except case_keys.NoAccess:
        return None


def _seal_stand_in(
    session: Session,
    case: Case,
    case_key: bytes,
    team: Team,
    user: StaffUser,
    actor: StaffUser | None,
    now: dt.datetime,
) -> None:
    """Seal the case key to ``user`` as a grant standing in for ``team`` (revoked if they leave it), audited."""
    grant = case_keys.grant_user(
        case, case_key, user, granted_by=actor.id if actor else None, created_at=now, via_team=team
    )
    session.flush()
    audit.record(
        session,
        "case.stand_in_granted",
        actor_user_id=actor.id if actor else None,
        actor_kind=ActorKind.STAFF if actor else ActorKind.SYSTEM,
        case_id=case.id,
        target=f"grant:{grant.id}",
        now=now,
    )
