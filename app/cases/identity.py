"""Identity disclosure (DESIGN.md section 4; EU directive 2019/1937 Art. 16).

A reporter's identity is under a key of its own, sealed only to the
protection team. The path to it for anyone else is four steps, each audited:

1. someone who can open the case **requests** it with a reason;
2. a supervisor who can open the case, not the requester, **approves or
   refuses** with a reason; an approval tells the reporter unless the
   supervisor records why that would jeopardise the investigation;
3. a confirmed member of the protection team the identity is sealed to
   **releases** it by sealing the identity key to the requester's public key;
4. the requester **views** it (and so may a custodian), each time audited.

The reporter's notice is written at approval, by the supervisor: they can
open the case (a protection officer usually cannot, as cases are sealed to
intake and investigation teams), and Art. 16(2) asks that the reporter be
told *before* the identity is disclosed, which approval precedes.

Reasons are encrypted under the case key, so a custodian who cannot open
the case sees who asked and when, not why (the supervisor judged that).
Access failures are :class:`app.cases.keys.NoAccess` (a 404 at the edge, so
a URL does not confirm a case or request exists); workflow refusals are
:class:`IdentityError` subclasses with a message for the user.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import record
from app.cases import keys as case_keys
from app.cases.deadlines import local_today
from app.models.audit import AuditEvent
from app.models.cases import AccessRequestStatus, Case, CaseExcludedMember, EntryKind, IdentityAccessRequest
from app.models.identity_disclosure import IdentityApproval, IdentityRelease
from app.models.staff import Role, StaffUser, Team
from app.reporting.service import case_cipher, new_entry
from app.staff import keyring
from crypto import FieldCipher, open_sealed, seal
from crypto.errors import CryptoError

NoAccess = case_keys.NoAccess
REQUEST_ROLES = (Role.INVESTIGATOR, Role.INTAKE, Role.LEGAL, Role.SUPERVISOR)
REASON = "identity.request.reason"
DECISION_REASON = "identity.decision.reason"
JEOPARDY_REASON = "identity.decision.jeopardy"
IDENTITY_FIELDS = ("name", "employee_number", "contact")


class IdentityError(Exception):
    """A disclosure step that cannot be taken now (shown to the user as a message)."""


class NoIdentity(IdentityError):
    """The reporter gave no identity for this case: there is nothing to request."""


class AlreadyRequested(IdentityError):
    """This user already has a request pending, approved or released for this case."""


class OwnRequest(IdentityError):
    """A supervisor cannot decide their own request (four eyes)."""


class NotPending(IdentityError):
    """The request was decided already (perhaps by someone else meanwhile)."""


class NotReleasable(IdentityError):
    """The request is not approved, or was released already."""


class EmptyReason(IdentityError):
    """A reason is required and was left blank."""


def release_context(case_id: int, request_id: int, user_id: int) -> bytes:
    """Sealing context of a released identity key: bound to the case, the request and the recipient.

    Threat: someone with write access to the database copying a release row
    onto another request or user; the seal then no longer opens.
    """
    return f"haechi/identity-release/v1:{case_id}:{request_id}:{user_id}".encode()


def reporter_notice(request_reason: str, decision_reason: str) -> str:
    """The inbox notice of an approved disclosure, in Korean and English (the reporter's language is unknown)."""
    return (
        "[신원 공개 안내]\n"
        "귀하의 신고를 조사하기 위하여, 감독자의 승인에 따라 귀하의 신원 정보를 이 사건의 담당 조사자 "
        "1명에게 공개하기로 결정하였습니다. 공개된 정보는 이 조사에만 사용되며, 모든 열람은 기록됩니다.\n"
        f"요청 사유: {request_reason}\n"
        f"승인 사유: {decision_reason}\n"
        "문의나 이의가 있으시면 이 메시지에 답장해 주십시오.\n"
        "\n"
        "[Notice of identity disclosure]\n"
        "To investigate your report, a supervisor has approved disclosing your identity to one investigator "
        "working on your case. It will be used only for this investigation, and every access is recorded.\n"
        f"Reason for the request: {request_reason}\n"
        f"Reason for the approval: {decision_reason}\n"
        "If you have questions or objections, reply to this message.\n"
    )


@dataclass
class RequestView:
    """One request as the identity page shows it (reasons only to those who can open the case)."""

    id: int
    requested_by: str
    requested_by_id: int
    created_at: dt.datetime
    status: str
    reason: str | None
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str | None
    reporter_informed: bool | None
    jeopardy_reason: str | None
    released_to: str | None
    released_by: str | None
    released_at: dt.datetime | None
    can_decide: bool = False
    can_release: bool = False


@dataclass
class HistoryItem:
    """One audited step of the disclosure of this case's identity."""

    at: dt.datetime
    actor: str
    action: str
    target: str


@dataclass
class Overview:
    """Everything the identity page shows one user, and what that user may do."""

    case: Case
    has_identity: bool
    can_open_case: bool
    is_custodian: bool
    requests: list[RequestView] = field(default_factory=list)
    history: list[HistoryItem] = field(default_factory=list)
    can_request: bool = False
    can_view: bool = False


def _case(db: Session, case_id: int) -> Case:
    case = db.get(Case, case_id)
    if case is None:
        raise NoAccess()
    return case


def _case_key(db: Session, case: Case, user: StaffUser, user_private: bytes) -> bytes | None:
    try:
        return case_keys.open_as_staff(db, case, user, user_private)
    except NoAccess:
        return None


def _require_case_key(db: Session, case: Case, user: StaffUser, user_private: bytes) -> bytes:
    key = _case_key(db, case, user, user_private)
    if key is None:
        raise NoAccess()
    return key


def _custodian_identity_key(db: Session, case: Case, user: StaffUser, user_private: bytes) -> bytes | None:
    """The identity key as a protection officer opens it with their team key, or None."""
    identity = case.identity
    if identity is None or identity.protection_team_id is None or not user.has_role(Role.PROTECTION):
        return None
    if _is_excluded(db, case, user):
        return None  # a custodian with a conflict of interest in this case is left out too
    team = db.get(Team, identity.protection_team_id)
    if team is None:
        return None
    try:
        team_private = keyring.open_team_key(team, user, user_private)
        if team_private is None:
            return None
        return open_sealed(team_private, identity.sealed_to_protection_key_ct, keyring.identity_key_context(case.id))
    except CryptoError:
        return None  # e.g. the team was re-keyed and the identity not re-sealed yet


def _is_excluded(db: Session, case: Case, user: StaffUser) -> bool:
    return db.get(CaseExcludedMember, (case.id, user.id)) is not None


def _request(db: Session, case: Case, request_id: int) -> IdentityAccessRequest:
    req = db.get(IdentityAccessRequest, request_id)
    if req is None or req.case_id != case.id:
        raise NoAccess()
    return req


def _release_of(db: Session, request_id: int) -> IdentityRelease | None:
    return db.scalar(select(IdentityRelease).where(IdentityRelease.request_id == request_id))


def _own_requests(db: Session, case: Case, user: StaffUser) -> list[IdentityAccessRequest]:
    return list(
        db.scalars(
            select(IdentityAccessRequest)
            .where(IdentityAccessRequest.case_id == case.id, IdentityAccessRequest.requested_by == user.id)
            .order_by(IdentityAccessRequest.id)
        )
    )


def _target(req: IdentityAccessRequest) -> str:
    return f"identity_request:{req.id}"


def request_access(
    db: Session, case_id: int, user: StaffUser, user_private: bytes, reason: str, now: dt.datetime
) -> IdentityAccessRequest:
    """Ask to see the reporter's identity, with a reason kept under the case key."""
    if not user.has_role(*REQUEST_ROLES):
        raise NoAccess()
    case = _case(db, case_id)
    case_key = _require_case_key(db, case, user, user_private)
    if case.identity is None:
        raise NoIdentity()
    if not reason.strip():
        raise EmptyReason()
    # Pending or approved (released or about to be): one way in per person at a time.
    if any(r.status != AccessRequestStatus.REFUSED.value for r in _own_requests(db, case, user)):
        raise AlreadyRequested()
    req = IdentityAccessRequest(
        case_id=case.id,
        requested_by=user.id,
        reason_ct=FieldCipher(case_key, str(case.id)).encrypt_text(REASON, reason.strip()),
        status=AccessRequestStatus.REQUESTED.value,
        created_at=now,
    )
    db.add(req)
    db.flush()
    record(db, "identity.requested", actor_user_id=user.id, case_id=case.id, target=_target(req), now=now)
    return req


def decide(
    db: Session,
    case_id: int,
    request_id: int,
    user: StaffUser,
    user_private: bytes,
    *,
    approve: bool,
    reason: str,
    jeopardy_reason: str | None,
    now: dt.datetime,
) -> IdentityAccessRequest:
    """A supervisor approves or refuses a request; an approval tells the reporter unless it would jeopardise.

    The reporter's notice (Art. 16(2): informed before disclosure, with the
    reasons in writing) is added here, by the supervisor who holds the case
    key, before any custodian can release the identity.
    """
    if not user.has_role(Role.SUPERVISOR):
        raise NoAccess()
    case = _case(db, case_id)
    case_key = _require_case_key(db, case, user, user_private)
    req = _request(db, case, request_id)
    if req.requested_by == user.id:
        raise OwnRequest()
    if not reason.strip():
        raise EmptyReason()
    jeopardy = (jeopardy_reason or "").strip() if approve else ""
    cipher = FieldCipher(case_key, str(case.id))
    status = AccessRequestStatus.APPROVED if approve else AccessRequestStatus.REFUSED
    # A conditional update: of two supervisors deciding at once, the second finds nothing pending.
    changed = db.execute(
        update(IdentityAccessRequest)
        .where(
            IdentityAccessRequest.id == req.id,
            IdentityAccessRequest.status == AccessRequestStatus.REQUESTED.value,
        )
        .values(
            status=status.value,
            decided_by=user.id,
            decided_at=now,
            decision_reason_ct=cipher.encrypt_text(DECISION_REASON, reason.strip()),
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise NotPending()
    db.refresh(req)
    target = _target(req)
    record(db, f"identity.{status.value}", actor_user_id=user.id, case_id=case.id, target=target, now=now)
    if not approve:
        return req

    approval = IdentityApproval(request_id=req.id, reporter_informed=not jeopardy)
    if jeopardy:
        approval.jeopardy_reason_ct = cipher.encrypt_text(JEOPARDY_REASON, jeopardy)
        db.add(approval)
        db.flush()
        record(db, "identity.reporter_not_informed", actor_user_id=user.id, case_id=case.id, target=target, now=now)
        return req
    notice = reporter_notice(cipher.decrypt_text(REASON, req.reason_ct), reason.strip())
    entry = new_entry(
        db,
        case,
        case_key,
        EntryKind.MESSAGE_OUT.value,
        notice.encode(),
        created_on=local_today(now),
        created_at=now,
        author_user_id=user.id,
        visible_to_reporter=True,
    )
    approval.notice_entry_id = entry.id
    db.add(approval)
    db.flush()
    record(
        db, "identity.reporter_informed", actor_user_id=user.id, case_id=case.id, target=f"entry:{entry.id}", now=now
    )
    return req


def release(
    db: Session, case_id: int, request_id: int, user: StaffUser, user_private: bytes, now: dt.datetime
) -> IdentityRelease:
    """A custodian seals the identity key to the investigator whose request was approved."""
    if not user.has_role(Role.PROTECTION):
        raise NoAccess()
    case = _case(db, case_id)
    identity_key = _custodian_identity_key(db, case, user, user_private)
    if identity_key is None:
        raise NoAccess()
    req = _request(db, case, request_id)
    if req.status != AccessRequestStatus.APPROVED.value or _release_of(db, req.id) is not None:
        raise NotReleasable()
    if req.requested_by == user.id or req.decided_by == user.id:
        raise OwnRequest()  # three different people: requester, deciding supervisor, releasing custodian
    recipient = db.get(StaffUser, req.requested_by)
    if recipient is None or not recipient.is_active or _is_excluded(db, case, recipient):
        raise NotReleasable()
    rel = IdentityRelease(
        request_id=req.id,
        user_id=recipient.id,
        released_by=user.id,
        sealed_key_ct=seal(recipient.public_key, identity_key, release_context(case.id, req.id, recipient.id)),
        released_at=now,
    )
    db.add(rel)
    db.flush()
    record(db, "identity.released", actor_user_id=user.id, case_id=case.id, target=_target(req), now=now)
    return rel


def _released_identity_key(db: Session, case: Case, user: StaffUser, user_private: bytes) -> tuple[bytes, str] | None:
    """The identity key from a release to this user (who must still be able to open the case)."""
    rows = db.execute(
        select(IdentityRelease, IdentityAccessRequest)
        .join(IdentityAccessRequest, IdentityAccessRequest.id == IdentityRelease.request_id)
        .where(
            IdentityAccessRequest.case_id == case.id,
            IdentityAccessRequest.status == AccessRequestStatus.APPROVED.value,
            IdentityRelease.user_id == user.id,
        )
    ).all()
    for rel, req in rows:
        try:
            key = open_sealed(user_private, rel.sealed_key_ct, release_context(case.id, req.id, user.id))
        except CryptoError:
            continue
        return key, _target(req)
    return None


def can_view_identity(db: Session, case: Case, user: StaffUser, user_private: bytes) -> bool:
    """Whether ``user`` could open the identity now (custodian, or released to them and holding the case); not audited.

    Lets a page offer the identity (say, in a PDF support file) without opening it.
    """
    if case.identity is None:
        return False
    if _custodian_identity_key(db, case, user, user_private) is not None:
        return True
    return (
        _case_key(db, case, user, user_private) is not None
        and _released_identity_key(db, case, user, user_private) is not None
    )


def view_identity(db: Session, case_id: int, user: StaffUser, user_private: bytes, now: dt.datetime) -> dict[str, str]:
    """The reporter's identity, for a custodian or an investigator it was released to; audited each time.

    A released investigator must still hold the case (a later conflict-of-
    interest exclusion or revoked grant closes the identity too).
    """
    case = _case(db, case_id)
    identity = case.identity
    if identity is None:
        raise NoAccess()
    key = _custodian_identity_key(db, case, user, user_private)
    target = f"team:{identity.protection_team_id}"
    if key is None:
        _require_case_key(db, case, user, user_private)
        released = _released_identity_key(db, case, user, user_private)
        if released is None:
            raise NoAccess()
        key, target = released
    fields = json.loads(FieldCipher(key, str(case.id)).decrypt("identity", identity.fields_ct))
    record(db, "identity.viewed", actor_user_id=user.id, case_id=case.id, target=target, now=now)
    return {name: str(fields.get(name, "")) for name in IDENTITY_FIELDS}


def overview(db: Session, case_id: int, user: StaffUser, user_private: bytes) -> Overview:
    """Status and history of the case's identity requests, and what this user may do.

    Open to whoever can open the case and to the identity's custodians; anyone
    else gets :class:`NoAccess`.
    """
    case = _case(db, case_id)
    case_key = _case_key(db, case, user, user_private)
    is_custodian = _custodian_identity_key(db, case, user, user_private) is not None
    if case_key is None and not is_custodian:
        raise NoAccess()
    view = Overview(
        case=case, has_identity=case.identity is not None, can_open_case=case_key is not None, is_custodian=is_custodian
    )
    cipher = case_cipher(case, case_key) if case_key is not None else None
    names: dict[int, str] = {}

    def name(user_id: int | None) -> str:
        if user_id is None:
            return ""
        if user_id not in names:
            u = db.get(StaffUser, user_id)
            names[user_id] = u.display_name if u is not None else f"#{user_id}"
        return names[user_id]

    reqs = db.scalars(
        select(IdentityAccessRequest).where(IdentityAccessRequest.case_id == case.id).order_by(IdentityAccessRequest.id)
    )
    for req in reqs:
        approval = db.get(IdentityApproval, req.id)
        rel = _release_of(db, req.id)
        pending = req.status == AccessRequestStatus.REQUESTED.value
        view.requests.append(
            RequestView(
                id=req.id,
                requested_by=name(req.requested_by),
                requested_by_id=req.requested_by,
                created_at=req.created_at,
                status=req.status,
                reason=cipher.decrypt_text(REASON, req.reason_ct) if cipher else None,
                decided_by=name(req.decided_by) or None,
                decided_at=req.decided_at,
                decision_reason=(
                    cipher.decrypt_text(DECISION_REASON, req.decision_reason_ct)
                    if cipher and req.decision_reason_ct
                    else None
                ),
                reporter_informed=approval.reporter_informed if approval else None,
                jeopardy_reason=(
                    cipher.decrypt_text(JEOPARDY_REASON, approval.jeopardy_reason_ct)
                    if cipher and approval and approval.jeopardy_reason_ct
                    else None
                ),
                released_to=name(rel.user_id) if rel else None,
                released_by=name(rel.released_by) if rel else None,
                released_at=rel.released_at if rel else None,
                can_decide=pending
                and case_key is not None
                and user.has_role(Role.SUPERVISOR)
                and req.requested_by != user.id,
                can_release=req.status == AccessRequestStatus.APPROVED.value
                and rel is None
                and is_custodian
                and req.requested_by != user.id,
            )
        )
    events = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.case_id == case.id, AuditEvent.action.like("identity.%"))
        .order_by(AuditEvent.id)
    )
    view.history = [HistoryItem(e.at, name(e.actor_user_id), e.action, e.target or "") for e in events]
    view.can_request = (
        view.has_identity
        and case_key is not None
        and user.has_role(*REQUEST_ROLES)
        and all(r.status == AccessRequestStatus.REFUSED.value for r in view.requests if r.requested_by_id == user.id)
    )
    view.can_view = (
        view.has_identity
        and (is_custodian or any(r.released_to is not None and r.requested_by_id == user.id for r in view.requests))
        and (is_custodian or case_key is not None)
    )
    return view
