"""Working a case: notes, labels, severity, links, assignment, grants and conflict-of-interest exclusion.

Plaintext here is only what the workflow needs (DESIGN.md section 4): labels,
severity, relations, who is assigned. Notes and reasons are encrypted under
the case key like any content. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.audit import record
from app.cases import keys as case_keys
from app.cases.deadlines import local_today
from app.cases.handover import take_over
from app.cases.workflow import check_version, refresh_deadlines
from app.models.audit import ActorKind
from app.models.cases import (
    Case,
    CaseAssignment,
    CaseEntry,
    CaseExcludedMember,
    CaseKeyGrant,
    CaseLabel,
    CaseLink,
    EntryKind,
    GranteeKind,
    LinkRelation,
)
from app.models.staff import StaffUser, Team
from app.reporting.service import case_cipher, new_entry
from app.web.i18n import lazy_gettext as _l
from config import Settings

MAX_LABELS = 20
_LABEL = re.compile(r"[\w가-힣.-]{1,40}")
_INVERSE = {
    LinkRelation.RELATED.value: "related",
    LinkRelation.DUPLICATE_OF.value: "has_duplicate",
    LinkRelation.RETALIATION_OF.value: "has_retaliation",
    LinkRelation.ALERT_FOR.value: "has_alert",
    LinkRelation.FOLLOW_UP_OF.value: "has_follow_up",
}


class CaseError(Exception):
    """A change to a case that cannot be made."""


@dataclass(frozen=True)
class LinkView:
    """One link as seen from a case: the relation read from this side, and the other case."""

    relation: str
    other_id: int
    other_ref: str
    link_id: int


def add_note(db: Session, case: Case, case_key: bytes, author: StaffUser, text: str, now: dt.datetime) -> CaseEntry:
    """An internal note: encrypted, never shown to the reporter."""
    if not text.strip():
        raise CaseError(_l("empty note"))
    entry = new_entry(
        db,
        case,
        case_key,
        EntryKind.NOTE.value,
        text.encode(),
        created_on=local_today(now),
        created_at=now,
        author_user_id=author.id,
        visible_to_reporter=False,
    )
    record(db, "case.note_added", actor_user_id=author.id, case_id=case.id, target=f"entry:{entry.id}", now=now)
    take_over(db, case, author, now, "note")
    return entry


def message_reporter(
    db: Session,
    settings: Settings,
    case: Case,
    case_key: bytes,
    author: StaffUser,
    text: str,
    now: dt.datetime,
    question: bool = False,
) -> CaseEntry:
    """Write to the reporter (a message or a question they should answer).

    The first message after acknowledgement is the feedback the law asks for
    within three months; a question leaves the case waiting on the reporter.
    """
    if not text.strip():
        raise CaseError(_l("empty message"))
    kind = EntryKind.QUESTION.value if question else EntryKind.MESSAGE_OUT.value
    today = local_today(now)
    entry = new_entry(
        db,
        case,
        case_key,
        kind,
        text.encode(),
        created_on=today,
        created_at=now,
        author_user_id=author.id,
        visible_to_reporter=True,
    )
    if question:
        case.waiting_on_reporter = True
    if case.acknowledged_at is not None and case.feedback_given_on is None:
        case.feedback_given_on = today
    refresh_deadlines(case, settings)
    record(db, "case.reporter_messaged", actor_user_id=author.id, case_id=case.id, target=f"entry:{entry.id}", now=now)
    take_over(db, case, author, now, "message")
    db.flush()
    return entry


def set_severity(
    db: Session, case: Case, actor: StaffUser, severity: int, expected_version: int | None, now: dt.datetime
) -> None:
    """Severity 1 (low) to 5 (most severe); 0 means not yet triaged."""
    check_version(case, expected_version)
    if not 0 <= severity <= 5:
        raise CaseError(_l("severity is 0 to 5"))
    case.severity = severity
    record(db, "case.severity_set", actor_user_id=actor.id, case_id=case.id, target=str(severity), now=now)
    db.flush()


def set_labels(
    db: Session, case: Case, actor: StaffUser, labels: list[str], expected_version: int | None, now: dt.datetime
) -> None:
    """Replace the case's labels (short words for grouping; not content), from a page of the current version.

    Labels are rows of their own, so replacing them changed nothing in the
    case's row and its version stayed put: a colleague's stale page then
    replaced them silently. The case row is marked changed so that saving
    bumps the version (and the UPDATE checks it), as every other change does.
    """
    check_version(case, expected_version)
    clean = sorted({label.strip() for label in labels if label.strip()})
    if len(clean) > MAX_LABELS or any(not _LABEL.fullmatch(label) for label in clean):
        raise CaseError(_l("labels are up to 20 words of letters, digits, dot or dash"))
    case.labels = [CaseLabel(label=label) for label in clean]
    flag_modified(case, "severity")  # any column: the UPDATE is what bumps and checks ``version``
    record(db, "case.labels_set", actor_user_id=actor.id, case_id=case.id, now=now)
    db.flush()


def link_cases(db: Session, case: Case, other: Case, relation: str, actor: StaffUser, now: dt.datetime) -> CaseLink:
    """Link two cases (the actor must be able to open both; checked by the caller)."""
    if relation not in {r.value for r in LinkRelation}:
        raise CaseError(_l("unknown relation"))
    if other.id == case.id:
        raise CaseError(_l("a case cannot be linked to itself"))
    existing = db.scalar(
        select(CaseLink).where(
            CaseLink.from_case_id == case.id, CaseLink.to_case_id == other.id, CaseLink.relation == relation
        )
    )
    if existing is not None:
        return existing
    link = CaseLink(from_case_id=case.id, to_case_id=other.id, relation=relation, created_by=actor.id)
    db.add(link)
    db.flush()
    record(db, "case.linked", actor_user_id=actor.id, case_id=case.id, target=f"case:{other.id}:{relation}", now=now)
    return link


def links_of(db: Session, case: Case, visible: set[int] | None = None) -> list[LinkView]:
    """Every link of a case, from either side, read from this case's point of view.

    With ``visible``, links to cases outside it are left out: a reference and a
    relation (say, "retaliation for") are themselves information.
    """
    rows = db.execute(
        select(CaseLink, Case)
        .join(
            Case,
            or_(
                (CaseLink.from_case_id == case.id) & (Case.id == CaseLink.to_case_id),
                (CaseLink.to_case_id == case.id) & (Case.id == CaseLink.from_case_id),
            ),
        )
        .order_by(CaseLink.id)
    ).all()
    out = []
    for link, other in rows:
        if visible is not None and other.id not in visible:
            continue
        relation = link.relation if link.from_case_id == case.id else _INVERSE[link.relation]
        out.append(LinkView(relation=relation, other_id=other.id, other_ref=other.public_ref, link_id=link.id))
    return out


def assign_team(db: Session, case: Case, case_key: bytes, team: Team, actor: StaffUser, now: dt.datetime) -> None:
    """Assign the case to a team: the case key is sealed to the team's key.

    If a confirmed member of the team is excluded from the case, the key is sealed instead to each
    other confirmed, active member (:func:`restrict_to_members`), as :func:`exclude_member` does: a
    grant to the team would open with the excluded person's copy of the team key, and the exclusion
    would be a check in the views only, not cryptographic.
    """
    confirmed = [m.user for m in team.memberships if m.is_confirmed]
    excluded = {u.id for u in confirmed if _excluded(db, case, u)}
    if excluded:
        others = [u for u in confirmed if u.id not in excluded and u.is_active]
        if not others:
            raise CaseError(_l("every member of this team is excluded from the case"))
    db.add(CaseAssignment(case_id=case.id, team_id=team.id, assigned_by=actor.id, assigned_at=now))
    if excluded:
        restrict_to_members(db, case, case_key, team, others, actor, now)
    elif not _live_grant(case, team_id=team.id):
        grant = case_keys.grant_team(case, case_key, team, granted_by=actor.id)
        grant.created_at = now
    db.flush()
    record(db, "case.assigned_team", actor_user_id=actor.id, case_id=case.id, target=f"team:{team.id}", now=now)
    take_over(db, case, actor, now, "assignment")


def assign_user(db: Session, case: Case, case_key: bytes, user: StaffUser, actor: StaffUser, now: dt.datetime) -> None:
    """Assign the case to a named person: the case key is sealed to them personally."""
    if _excluded(db, case, user):
        raise CaseError(_l("this person is excluded from the case"))
    db.add(CaseAssignment(case_id=case.id, user_id=user.id, assigned_by=actor.id, assigned_at=now))
    if not _live_grant(case, user_id=user.id):
        case_keys.grant_user(case, case_key, user, granted_by=actor.id, created_at=now)
    for grant in case.grants:
        if grant.user_id == user.id and grant.revoked_at is None and grant.via_team_id is not None:
            # Assigned by name now: the grant no longer only stands in for a team, so leaving that team keeps it.
            grant.via_team_id = None
    db.flush()
    record(db, "case.assigned_user", actor_user_id=actor.id, case_id=case.id, target=f"user:{user.id}", now=now)
    take_over(db, case, actor, now, "assignment")


def restrict_to_members(
    db: Session,
    case: Case,
    case_key: bytes,
    team: Team,
    members: list[StaffUser],
    actor: StaffUser | None,
    now: dt.datetime,
) -> None:
    """Seal the case to chosen members of a team instead of the whole team (conflict of interest).

    Each new personal grant records the team it stands in for (``via_team_id``), so that leaving
    the team revokes it (:func:`app.staff.teams.remove_member`) as the re-key does for the team's own grants.
    ``actor`` is None when the setup or recovery CLI does it (a membership added with the team key).
    """
    for member in members:
        if not _live_grant(case, user_id=member.id) and not _excluded(db, case, member):
            granted_by = actor.id if actor else None
            case_keys.grant_user(case, case_key, member, granted_by, created_at=now, via_team=team)
    db.flush()
    for grant in list(case.grants):
        if grant.grantee_kind == GranteeKind.TEAM.value and grant.team_id == team.id and grant.revoked_at is None:
            revoke_grant(db, case, grant, actor, now)
    db.flush()
    record(
        db,
        "case.restricted_to_members",
        actor_user_id=actor.id if actor else None,
        actor_kind=ActorKind.STAFF if actor else ActorKind.SYSTEM,
        case_id=case.id,
        target=f"team:{team.id}",
        now=now,
    )


def exclude_member(
    db: Session,
    case: Case,
    case_key: bytes,
    user: StaffUser,
    reason: str,
    actor: StaffUser,
    now: dt.datetime,
    *,
    actor_private: bytes | None = None,
) -> None:
    """Leave a conflicted person out: their personal grants are destroyed and access checks refuse them.

    Carried to the report's retaliation complaints (:func:`app.protection.retaliation.carry_exclusion`),
    which name the same people; ``actor_private`` lets it re-seal their team grants when the actor holds one.
    """
    if _excluded(db, case, user):
        return
    reason_ct = case_cipher(case, case_key).encrypt_text("exclusion.reason", reason) if reason.strip() else None
    db.add(
        CaseExcludedMember(case_id=case.id, user_id=user.id, reason_ct=reason_ct, excluded_by=actor.id, created_at=now)
    )
    db.flush()
    for grant in list(case.grants):
        if grant.grantee_kind == GranteeKind.USER.value and grant.user_id == user.id and grant.revoked_at is None:
            revoke_grant(db, case, grant, actor, now)
    # Cryptographic, not just a check: every team grant the excluded person could open is replaced
    # by personal grants to the team's other members, so their copy of the team key opens nothing here.
    for grant in list(case.grants):
        if grant.grantee_kind != GranteeKind.TEAM.value or grant.revoked_at is not None or grant.team_id is None:
            continue
        team = db.get(Team, grant.team_id)
        if team is None or not any(m.user_id == user.id and m.is_confirmed for m in team.memberships):
            continue
        others = [m.user for m in team.memberships if m.is_confirmed and m.user_id != user.id]
        restrict_to_members(db, case, case_key, team, others, actor, now)
    db.flush()
    record(db, "case.member_excluded", actor_user_id=actor.id, case_id=case.id, target=f"user:{user.id}", now=now)
    take_over(db, case, actor, now, "exclusion")
    from app.protection import retaliation  # the protection package imports this module's neighbours

    retaliation.carry_exclusion(db, case, user, actor, now, actor_private=actor_private)


def revoke_grant(db: Session, case: Case, grant: CaseKeyGrant, actor: StaffUser | None, now: dt.datetime) -> None:
    """Revoke a grant: its sealed copy of the case key is destroyed, not just flagged (``actor`` None: the CLI)."""
    if grant.case_id != case.id:
        raise CaseError(_l("grant of another case"))
    if grant.grantee_kind in (GranteeKind.RECOVERY.value, GranteeKind.REPORTER.value):
        raise CaseError(_l("the recovery and reporter grants are not revoked here"))
    live_staff = [
        g
        for g in case.grants
        if g.revoked_at is None
        and g.id != grant.id
        and g.grantee_kind in (GranteeKind.TEAM.value, GranteeKind.USER.value)
    ]
    if not live_staff:
        raise CaseError(_l("revoking the last staff grant would leave nobody able to work the case"))
    destroy_grant(db, grant, actor.id if actor else None, now)


def destroy_grant(db: Session, grant: CaseKeyGrant, actor_user_id: int | None, now: dt.datetime) -> None:
    """Revoke a grant by destroying its sealed copy of the case key, not just flagging it; audited.

    No checks: callers that decide on their own which grants go (a member
    leaving a team, a complaint re-sealed around an exclusion) call this;
    a person revoking one grant goes through :func:`revoke_grant`.
    """
    grant.revoked_at = now
    grant.sealed_key_ct = b""
    db.flush()
    record(
        db,
        "case.grant_revoked",
        actor_user_id=actor_user_id,
        actor_kind=ActorKind.STAFF if actor_user_id is not None else ActorKind.SYSTEM,
        case_id=grant.case_id,
        target=f"grant:{grant.id}",
        now=now,
    )


def grants_view(db: Session, case: Case) -> list[tuple[CaseKeyGrant, str]]:
    """The case's grants with a readable name for each grantee (no key material)."""
    out = []
    for grant in sorted(case.grants, key=lambda g: g.id):
        if grant.grantee_kind == GranteeKind.TEAM.value and grant.team_id is not None:
            team = db.get(Team, grant.team_id)
            name = team.name if team else f"team {grant.team_id}"
        elif grant.grantee_kind == GranteeKind.USER.value and grant.user_id is not None:
            user = db.get(StaffUser, grant.user_id)
            name = user.display_name if user else f"user {grant.user_id}"
        else:
            name = grant.grantee_kind
        out.append((grant, name))
    return out


