"""Who and what a case concerns, matched by keyed blind index: alert links and training flags.

Threat: a reader of the database (or a backup) learns which officials or
contracts the office is looking at. Names and contract numbers are therefore
never stored: a case subject keeps its value encrypted under the case key
(only the case's handlers read it) and, for matching, an HMAC under the
instance bridge key (:func:`monitoring_bridge.keyring.mac`, which never
enters the database), so guessing a name and hashing it does not confirm it.
The same index is computed for the official an alert names
(``BridgeRecord.official_index``) and for the official of a training record
(its ``correlation_key``), which is what lets the three meet.

Normalisation: an official's name is NFKC, whitespace collapsed, case-folded
(the training adapter's form since it was written, so indexes already stored
stay valid); a contract number is NFKC without spaces or dashes, upper-case
(as employee numbers in :mod:`monitoring_bridge.blind_index`).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import record as audit
from app.cases.handover import take_over
from app.models.bridge import BridgeRecord, BridgeSource, SourceKind
from app.models.cases import Case, CaseKind, CaseLink, CaseStatus, LinkRelation
from app.models.staff import StaffUser
from app.models.subjects import CaseSubject, SubjectKind
from app.reporting.service import case_cipher
from monitoring_bridge import keyring
from monitoring_bridge.adapters import _common
from monitoring_bridge.blind_index import normalise_employee_number

# Purposes of the keyed index, one per kind (the official's is the training adapter's original label).
_INDEX_PURPOSE = {SubjectKind.OFFICIAL: "training.official", SubjectKind.CONTRACT: "subject.contract"}
MAX_VALUE = 200
# A report is "open" for linking until it is resolved or closed (as for department links).
CLOSED_REPORT_STATES = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
# Training records say the official is enrolled in a mandatory course (scenario) and when it was completed.
MANDATORY = "mandatory"


class SubjectError(ValueError):
    """The value cannot be a subject (empty once normalised, too long)."""


def normalise(kind: SubjectKind, value: str) -> str:
    """The form that is indexed (see the module docstring)."""
    if kind == SubjectKind.OFFICIAL:
        return " ".join(unicodedata.normalize("NFKC", value).split()).casefold()
    return normalise_employee_number(value)


def subject_index(bridge_key: bytes, kind: SubjectKind, value: str) -> bytes:
    """The 32-byte blind index of an official's name or a contract number."""
    normalised = normalise(kind, value)
    if not normalised:
        raise SubjectError("empty")
    return keyring.mac(bridge_key, _INDEX_PURPOSE[kind], normalised)


def official_index(bridge_key: bytes, name: str) -> bytes:
    """The blind index of an official's name (alerts, training records, case subjects)."""
    return subject_index(bridge_key, SubjectKind.OFFICIAL, name)


def contract_index(bridge_key: bytes, number: str) -> bytes:
    """The blind index of a contract number."""
    return subject_index(bridge_key, SubjectKind.CONTRACT, number)


def _purpose(kind: str) -> str:
    return f"subject.{kind}"


@dataclass(frozen=True)
class Subject:
    """A subject as its case's handlers read it."""

    id: int
    kind: str
    value: str


def add_subject(
    db: Session,
    case: Case,
    case_key: bytes,
    bridge_key: bytes,
    kind: SubjectKind,
    value: str,
    actor: StaffUser,
    now: dt.datetime,
) -> CaseSubject | None:
    """Name an official or contract on a case (audited); None if the case already names it.

    The value is staff content under the case key, so on a case the bridge
    made this is a take-over: the bridge's copy of the key is destroyed
    (:mod:`app.cases.handover`), as for a note.
    """
    value = value.strip()
    if not value or len(value) > MAX_VALUE:
        raise SubjectError("length")
    index = subject_index(bridge_key, kind, value)
    present = db.scalar(
        select(CaseSubject.id).where(
            CaseSubject.case_id == case.id, CaseSubject.kind == kind.value, CaseSubject.blind_index == index
        )
    )
    if present is not None:
        return None
    subject = CaseSubject(
        case_id=case.id,
        kind=kind.value,
        blind_index=index,
        value_ct=case_cipher(case, case_key).encrypt_text(_purpose(kind.value), value),
        created_by=actor.id,
        created_at=now,
    )
    db.add(subject)
    db.flush()
    take_over(db, case, actor, now, "subject")
    audit(
        db, "case.subject_added", actor_user_id=actor.id, case_id=case.id, target=f"case_subject:{subject.id}", now=now
    )
    link_alerts_naming(db, case, kind, index, actor, now)
    return subject


