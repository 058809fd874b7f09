"""The reporter's side of a case: submission, receipt, inbox, messages and files.

Everything a reporter writes is encrypted under the case key before it is
added to the session; only plaintext the workflow needs (kind, status,
category, department, dates) is stored as such (DESIGN.md section 4). Times
of reporter actions are kept to the day (section 5).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.cases import keys as case_keys
from app.cases.deadlines import ack_due_on
from app.cases.refs import random_ref
from app.models.audit import ActorKind
from app.models.cases import (
    Attachment,
    Case,
    CaseEntry,
    CaseKind,
    CaseStatus,
    Channel,
    Department,
    EntryKind,
    IdentityRecord,
)
from app.models.staff import RecoveryKey, Team, TeamKind
from app.notifications import service as notifications
from app.protection import answer_keys
from app.reporting.errors import NotReady, WrongReceipt
from app.staff import keyring
from config import Settings
from crypto import FieldCipher, aead, receipts, seal

CATEGORIES = (
    "bribery",
    "embezzlement",
    "abuse_of_authority",
    "subsidy_fraud",
    "procurement",
    "passive_administration",
    "other",
)
HOW_KNOWN = ("witnessed", "documents", "told", "other")
PUBLIC_OFFICER = ("yes", "no", "undisclosed")


@dataclass(frozen=True)
class ReportInput:
    """What the reporter typed, validated by the form."""

    category: str
    department_id: int | None
    what: str
    when_where: str
    who: str
    amount_won: int | None
    how_known: str
    public_officer: str


@dataclass(frozen=True)
class IdentityInput:
    """Optional identity and contact, kept under its own key for the protection team only."""

    name: str = ""
    employee_number: str = ""
    contact: str = ""

    def is_empty(self) -> bool:
        return not (self.name or self.employee_number or self.contact)


@dataclass(frozen=True)
class StoredFile:
    """An uploaded file already encrypted into the blob store."""

    blob_key: str
    size: int
    filename: str
    content_type: str


@dataclass(frozen=True)
class Submitted:
    """The outcome of a submission: the receipt to show once, and the public reference."""

    receipt: str
    public_ref: str
    case_id: int


@dataclass
class InboxMessage:
    """One item of the conversation as the reporter sees it."""

    kind: str
    on: dt.date
    text: str
    files: list[tuple[int, str, int]] = field(default_factory=list)  # (attachment id, name, size)


@dataclass
class Inbox:
    """What the reporter's inbox shows."""

    public_ref: str
    status: str
    received_on: dt.date
    report: dict[str, object]
    report_files: list[tuple[int, str, int]]
    conversation: list[InboxMessage]


def entry_purpose(kind: str) -> str:
    """Field-cipher purpose of a timeline entry's body: moving one into another kind fails."""
    return f"entry.{kind}"


def case_cipher(case: Case, case_key: bytes) -> FieldCipher:
    """The field cipher of one case."""
    return FieldCipher(case_key, str(case.id))


def _teams_of_kind(db: Session, kind: TeamKind) -> list[Team]:
    return list(db.scalars(select(Team).where(Team.kind == kind.value).order_by(Team.id)))


def _locked_teams_of_kind(db: Session, kind: TeamKind) -> list[Team]:
    """The teams of a kind, each locked before its key is sealed to, so a concurrent re-key waits for this.

    Why: see :func:`app.protection.answer_keys.lock_team`; without it a
    grant or identity key sealed here while the team is re-keyed stays under
    the dead key. Locked in id order, so two submissions never deadlock.
    """
    teams = [answer_keys.lock_team(db, team.id) for team in _teams_of_kind(db, kind)]
    return [team for team in teams if team is not None]


def _recovery(db: Session) -> RecoveryKey:
    key = db.scalars(select(RecoveryKey).where(RecoveryKey.active.is_(True)).limit(1)).first()
    if key is None:
        raise NotReady("no recovery key")
    return key


def active_departments(db: Session) -> list[Department]:
    """The departments a reporter can choose from."""
    return list(db.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.code)))


def _new_public_ref(db: Session, today: dt.date) -> str:
    # Random, not sequential: a sequence would tell how many reports came before.
    while True:
        ref = random_ref(today.year)
        if db.scalar(select(Case.id).where(Case.public_ref == ref)) is None:
            return ref


