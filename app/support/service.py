"""Support requests, decisions, the disbursement ledger and budgets (DESIGN.md section 7).

Plaintext is what accounting needs: types, statuses, amounts in whole won,
dates, payment references. What anyone writes (the request's details, the
decision's reasons) is encrypted under the case key with the purposes agreed
for the PDF support file: ``support.details:<id>`` and ``support.reasons:<id>``.
Receipts are attachments of the case, linked through ``support_receipts``.

Money rules, each enforced twice (here, then by the database, migration 0007):
the total paid never exceeds the approved amount; the ledger is append-only,
a correction being one reversing entry per payment. Above
``settings.support_four_eyes_won`` a supervisor other than the deciding legal
officer must confirm before anything is paid. Every step is audited.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from app.audit import record
from app.cases.deadlines import local_today
from app.cases.keys import cases_visible_to
from app.models.audit import ActorKind
from app.models.cases import Attachment, Case
from app.models.staff import Role, StaffUser
from app.models.support import Disbursement, SupportBudget, SupportReceipt, SupportRequest, SupportStatus, SupportType
from app.reporting.service import StoredFile, add_files, attachment_meta, case_cipher
from app.support.errors import ChangedMeanwhile, FourEyes, InvalidInput, NotAllowed, OverPayment
from config import Settings

MAX_TEXT = 20_000
MAX_WON = 10**15  # far beyond any municipal budget; keeps sums inside BIGINT
RELIEF_TYPES = frozenset(
    {
        SupportType.RELIEF_MEDICAL,
        SupportType.RELIEF_RELOCATION,
        SupportType.RELIEF_LOST_WAGES,
        SupportType.RELIEF_LEGAL_COSTS,
    }
)
# A reward is computed from what was recovered, which the office knows and the reporter does not:
# staff enter it. The reporter may ask for anything else.
REPORTER_TYPES = tuple(t for t in SupportType if t is not SupportType.REWARD)
DECIDED = (SupportStatus.APPROVED.value, SupportStatus.PARTLY_APPROVED.value)
PAYABLE = (*DECIDED, SupportStatus.PAID.value)
# Letters (any script), digits and a few separators; never a leading character a spreadsheet runs as a formula.
_PAYMENT_REF = re.compile(r"[^\W_][\w ./-]{0,99}")
BP = 10_000  # basis points in one whole


def details_purpose(request_id: int) -> str:
    """Field-cipher purpose of what was written when the request was made (shared with the PDF file)."""
    return f"support.details:{request_id}"


def reasons_purpose(request_id: int) -> str:
    """Field-cipher purpose of the decision's reasons (shared with the PDF file)."""
    return f"support.reasons:{request_id}"


def reward_amount(recovered_won: int, rate_bp: int) -> int:
    """The reward: recovered times the rate, in whole won, rounded down (the law pays no fractions of a won).

    Integer arithmetic only: a float would make 0.2 * 123,456,789 come out as 24,691,357.800000004.
    """
    if not 0 <= rate_bp <= 3000:
        raise InvalidInput("the reward rate is at most 30 %")
    if not 0 <= recovered_won <= MAX_WON:
        raise InvalidInput("the recovered amount must be a whole number of won, not negative")
    return recovered_won * rate_bp // BP


@dataclass(frozen=True)
class NewRequest:
    """A support request as typed, by the reporter or by a legal officer."""

    type: str
    amount_requested: int | None
    details: str = ""
    recovered_amount: int | None = None
    final_decision_on: dt.date | None = None


@dataclass
class RequestView:
    """One request as a staff page shows it: plaintext columns plus the decrypted texts and receipts."""

    request: SupportRequest
    details: str
    reasons: str
    receipts: list[tuple[int, str, int]]  # (attachment id, name, size)
    disbursements: list[Disbursement]
    reversed_ids: set[int]
    needs_confirmation: bool
    awaiting_confirmation: bool
    remaining: int


@dataclass(frozen=True)
class BudgetLine:
    """A support type's budget for a year, what was paid in that year, and what is left."""

    support_type: str
    budget: int | None
    paid: int

    @property
    def remaining(self) -> int | None:
        return None if self.budget is None else self.budget - self.paid