def link_alerts_naming(
    db: Session, report: Case, kind: SubjectKind, index: bytes, actor: StaffUser, now: dt.datetime
) -> list[int]:
    """Link ``alert_for`` the open alert cases whose alerts name this official or contract; returns their ids.

    Why: the importer links an alert to the reports naming its official or
    contract only when the alert arrives; an official or contract staff name
    on a report *afterwards* must find the alerts already open about them
    (issue 7), or the two halves of the same suspicion stay apart. Matched on
    the alert records' blind indexes (``official_index``, ``contract_index``),
    never on names. Only an open report gets links, as at import. Each new
    link is audited (``case.linked`` on the alert case, by the staff member);
    one that exists already is left alone.
    """
    if report.kind != CaseKind.REPORT.value or report.status in CLOSED_REPORT_STATES:
        return []
    column = BridgeRecord.official_index if kind == SubjectKind.OFFICIAL else BridgeRecord.contract_index
    alerts = list(
        db.scalars(
            select(Case)
            .where(
                Case.kind == CaseKind.ALERT.value,
                Case.status.in_(_common.OPEN_STATUSES),
                Case.id.in_(select(BridgeRecord.case_id).where(column == index)),
            )
            .order_by(Case.id)
        )
    )
    if not alerts:
        return []
    from app.cases.service import link_cases  # the cases package imports this module's users, not the reverse

    present = set(
        db.scalars(
            select(CaseLink.from_case_id).where(
                CaseLink.to_case_id == report.id,
                CaseLink.relation == LinkRelation.ALERT_FOR.value,
                CaseLink.from_case_id.in_([a.id for a in alerts]),
            )
        )
    )
    linked = []
    for alert in alerts:
        if alert.id not in present:
            link_cases(db, alert, report, LinkRelation.ALERT_FOR.value, actor, now)
            linked.append(alert.id)
    return linked


def remove_subject(db: Session, case: Case, subject_id: int, actor: StaffUser, now: dt.datetime) -> bool:
    """Remove a subject from its case (audited); False if the case has no such subject."""
    subject = db.get(CaseSubject, subject_id)
    if subject is None or subject.case_id != case.id:
        return False
    db.delete(subject)
    audit(
        db,
        "case.subject_removed",
        actor_user_id=actor.id,
        case_id=case.id,
        target=f"case_subject:{subject_id}",
        now=now,
    )
    return True


def read_subjects(db: Session, case: Case, case_key: bytes) -> list[Subject]:
    """The case's subjects, decrypted with its key, officials first."""
    cipher = case_cipher(case, case_key)
    rows = db.scalars(
        select(CaseSubject).where(CaseSubject.case_id == case.id).order_by(CaseSubject.kind.desc(), CaseSubject.id)
    )
    return [Subject(s.id, s.kind, cipher.decrypt_text(_purpose(s.kind), s.value_ct)) for s in rows]


def open_report_subjects(db: Session) -> dict[tuple[str, bytes], list[int]]:
    """(kind, blind index) -> ids of the open reports that name it: what an alert is linked ``alert_for`` to."""
    rows = db.execute(
        select(CaseSubject.kind, CaseSubject.blind_index, CaseSubject.case_id)
        .join(Case, Case.id == CaseSubject.case_id)
        .where(Case.kind == CaseKind.REPORT.value, Case.status.not_in(CLOSED_REPORT_STATES))
        .order_by(CaseSubject.case_id)
    )
    found: dict[tuple[str, bytes], list[int]] = {}
    for kind, index, case_id in rows:
        found.setdefault((kind, index), []).append(case_id)
    return found


def officials_of(db: Session, case_id: int) -> set[bytes]:
    """Blind indexes of the officials a case names: its subjects and the officials of its alerts."""
    named = set(
        db.scalars(
            select(CaseSubject.blind_index).where(
                CaseSubject.case_id == case_id, CaseSubject.kind == SubjectKind.OFFICIAL.value
            )
        )
    )
    named.update(
        i
        for i in db.scalars(
            select(BridgeRecord.official_index)
            .where(BridgeRecord.case_id == case_id, BridgeRecord.official_index.is_not(None))
            .distinct()
        )
        if i is not None
    )
    return named


def untrained(db: Session, officials: Collection[bytes]) -> set[bytes]:
    """Those of ``officials`` enrolled in a mandatory course they have not completed (by training records).

    An official with no training record at all is not flagged: the record
    says nothing about them, and the flag must not accuse on absence of data.
    """
    if not officials:
        return set()
    training = select(BridgeSource.id).where(BridgeSource.kind == SourceKind.TRAINING.value)
    return {
        i
        for i in db.scalars(
            select(BridgeRecord.correlation_key)
            .where(
                BridgeRecord.source_id.in_(training),
                BridgeRecord.correlation_key.in_(list(officials)),
                BridgeRecord.scenario == MANDATORY,
                BridgeRecord.occurred_at.is_(None),
            )
            .distinct()
        )
        if i is not None
    }


@dataclass(frozen=True)
class TrainingFlag:
    """What the case page shows: how many officials the case names, and how many lack mandatory training."""

    named: int
    untrained: int


def training_flag(db: Session, case: Case) -> TrainingFlag | None:
    """The flag of an open case (None once it is resolved, accepted or closed)."""
    if case.status not in _common.OPEN_STATUSES:
        return None
    officials = officials_of(db, case.id)
    return TrainingFlag(named=len(officials), untrained=len(untrained(db, officials)))


def count_subjects(db: Session, case_id: int) -> int:
    """How many subjects a case names (the case page shows the number; values need the subjects page)."""
    return int(db.scalar(select(func.count()).where(CaseSubject.case_id == case_id)) or 0)
