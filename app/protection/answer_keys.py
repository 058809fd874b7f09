"""The key of a check-in answer: fresh per answer, sealed to the protection team and to recovery only.

Threat: check-ins ask a reporter whether they are being treated worse; the
answer may name the colleague doing it, who may well be on the case. So the
details are not under the case key (intake and investigators hold it) but
under a key of their own, sealed exactly like a reporter's identity key:
to the protection team's public key (at its key version; re-keying the team
re-seals it, :func:`app.staff.teams.rekey`) and to the offline recovery key.
The reporter does not read answers back, so nothing is sealed to the receipt.

Kept free of the heavier protection modules so the team re-keying can import
the context without an import cycle.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.cases import Case, CaseExcludedMember
from app.models.protection import CheckIn
from app.models.staff import Role, StaffUser, Team, TeamKind
from app.staff import keyring
from crypto import aead, open_sealed, seal
from crypto.errors import CryptoError


class NoProtectionTeam(Exception):
    """There is no protection team to seal an answer to (setup is incomplete)."""


def context(case_id: int, check_in_id: int) -> bytes:
    """Sealing context of a check-in answer's key, bound to its case and check-in."""
    return f"haechi/checkin-key/v1:{case_id}:{check_in_id}".encode()


def lock_team(db: Session, team_id: int) -> Team | None:
    """Re-read a team under a row lock, so sealing to its key and re-keying it serialise.

    Why: a key sealed to ``team.public_key`` in one transaction while
    :func:`app.staff.teams.rekey` runs in another would be committed under
    the old key pair after the re-key listed what to re-seal, and no
    custodian could open it again. Whoever seals to a team (answers here,
    identities and team grants at submission) and the re-key both take this
    lock first, so one waits for the other to commit and then sees its
    result. PostgreSQL: ``SELECT ... FOR UPDATE``; SQLite has no row locks but
    admits one writer at a time. ``populate_existing`` so the caller reads
    the key version committed by whoever held the lock before, not a stale
    copy from the session.
    """
    return db.scalars(
        select(Team).where(Team.id == team_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()


def custodian_team(db: Session, case: Case) -> Team:
    """The team that holds this reporter's identity, else the first protection team.

    The same custodians who may open the identity read the answers, so one
    team sees the whole picture of one reporter. Returned locked
    (:func:`lock_team`): the caller seals to its key.
    """
    team_id = case.identity.protection_team_id if case.identity is not None else None
    team = lock_team(db, team_id) if team_id is not None else None
    if team is None:
        first = db.scalar(select(Team.id).where(Team.kind == TeamKind.PROTECTION.value).order_by(Team.id).limit(1))
        team = lock_team(db, first) if first is not None else None
    if team is None:
        raise NoProtectionTeam("no protection team")
    return team


def new_sealed_key(db: Session, case: Case, check_in: CheckIn) -> bytes:
    """A fresh answer key, sealed onto the check-in row (team, key version, recovery); returns the key."""
    team = custodian_team(db, case)
    key = aead.generate_key()
    bound = context(case.id, check_in.id)
    check_in.protection_team_id = team.id
    check_in.key_version = team.key_version
    check_in.sealed_to_protection_key_ct = seal(team.public_key, key, bound)
    check_in.recovery_sealed_key_ct = seal(keyring.recovery_public_key(db), key, bound)
    return key


def open_as_custodian(db: Session, check_in: CheckIn, user: StaffUser, user_private: bytes) -> bytes | None:
    """The answer key as a confirmed member of its protection team opens it, or None.

    None for anyone else: an investigator, a protection officer of another
    team or excluded from the case for a conflict of interest, or an answer
    sealed before a re-key that has not been finished yet.
    """
    if check_in.sealed_to_protection_key_ct is None or check_in.protection_team_id is None:
        return None
    if not user.has_role(Role.PROTECTION):
        return None
    if db.get(CaseExcludedMember, (check_in.case_id, user.id)) is not None:
        return None
    team = db.get(Team, check_in.protection_team_id)
    if team is None:
        return None
    try:
        team_private = keyring.open_team_key(team, user, user_private)
        if team_private is None:
            return None
        return open_sealed(team_private, check_in.sealed_to_protection_key_ct, context(check_in.case_id, check_in.id))
    except CryptoError:
        return None
