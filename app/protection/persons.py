"""Protected persons: made from the employee number a reporter who is a public officer gives, extendable.

Threat: a list of who is protected, by employee number, is a list of who
reported. So a protected person is stored as a blind index (HMAC of the
normalised number under the instance protection key, never the number) and
an identity ciphertext under the case's *identity* key, which only the
protection team's custodians (and the offline recovery key) can open.

Two ways in: at submission, when the reporter says they work for the city
and gives their employee number (the number is in hand then, so the blind
index is computed at once and the identity record's ciphertext is copied,
not re-encrypted); or later by a custodian, from the case's identity record
(optionally with a corrected number typed in, encrypted under the identity
key). Either way the check-ins are scheduled and events that arrived before
are matched.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record, reporter_day
from app.cases.deadlines import add_months, local_today
from app.cases.identity import _custodian_identity_key
from app.models.audit import ActorKind
from app.models.cases import Case
from app.models.protection import ProtectedPerson, RetaliationAlert
from app.models.staff import Role, StaffUser
from app.notifications import service as notifications
from app.protection import checkins
from app.protection.errors import AlreadyProtected, InvalidInput, NoIdentity, NotAllowed
from app.protection.matching import match_person
from config import Settings
from crypto import FieldCipher
from monitoring_bridge.blind_index import BlindIndexError, blind_index

IDENTITY_PURPOSE = "identity"  # the identity record's own purpose: its ciphertext is reused as is
MAX_EXTENSION_MONTHS = 120


def protected_until(settings: Settings, reported_on: dt.date) -> dt.date:
    """The default end of protection: ``settings.protection_months`` after the report (two years)."""
    return add_months(reported_on, settings.protection_months)


def person_of(db: Session, case_id: int) -> ProtectedPerson | None:
    """The protected person of a case, if its reporter is protected."""
    return db.scalar(select(ProtectedPerson).where(ProtectedPerson.case_id == case_id))


def _new_person(
    db: Session, settings: Settings, case: Case, index: bytes, identity_ct: bytes, created_at: dt.datetime
) -> ProtectedPerson:
    if person_of(db, case.id) is not None:
        raise AlreadyProtected("this reporter is protected already")
    person = ProtectedPerson(
        case_id=case.id,
        blind_index=index,
        identity_ct=identity_ct,
        protected_from=case.received_on,
        protected_until=protected_until(settings, case.received_on),
        created_at=created_at,
    )
    db.add(person)
    db.flush()
    checkins.schedule_for(db, settings, person, case.received_on)
    return person


def protect_on_submission(
    db: Session,
    settings: Settings,
    protection_key: bytes,
    case_id: int,
    public_officer: str,
    employee_number: str,
    now: dt.datetime,
) -> ProtectedPerson | None:
    """Protect the reporter of a new report if they work for the city and gave their employee number.

    Called in the submission's transaction, while the number is in hand: it
    becomes the blind index here and is dropped. The identity ciphertext is
    the identity record's own (same key, same purpose), so nothing new is
    encrypted and custodians open it like the identity. Dated by the day
    only in the audit (a reporter action).
    """
    if public_officer != "yes" or not employee_number.strip():
        return None
    case = db.get(Case, case_id)
    if case is None or case.identity is None:
        return None
    try:
        index = blind_index(protection_key, employee_number)
    except BlindIndexError:
        return None  # only dashes or spaces: nothing to match by; custodians may still enter it later
    # The day only: the row is born from the reporter's submission, whose exact time could identify them.
    person = _new_person(db, settings, case, index, case.identity.fields_ct, reporter_day(now))
    record(
        db, "protection.person_protected", actor_kind=ActorKind.REPORTER, case_id=case.id, target=f"person:{person.id}"
    )
    # Events already on file (a transfer announced ahead, say) may raise alerts now; those rows
    # are born in the reporter's request, so they carry the day too, never the instant.
    alerts = match_person(db, person, reporter_day(now), actor_kind=ActorKind.SYSTEM)
    _notify(db, settings, alerts, now, reporter_action=True)
    return person


def _notify(
    db: Session, settings: Settings, alerts: list[RetaliationAlert], now: dt.datetime, *, reporter_action: bool
) -> None:
    """Tell the protection team of alerts raised here, as the bridge does for alerts it raises.

    ``reporter_action`` inside a reporter's request: those mails wait for the
    next day's digest, so no send time betrays when the reporter submitted.
    """
    today = local_today(now)
    for alert in alerts:
        notifications.retaliation_alert(db, settings, alert, today, reporter_action=reporter_action)


def _identity_key(db: Session, case: Case, user: StaffUser, user_private: bytes) -> bytes:
    if not user.has_role(Role.PROTECTION):
        raise NotAllowed("only the protection team holds reporters' identities")
    if case.identity is None:
        raise NoIdentity("the reporter gave no identity for this case")
    key = _custodian_identity_key(db, case, user, user_private)
    if key is None:
        raise NotAllowed("you cannot open this reporter's identity")
    return key


def protect_from_identity(
    db: Session,
    settings: Settings,
    protection_key: bytes,
    case: Case,
    user: StaffUser,
    user_private: bytes,
    now: dt.datetime,
    employee_number: str = "",
) -> tuple[ProtectedPerson, list[RetaliationAlert]]:
    """A custodian protects a case's reporter from the identity record (or a number they type in).

    Without ``employee_number`` the number in the identity record is used. A
    typed number replaces it in the protected person's identity ciphertext
    (under the identity key); the identity record itself is left as the
    reporter gave it. Events already received are matched at once.
    """
    key = _identity_key(db, case, user, user_private)
    assert case.identity is not None
    cipher = FieldCipher(key, str(case.id))
    fields = json.loads(cipher.decrypt(IDENTITY_PURPOSE, case.identity.fields_ct))
    number = employee_number.strip() or str(fields.get("employee_number", "")).strip()
    if not number:
        raise NoIdentity("the identity record holds no employee number: type it in")
    try:
        index = blind_index(protection_key, number)
    except BlindIndexError:
        raise InvalidInput("the employee number is empty once spaces and dashes are removed") from None
    fields["employee_number"] = number
    identity_ct = cipher.encrypt(IDENTITY_PURPOSE, json.dumps(fields, ensure_ascii=False).encode())
    del number, fields
    person = _new_person(db, settings, case, index, identity_ct, now)
    record(
        db, "protection.person_protected", actor_user_id=user.id, case_id=case.id, target=f"person:{person.id}", now=now
    )
    alerts = match_person(db, person, now)
    _notify(db, settings, alerts, now, reporter_action=False)
    return person, alerts


def extend(
    db: Session,
    settings: Settings,
    person: ProtectedPerson,
    until: dt.date,
    actor: StaffUser,
    now: dt.datetime,
) -> list[RetaliationAlert]:
    """Extend a protection period to ``until``: more check-ins are scheduled, older events re-matched."""
    if not actor.has_role(Role.PROTECTION, Role.SUPERVISOR):
        raise NotAllowed("only the protection team or a supervisor extends a protection")
    if until <= person.protected_until:
        raise InvalidInput("an extension must end after the current end of protection")
    if until > add_months(person.protected_until, MAX_EXTENSION_MONTHS):
        raise InvalidInput("an extension is at most ten years at a time")
    case = db.get(Case, person.case_id)
    assert case is not None
    person.protected_until = until
    db.flush()
    checkins.schedule_for(db, settings, person, case.received_on)
    record(
        db,
        "protection.extended",
        actor_user_id=actor.id,
        case_id=person.case_id,
        target=f"person:{person.id}:{until.isoformat()}",
        now=now,
    )
    alerts = match_person(db, person, now)
    _notify(db, settings, alerts, now, reporter_action=False)
    return alerts


def read_identity(
    db: Session, person: ProtectedPerson, user: StaffUser, user_private: bytes, now: dt.datetime
) -> dict[str, str]:
    """The protected person's identity, for a custodian; audited every time it is opened."""
    case = db.get(Case, person.case_id)
    assert case is not None
    key = _identity_key(db, case, user, user_private)
    fields = json.loads(FieldCipher(key, str(case.id)).decrypt(IDENTITY_PURPOSE, person.identity_ct))
    record(
        db, "protection.identity_viewed", actor_user_id=user.id, case_id=case.id, target=f"person:{person.id}", now=now
    )
    return {name: str(fields.get(name, "")) for name in ("name", "employee_number", "contact")}