def add_files(
    case: Case, case_key: bytes, files: list[StoredFile], entry: CaseEntry | None, today: dt.date
) -> list[Attachment]:
    """Attach already-encrypted blobs to a case; names and types are encrypted too."""
    cipher = case_cipher(case, case_key)
    added = []
    for f in files:
        att = Attachment(
            blob_key=f.blob_key,
            size_bytes=f.size,
            created_on=today,
            name_ct=cipher.encrypt_text(f"file.name:{f.blob_key}", f.filename or "file"),
            content_type_ct=cipher.encrypt_text(f"file.type:{f.blob_key}", f.content_type or ""),
        )
        if entry is not None:
            att.entry_id = entry.id
        case.attachments.append(att)
        added.append(att)
    return added


def submit_report(
    db: Session,
    settings: Settings,
    receipt_salt: bytes,
    data: ReportInput,
    identity: IdentityInput,
    files: list[StoredFile],
    case_key: bytes,
    today: dt.date,
) -> Submitted:
    """Create the case (kind report, state received, acknowledgement due in 7 days) and its grants.

    The case key is sealed to every intake team, to the recovery key and to
    the reporter's receipt key; the identity, if given, goes under its own key
    sealed to the protection team and recovery only.
    """
    intake = _locked_teams_of_kind(db, TeamKind.INTAKE)
    protection = _teams_of_kind(db, TeamKind.PROTECTION)
    if not intake or (not identity.is_empty() and not protection):
        raise NotReady("intake or protection team missing")
    recovery = _recovery(db)

    case = Case(
        public_ref=_new_public_ref(db, today),
        kind=CaseKind.REPORT.value,
        source="web",
        status=CaseStatus.RECEIVED.value,
        category=data.category,
        department_id=data.department_id,
        received_on=today,
        ack_due_on=ack_due_on(received_on=today, days=settings.per_kind("ack_days", CaseKind.REPORT.value)),
        channel=Channel.WEB.value,
    )
    case.next_due_on = case.ack_due_on
    db.add(case)
    db.flush()

    code = receipts.generate_receipt()
    derived = receipts.derive_receipt_keys(code, receipt_salt, settings.argon2)
    case.receipt_lookup_id = derived.lookup_id
    case.receipt_scheme = receipts.SCHEME

    for team in intake:
        case_keys.grant_team(case, case_key, team)
    case_keys.grant_recovery(case, case_key, recovery)
    case_keys.grant_reporter(case, case_key, derived.keypair.public)

    report = json.dumps(asdict(data), ensure_ascii=False).encode()
    entry = new_entry(db, case, case_key, EntryKind.REPORT.value, report, created_on=today, visible_to_reporter=True)
    add_files(case, case_key, files, entry, today)

    if not identity.is_empty():
        identity_key = aead.generate_key()
        custodians = answer_keys.lock_team(db, protection[0].id) or protection[0]
        context = keyring.identity_key_context(case.id)
        case.identity = IdentityRecord(
            fields_ct=FieldCipher(identity_key, str(case.id)).encrypt(
                "identity", json.dumps(asdict(identity), ensure_ascii=False).encode()
            ),
            protection_team_id=custodians.id,
            key_version=custodians.key_version,
            sealed_to_protection_key_ct=seal(custodians.public_key, identity_key, context),
            recovery_sealed_key_ct=seal(recovery.public_key, identity_key, context),
        )
    db.flush()
    # Audited like any security-relevant act, dated to the day (the audit service drops the time).
    record(db, "report.submitted", actor_kind=ActorKind.REPORTER, case_id=case.id)
    notifications.new_case(db, settings, case, [team.id for team in intake], today, reporter_action=True)
    return Submitted(receipt=code, public_ref=case.public_ref, case_id=case.id)


def open_with_receipt(db: Session, settings: Settings, receipt_salt: bytes, typed: str) -> tuple[int, bytes]:
    """The case id and reporter private key for a receipt, or :class:`WrongReceipt`.

    Format and check-digit errors (a typo) are raised before any slow work as
    ReceiptFormatError / ReceiptChecksumError; every well-formed receipt costs
    one Argon2id run whether or not it exists, which dwarfs the one X25519
    opening only a known receipt does (about 0.1 ms against 120 ms).
    """
    derived = receipts.derive_receipt_keys(typed, receipt_salt, settings.argon2)
    case = db.scalars(select(Case).where(Case.receipt_lookup_id == derived.lookup_id)).first()
    if case is None:
        raise WrongReceipt()
    try:
        case_keys.open_as_reporter(case, derived.keypair.private)
    except case_keys.NoAccess:
        raise WrongReceipt() from None
    return case.id, derived.keypair.private