@dataclass(frozen=True)
class LedgerRow:
    """One ledger entry with its request's accounting columns (no free text, no identity)."""

    case_ref: str
    support_type: str
    request_id: int
    amount_approved: int
    entry_id: int
    paid_on: dt.date
    amount: int
    payment_ref: str
    reverses_id: int | None


@dataclass
class Ledger:
    """Ledger rows and their total."""

    rows: list[LedgerRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(r.amount for r in self.rows)


# --- requests -------------------------------------------------------------------------------------


def request_support(
    db: Session,
    settings: Settings,
    case: Case,
    case_key: bytes,
    data: NewRequest,
    receipts: list[StoredFile],
    now: dt.datetime,
    staff: StaffUser | None = None,
) -> SupportRequest:
    """File a support request on a case: by the reporter (``staff`` None, kept to the day) or by a legal officer.

    A reward's amount is computed here from the recovered amount and the configured rate.
    """
    today = local_today(now)
    if staff is not None and not staff.has_role(Role.LEGAL):
        raise NotAllowed("only a legal officer enters support requests")
    kind = _support_type(data.type)
    if staff is None and kind not in REPORTER_TYPES:
        raise NotAllowed("this kind of support is not requested by the reporter")
    _check_reporter_kind(case, kind)
    if len(data.details) > MAX_TEXT:
        raise InvalidInput("the description is too long")
    rate: int | None = None
    if kind is SupportType.REWARD:
        if data.recovered_amount is None or data.final_decision_on is None:
            raise InvalidInput("a reward needs the amount recovered and the date of the final decision")
        if data.final_decision_on > today:
            raise InvalidInput("the final decision cannot be in the future")
        rate = settings.reward_rate_bp
        amount = reward_amount(data.recovered_amount, rate)
    else:
        amount = _positive(data.amount_requested, "the amount requested")
    req = SupportRequest(
        case_id=case.id,
        type=kind.value,
        status=SupportStatus.REQUESTED.value,
        amount_requested=amount,
        recovered_amount=data.recovered_amount if kind is SupportType.REWARD else None,
        final_decision_on=data.final_decision_on if kind is SupportType.REWARD else None,
        reward_rate_bp=rate,
        requested_on=today,
        # A reporter's request keeps the day only (DESIGN.md section 5): a time could identify them.
        created_at=now if staff is not None else None,
        requested_by=staff.id if staff is not None else None,
    )
    db.add(req)
    db.flush()
    if data.details.strip():
        req.details_ct = case_cipher(case, case_key).encrypt_text(details_purpose(req.id), data.details.strip())
    for att in add_files(case, case_key, receipts, None, today):
        db.flush()
        db.add(SupportReceipt(support_request_id=req.id, attachment_id=att.id))
    db.flush()
    if staff is None:
        record(db, "support.requested", actor_kind=ActorKind.REPORTER, case_id=case.id, target=f"support:{req.id}")
    else:
        record(db, "support.requested", actor_user_id=staff.id, case_id=case.id, target=f"support:{req.id}", now=now)
    return req


def start_review(
    db: Session, req: SupportRequest, actor: StaffUser, expected_version: int | None, now: dt.datetime
) -> None:
    """A legal officer takes the request up: requested → under review."""
    _require(actor, Role.LEGAL, "only a legal officer reviews support requests")
    _check_version(req, expected_version)
    _in_state(req, SupportStatus.REQUESTED.value)
    req.status = SupportStatus.UNDER_REVIEW.value
    db.flush()
    _audit(db, "support.reviewed", actor, req, now)


def decide(
    db: Session,
    case: Case,
    case_key: bytes,
    req: SupportRequest,
    actor: StaffUser,
    *,
    approve: bool,
    amount: int | None,
    reasons: str,
    expected_version: int | None,
    now: dt.datetime,
) -> None:
    """The legal officer's decision: approved in full, partly (less, with reasons) or refused (with reasons)."""
    _require(actor, Role.LEGAL, "only a legal officer decides on support")
    _check_version(req, expected_version)
    _in_state(req, SupportStatus.UNDER_REVIEW.value)
    reasons = reasons.strip()
    if len(reasons) > MAX_TEXT:
        raise InvalidInput("the reasons are too long")
    if approve:
        approved = _positive(amount, "the approved amount")
        if approved > req.amount_requested:
            raise InvalidInput("the approved amount cannot exceed the amount requested")
        partly = approved < req.amount_requested
        if partly and not reasons:
            raise InvalidInput("a partial approval needs written reasons")
        req.amount_approved = approved
        req.status = (SupportStatus.PARTLY_APPROVED if partly else SupportStatus.APPROVED).value
    else:
        if not reasons:
            raise InvalidInput("a refusal needs written reasons")
        req.status = SupportStatus.REFUSED.value
    if reasons:
        req.reasons_ct = case_cipher(case, case_key).encrypt_text(reasons_purpose(req.id), reasons)
    req.decided_by = actor.id
    req.decided_at = now
    db.flush()
    _audit(db, "support.approved" if approve else "support.refused", actor, req, now)


def needs_confirmation(settings: Settings, req: SupportRequest) -> bool:
    """True when this approval, or the case's unconfirmed approvals together with it, pass the threshold.

    Threat: one officer splitting a large payment into several requests that
    each stay under the four-eyes threshold. Every other approved and
    unconfirmed request of the case counts, whatever its id and whether it is
    already paid: counting only older ones let the officer decide (and pay)
    the newest first, each then alone under the threshold.
    """
    if req.amount_approved is None:
        return False
    if req.amount_approved > settings.support_four_eyes_won:
        return True
    session = object_session(req)
    if session is None:
        return False
    others = session.scalar(
        select(func.coalesce(func.sum(SupportRequest.amount_approved), 0)).where(
            SupportRequest.case_id == req.case_id,
            SupportRequest.id != req.id,
            SupportRequest.amount_approved.is_not(None),
            SupportRequest.second_approver_id.is_(None),
        )
    )
    return int(others or 0) + req.amount_approved > settings.support_four_eyes_won


def awaiting_confirmation(settings: Settings, req: SupportRequest) -> bool:
    """Approved above the threshold and no supervisor has confirmed yet: nothing may be paid."""
    return req.status in DECIDED and needs_confirmation(settings, req) and req.second_approver_id is None


def confirm(
    db: Session,
    settings: Settings,
    req: SupportRequest,
    actor: StaffUser,
    expected_version: int | None,
    now: dt.datetime,
) -> None:
    """The second approver (a supervisor, never the one who decided) confirms an approval above the threshold."""
    _require(actor, Role.SUPERVISOR, "only a supervisor confirms an approval")
    _check_version(req, expected_version)
    _in_state(req, *DECIDED)
    if not needs_confirmation(settings, req):
        raise NotAllowed("this approval is within the threshold and needs no confirmation")
    if req.second_approver_id is not None:
        raise FourEyes("this approval is already confirmed")
    # Threat: one person approving a large payment alone, by holding both roles.
    if req.decided_by == actor.id:
        raise FourEyes("the person who decided cannot also confirm")
    req.second_approver_id = actor.id
    req.confirmed_at = now
    db.flush()
    _audit(db, "support.confirmed", actor, req, now)


def pay(
    db: Session,
    settings: Settings,
    req: SupportRequest,
    actor: StaffUser,
    *,
    amount: int | None,
    paid_on: dt.date | None,
    payment_ref: str,
    expected_version: int | None,
    now: dt.datetime,
) -> Disbursement:
    """Record a payment: a new ledger entry, never beyond what was approved and confirmed."""
    _require(actor, (Role.LEGAL, Role.SUPERVISOR), "only a legal officer or a supervisor records payments")
    # Threat: two officers paying the same request at once, each seeing room left.
    # The row lock makes the second wait and then read the first's total.
    req = _lock(db, req)
    _check_version(req, expected_version)
    _in_state(req, *PAYABLE)
    if awaiting_confirmation(settings, req):
        raise FourEyes("a supervisor must confirm this approval before anything is paid")
    value = _positive(amount, "the amount paid")
    when = _paid_on(paid_on, now)
    ref = _payment_ref(payment_ref)
    assert req.amount_approved is not None  # every payable status has one
    if req.paid_total + value > req.amount_approved:
        raise OverPayment(
            f"only {req.amount_approved - req.paid_total:,} won of the approved {req.amount_approved:,} won remain"
        )
    entry = Disbursement(
        support_request_id=req.id, amount=value, paid_on=when, payment_ref=ref, created_by=actor.id, created_at=now
    )
    db.add(entry)
    db.flush()  # the database adds the amount to paid_total (and refuses it past the approved amount)
    db.expire(req, ["paid_total"])
    req.status = SupportStatus.PAID.value
    db.flush()
    _audit(db, "support.paid", actor, req, now, target=f"disbursement:{entry.id}")
    return entry


def reverse(
    db: Session,
    req: SupportRequest,
    entry: Disbursement,
    actor: StaffUser,
    *,
    paid_on: dt.date | None,
    payment_ref: str,
    now: dt.datetime,
) -> Disbursement:
    """Correct a payment with a reversing entry (the negative of it, pointing at it, at most once)."""
    _require(actor, (Role.LEGAL, Role.SUPERVISOR), "only a legal officer or a supervisor corrects the ledger")
    req = _lock(db, req)
    if entry.support_request_id != req.id:
        raise NotAllowed("this entry belongs to another request")
    if entry.reverses_id is not None:
        raise NotAllowed("a reversal is not reversed; record a new payment instead")
    if req.status == SupportStatus.CLOSED.value:
        raise NotAllowed("the request is closed")
    if db.scalar(select(Disbursement.id).where(Disbursement.reverses_id == entry.id)) is not None:
        raise NotAllowed("this payment was already reversed")
    reversal = Disbursement(
        support_request_id=req.id,
        amount=-entry.amount,
        paid_on=_paid_on(paid_on, now),
        payment_ref=_payment_ref(payment_ref),
        reverses_id=entry.id,
        created_by=actor.id,
        created_at=now,
    )
    db.add(reversal)
    db.flush()
    db.expire(req, ["paid_total"])
    if req.paid_total == 0 and req.status == SupportStatus.PAID.value:
        assert req.amount_approved is not None
        partly = req.amount_approved < req.amount_requested
        req.status = (SupportStatus.PARTLY_APPROVED if partly else SupportStatus.APPROVED).value
    db.flush()
    _audit(db, "support.reversed", actor, req, now, target=f"disbursement:{reversal.id}")
    return reversal


def close(db: Session, req: SupportRequest, actor: StaffUser, expected_version: int | None, now: dt.datetime) -> None:
    """Close a request that was paid or refused; nothing more is paid on it."""
    _require(actor, (Role.LEGAL, Role.SUPERVISOR), "only a legal officer or a supervisor closes a request")
    _check_version(req, expected_version)
    _in_state(req, SupportStatus.PAID.value, SupportStatus.REFUSED.value)
    req.status = SupportStatus.CLOSED.value
    db.flush()
    _audit(db, "support.closed", actor, req, now)


# --- reading --------------------------------------------------------------------------------------


def requests_of(db: Session, case: Case) -> list[SupportRequest]:
    """A case's support requests, oldest first."""
    return list(db.scalars(select(SupportRequest).where(SupportRequest.case_id == case.id).order_by(SupportRequest.id)))


def request_of(db: Session, case: Case, request_id: int) -> SupportRequest | None:
    """One request of this case (never of another case), or None."""
    req = db.get(SupportRequest, request_id)
    return req if req is not None and req.case_id == case.id else None


def receipts_of(db: Session, case: Case, case_key: bytes, req: SupportRequest) -> list[tuple[int, str, int]]:
    """The request's receipts: attachment id, decrypted file name, size."""
    atts = db.scalars(
        select(Attachment)
        .join(SupportReceipt, SupportReceipt.attachment_id == Attachment.id)
        .where(SupportReceipt.support_request_id == req.id, Attachment.case_id == case.id)
        .order_by(Attachment.id)
    )
    return [(att.id, attachment_meta(case, case_key, att)[0], att.size_bytes) for att in atts]


def read_request(db: Session, settings: Settings, case: Case, case_key: bytes, req: SupportRequest) -> RequestView:
    """Decrypt a request's texts and gather its receipts and ledger entries for a staff page."""
    cipher = case_cipher(case, case_key)
    entries = list(
        db.scalars(select(Disbursement).where(Disbursement.support_request_id == req.id).order_by(Disbursement.id))
    )
    return RequestView(
        request=req,
        details=cipher.decrypt_text(details_purpose(req.id), req.details_ct) if req.details_ct else "",
        reasons=cipher.decrypt_text(reasons_purpose(req.id), req.reasons_ct) if req.reasons_ct else "",
        receipts=receipts_of(db, case, case_key, req),
        disbursements=entries,
        reversed_ids={e.reverses_id for e in entries if e.reverses_id is not None},
        # Shown as "second approval": confirmed, or waiting. A request paid while it was within the
        # threshold alone is neither, even once a later approval of the case needs a supervisor.
        needs_confirmation=req.second_approver_id is not None or awaiting_confirmation(settings, req),
        awaiting_confirmation=awaiting_confirmation(settings, req),
        remaining=(req.amount_approved or 0) - req.paid_total,
    )


# --- budgets and the ledger -----------------------------------------------------------------------


def set_budget(
    db: Session, actor: StaffUser, year: int, support_type: str, amount: int | None, now: dt.datetime
) -> SupportBudget:
    """Set (or change) the year's budget for one type of support."""
    _require(actor, (Role.LEGAL, Role.SUPERVISOR), "only a legal officer or a supervisor sets budgets")
    kind = _support_type(support_type)
    if not 2000 <= year <= 2200:
        raise InvalidInput("give a year such as 2026")
    value = _non_negative(amount, "the budget")
    budget = db.scalar(
        select(SupportBudget).where(SupportBudget.year == year, SupportBudget.support_type == kind.value)
    )
    if budget is None:
        budget = SupportBudget(year=year, support_type=kind.value, amount=value)
        db.add(budget)
    else:
        budget.amount = value
    db.flush()
    record(db, "support.budget_set", actor_user_id=actor.id, target=f"budget:{year}:{kind.value}", now=now)
    return budget


def budget_lines(db: Session, year: int) -> list[BudgetLine]:
    """Every support type's budget for ``year``, paid in that year (reversals included) and remaining."""
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    paid = dict(
        db.execute(
            select(SupportRequest.type, func.coalesce(func.sum(Disbursement.amount), 0))
            .join(Disbursement, Disbursement.support_request_id == SupportRequest.id)
            .where(Disbursement.paid_on >= start, Disbursement.paid_on < end)
            .group_by(SupportRequest.type)
        ).all()
    )
    budgets = dict(
        db.execute(select(SupportBudget.support_type, SupportBudget.amount).where(SupportBudget.year == year)).all()
    )
    return [BudgetLine(t.value, budgets.get(t.value), int(paid.get(t.value, 0))) for t in SupportType]


def ledger(db: Session, year: int | None = None, visible_to: StaffUser | None = None) -> Ledger:
    """The ledger: every entry with its case reference and request's accounting columns, oldest first.

    With ``visible_to``, only entries of cases that person can open: a reference
    alone tells that a case's reporter receives support.
    """
    query = (
        select(Disbursement, SupportRequest, Case.public_ref)
        .join(SupportRequest, SupportRequest.id == Disbursement.support_request_id)
        .join(Case, Case.id == SupportRequest.case_id)
        .order_by(Disbursement.paid_on, Disbursement.id)
    )
    if year is not None:
        query = query.where(Disbursement.paid_on >= dt.date(year, 1, 1), Disbursement.paid_on < dt.date(year + 1, 1, 1))
    if visible_to is not None:
        query = query.where(SupportRequest.case_id.in_(cases_visible_to(db, visible_to)))
    out = Ledger()
    for entry, req, ref in db.execute(query).all():
        out.rows.append(
            LedgerRow(
                case_ref=ref,
                support_type=req.type,
                request_id=req.id,
                amount_approved=req.amount_approved or 0,
                entry_id=entry.id,
                paid_on=entry.paid_on,
                amount=entry.amount,
                payment_ref=entry.payment_ref,
                reverses_id=entry.reverses_id,
            )
        )
    return out


CSV_HEADER = (
    "case_ref",
    "support_type",
    "request_id",
    "amount_approved",
    "entry_id",
    "paid_on",
    "amount",
    "payment_ref",
    "reverses_entry_id",
)


def export_csv(db: Session, actor: StaffUser, year: int | None, now: dt.datetime) -> str:
    """The ledger as CSV for accounting (no free text, no identity); the export is audited."""
    _require(actor, (Role.LEGAL, Role.SUPERVISOR), "only a legal officer or a supervisor exports the ledger")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for r in ledger(db, year, visible_to=actor).rows:
        writer.writerow(
            (
                r.case_ref,
                r.support_type,
                r.request_id,
                r.amount_approved,
                r.entry_id,
                r.paid_on.isoformat(),
                r.amount,
                _spreadsheet_safe(r.payment_ref),
                "" if r.reverses_id is None else r.reverses_id,
            )
        )
    record(db, "ledger.exported", actor_user_id=actor.id, target=f"year:{year}" if year else "year:all", now=now)
    return out.getvalue()


# --- helpers --------------------------------------------------------------------------------------


def _spreadsheet_safe(text: str) -> str:
    # Threat: a reference starting with = + - @ would run as a formula in the accountant's spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _support_type(raw: str) -> SupportType:
    try:
        return SupportType(raw)
    except ValueError:
        raise InvalidInput("unknown kind of support") from None


def _check_reporter_kind(case: Case, kind: SupportType) -> None:
    # The law: a reward for internal reporters, compensation for external ones. Unknown (None) is left to the officer.
    if kind is SupportType.REWARD and case.internal_reporter is False:
        raise InvalidInput("a reward is for internal reporters; an external reporter may receive compensation")
    if kind is SupportType.COMPENSATION and case.internal_reporter is True:
        raise InvalidInput("compensation is for external reporters; an internal reporter may receive a reward")


def _positive(value: int | None, what: str) -> int:
    if value is None or not 0 < value <= MAX_WON:
        raise InvalidInput(f"{what} must be a whole number of won above zero")
    return value


def _non_negative(value: int | None, what: str) -> int:
    if value is None or not 0 <= value <= MAX_WON:
        raise InvalidInput(f"{what} must be a whole number of won, not negative")
    return value


def _paid_on(value: dt.date | None, now: dt.datetime) -> dt.date:
    if value is None:
        return local_today(now)
    if value > local_today(now):
        raise InvalidInput("a payment date cannot be in the future")
    return value


def _payment_ref(raw: str) -> str:
    ref = raw.strip()
    if not _PAYMENT_REF.fullmatch(ref):
        raise InvalidInput("the payment reference is 1 to 100 letters, digits, spaces, dots, slashes or dashes")
    return ref


def _require(actor: StaffUser, roles: Role | Iterable[Role], message: str) -> None:
    wanted = (roles,) if isinstance(roles, Role) else tuple(roles)
    if not actor.has_role(*wanted):
        raise NotAllowed(message)


def _check_version(req: SupportRequest, expected: int | None) -> None:
    if expected is not None and expected != req.version:
        raise ChangedMeanwhile("the request was changed meanwhile")


def _in_state(req: SupportRequest, *states: str) -> None:
    if req.status not in states:
        raise NotAllowed(f"not possible while the request is {req.status.replace('_', ' ')}")


def _lock(db: Session, req: SupportRequest) -> SupportRequest:
    """Re-read the request under a row lock (PostgreSQL: FOR UPDATE; SQLite serialises writers anyway)."""
    locked = db.scalars(
        select(SupportRequest)
        .where(SupportRequest.id == req.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return locked


def _audit(
    db: Session, action: str, actor: StaffUser, req: SupportRequest, now: dt.datetime, target: str | None = None
) -> None:
    record(db, action, actor_user_id=actor.id, case_id=req.case_id, target=target or f"support:{req.id}", now=now)