def read_notes(case: Case, case_key: bytes, label: Callable[[str], str] = str) -> list[tuple[CaseEntry, str]]:
    """Internal notes and status changes, decrypted, for staff only.

    ``label`` names a status or outcome code in the reader's language (the
    view passes its translated labels; the codes are what is stored).
    """
    cipher = case_cipher(case, case_key)
    out = []
    for entry in sorted(case.entries, key=lambda e: e.id):
        if entry.kind in (EntryKind.NOTE.value, EntryKind.STATUS_CHANGE.value) and entry.body_ct is not None:
            text = cipher.decrypt(f"entry.{entry.kind}", entry.body_ct).decode()
            if entry.kind == EntryKind.STATUS_CHANGE.value:
                change = json.loads(text)
                text = (
                    f"{label(change['from'])} → {label(change['to'])}"
                    + (f" ({label(change['outcome'])})" if change.get("outcome") else "")
                    + (f": {change['reasons']}" if change.get("reasons") else "")
                )
            out.append((entry, text))
    return out


def _live_grant(case: Case, *, team_id: int | None = None, user_id: int | None = None) -> bool:
    return any(
        g.revoked_at is None
        and ((team_id is not None and g.team_id == team_id) or (user_id is not None and g.user_id == user_id))
        for g in case.grants
    )


def _excluded(db: Session, case: Case, user: StaffUser) -> bool:
    return db.get(CaseExcludedMember, (case.id, user.id)) is not None