def load_case_for_reporter(db: Session, case_id: int, reporter_private: bytes) -> tuple[Case, bytes]:
    """The reporter's case and its key, from their session."""
    case = db.get(Case, case_id)
    if case is None:
        raise WrongReceipt()
    try:
        return case, case_keys.open_as_reporter(case, reporter_private)
    except case_keys.NoAccess:
        raise WrongReceipt() from None


def _files_of(case: Case, cipher: FieldCipher, entry_id: int | None) -> list[tuple[int, str, int]]:
    out = []
    for att in sorted(case.attachments, key=lambda a: a.id):
        if att.entry_id == entry_id:
            out.append((att.id, cipher.decrypt_text(f"file.name:{att.blob_key}", att.name_ct), att.size_bytes))
    return out


def read_inbox(case: Case, case_key: bytes) -> Inbox:
    """Decrypt what the reporter may see: the report, the conversation and their files."""
    cipher = case_cipher(case, case_key)
    report: dict[str, object] = {}
    report_files: list[tuple[int, str, int]] = []
    conversation = []
    for entry in sorted(case.entries, key=lambda e: (e.created_on, e.id)):
        if not entry.visible_to_reporter or entry.body_ct is None:
            continue
        body = cipher.decrypt(entry_purpose(entry.kind), entry.body_ct)
        if entry.kind == EntryKind.REPORT.value:
            report = json.loads(body)
            report_files = _files_of(case, cipher, entry.id)
        else:
            conversation.append(
                InboxMessage(
                    kind=entry.kind, on=entry.created_on, text=body.decode(), files=_files_of(case, cipher, entry.id)
                )
            )
    return Inbox(
        public_ref=case.public_ref,
        status=case.status,
        received_on=case.received_on,
        report=report,
        report_files=report_files,
        conversation=conversation,
    )


def new_entry(db: Session, case: Case, case_key: bytes, kind: str, body: bytes, **fields: Any) -> CaseEntry:
    """Add a timeline entry whose body is encrypted for its kind (the one place entries are sealed)."""
    entry = CaseEntry(kind=kind, body_ct=case_cipher(case, case_key).encrypt(entry_purpose(kind), body), **fields)
    case.entries.append(entry)
    db.flush()
    return entry


def add_reporter_message(
    db: Session,
    case: Case,
    case_key: bytes,
    text: str,
    files: list[StoredFile],
    today: dt.date,
    answers_question: bool = False,
) -> CaseEntry:
    """A message (or an answer to a question) from the reporter, with optional files; kept to the day."""
    kind = EntryKind.ANSWER.value if answers_question else EntryKind.MESSAGE_IN.value
    case.waiting_on_reporter = False
    entry = new_entry(db, case, case_key, kind, text.encode(), created_on=today, visible_to_reporter=True)
    add_files(case, case_key, files, entry, today)
    db.flush()
    record(db, "reporter.message_sent", actor_kind=ActorKind.REPORTER, case_id=case.id, target=f"entry:{entry.id}")
    return entry


def attachment_for(case: Case, attachment_id: int, *, for_reporter: bool) -> Attachment | None:
    """An attachment of this case (never of another), or None.

    For the reporter, only files of entries they can see (not, say, a file on
    an internal note).
    """
    visible = {e.id for e in case.entries if e.visible_to_reporter}
    for att in case.attachments:
        if att.id == attachment_id and (not for_reporter or att.entry_id in visible):
            return att
    return None


def attachment_meta(case: Case, case_key: bytes, att: Attachment) -> tuple[str, str]:
    """The decrypted file name and content type of an attachment."""
    cipher = case_cipher(case, case_key)
    name = cipher.decrypt_text(f"file.name:{att.blob_key}", att.name_ct)
    ctype = cipher.decrypt_text(f"file.type:{att.blob_key}", att.content_type_ct) if att.content_type_ct else ""
    return name, ctype
