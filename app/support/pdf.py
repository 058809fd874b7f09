"""PDF support files: one case's support dossier, in Korean or English, built in memory.

The dossier gathers what the T/F team gave a reporter besides an
investigation (DESIGN.md section 7): the case summary and timeline, support
requests with their decisions and reasons, the ledger, receipts, protective
measures and retaliation events, and a signature block. Content is decrypted
here, rendered with Jinja (autoescaped: a reporter's text can never become
markup) and laid out by WeasyPrint.

Threats and what answers them:

- a copy leaking: every page carries a diagonal watermark and a footer naming
  who generated it and when, and each generation is audited (by the caller);
- plaintext left behind: the PDF is made with ``write_pdf()`` into bytes and
  handed to the caller, never written to disk, a temp file or the database;
- content in metadata (a PDF's title or author is shown by file managers and
  indexed by search tools): the title is a fixed neutral string and nothing
  else is set;
- the renderer fetching anything (a tracking URL smuggled into a field would
  tell an outsider when the file was opened): the URL fetcher refuses all.

The reporter's identity is included only when the caller passes the fields,
which it gets from :func:`app.cases.identity.view_identity` (audited) after
checking that the officer may open it and asked for it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session
from weasyprint import HTML

from app.cases.deadlines import SEOUL
from app.cases.forms import OUTCOME_LABELS
from app.cases.queue_views import KIND_LABELS, STATUS_LABELS
from app.models.cases import Attachment, Case, EntryKind
from app.models.protection import CheckIn, PersonnelEvent, ProtectedPerson, RetaliationAlert
from app.models.staff import StaffUser
from app.models.support import Disbursement, SupportReceipt, SupportRequest
from app.reporting.forms import CATEGORY_LABELS
from app.reporting.service import attachment_meta, case_cipher, entry_purpose
from app.support.service import details_purpose, reasons_purpose
from app.web.i18n import gettext as _

LOCALES = ("ko", "en")
# Neutral on purpose: metadata travels with the file and is shown without opening it.
PDF_TITLE = "Haechi support file"
TEMPLATE = "pdf/support_file.html"
_MESSAGE_KINDS = {
    EntryKind.MESSAGE_IN.value,
    EntryKind.MESSAGE_OUT.value,
    EntryKind.QUESTION.value,
    EntryKind.ANSWER.value,
}


class SupportFileError(Exception):
    """A support file that cannot be made."""


class UnsupportedLocale(SupportFileError):
    """The language asked for is not one the dossier is written in."""


@dataclass(frozen=True)
class TimelineItem:
    """One dated step of the case: a status change (with its reasons) or a message's date."""

    on: dt.date
    kind: str
    from_status: str | None = None
    to_status: str | None = None
    outcome: str | None = None
    reasons: str = ""


@dataclass(frozen=True)
class LedgerLine:
    """One disbursement (or reversing entry) of the ledger."""

    id: int
    request_id: int
    request_type: str
    paid_on: dt.date
    amount: int
    payment_ref: str
    reverses_id: int | None


@dataclass
class RequestItem:
    """One support request with its decision, decrypted, and what was paid on it."""

    id: int
    type: str
    status: str
    requested_on: dt.date
    amount_requested: int
    amount_approved: int | None
    decided_by: str | None
    decided_at: dt.datetime | None
    second_approver: str | None
    confirmed_at: dt.datetime | None
    details: str
    reasons: str
    recovered_amount: int | None = None
    final_decision_on: dt.date | None = None
    reward_rate_bp: int | None = None
    paid: int = 0
    receipts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProtectionItem:
    """A protection period and how its check-ins went (never the protected person's identity)."""

    protected_from: dt.date
    protected_until: dt.date
    check_ins: int
    answered: int
    missed: int


@dataclass(frozen=True)
class RetaliationItem:
    """An adverse personnel event within a protection period, and where its alert stands."""

    event_type: str
    effective_on: dt.date
    days_since_report: int
    status: str
    retaliation_case_ref: str | None


@dataclass
class Dossier:
    """Everything the support file shows, decrypted; lives only as long as one rendering."""

    case: Case
    department: tuple[str, str] | None  # (Korean name, English name)
    timeline: list[TimelineItem]
    requests: list[RequestItem]
    ledger: list[LedgerLine]
    receipts: list[tuple[int, str, int]]  # (request id, file name, size in bytes)
    protections: list[ProtectionItem]
    retaliations: list[RetaliationItem]
    identity: dict[str, str] | None = None

    @property
    def total_requested(self) -> int:
        return sum(r.amount_requested for r in self.requests)

    @property
    def total_approved(self) -> int:
        return sum(r.amount_approved or 0 for r in self.requests)

    @property
    def total_paid(self) -> int:
        return sum(line.amount for line in self.ledger)


def _names(db: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.execute(select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(ids)))
    return {row.id: row.display_name for row in rows}


def _timeline(case: Case, case_key: bytes) -> list[TimelineItem]:
    cipher = case_cipher(case, case_key)
    items = []
    for entry in sorted(case.entries, key=lambda e: (e.created_on, e.id)):
        if entry.kind == EntryKind.STATUS_CHANGE.value and entry.body_ct is not None:
            body = json.loads(cipher.decrypt(entry_purpose(entry.kind), entry.body_ct))
            items.append(
                TimelineItem(
                    on=entry.created_on,
                    kind=entry.kind,
                    from_status=body.get("from"),
                    to_status=body.get("to"),
                    outcome=body.get("outcome"),
                    reasons=str(body.get("reasons") or ""),
                )
            )
        elif entry.kind in _MESSAGE_KINDS or entry.kind == EntryKind.REPORT.value:
            # The date and direction only: the conversation itself is not the support file's business.
            items.append(TimelineItem(on=entry.created_on, kind=entry.kind))
    return items


def gather(db: Session, case: Case, case_key: bytes, identity: dict[str, str] | None = None) -> Dossier:
    """Read and decrypt everything the support file of ``case`` shows."""
    cipher = case_cipher(case, case_key)
    requests = list(
        db.scalars(
            select(SupportRequest)
            .where(SupportRequest.case_id == case.id)
            .order_by(SupportRequest.requested_on, SupportRequest.id)
        )
    )
    request_ids = [r.id for r in requests]
    disbursements = (
        list(
            db.scalars(
                select(Disbursement)
                .where(Disbursement.support_request_id.in_(request_ids))
                .order_by(Disbursement.paid_on, Disbursement.id)
            )
        )
        if request_ids
        else []
    )
    names = _names(db, {uid for r in requests for uid in (r.decided_by, r.second_approver_id) if uid is not None})
    items: dict[int, RequestItem] = {}
    for r in requests:
        items[r.id] = RequestItem(
            id=r.id,
            type=r.type,
            status=r.status,
            requested_on=r.requested_on,
            amount_requested=r.amount_requested,
            amount_approved=r.amount_approved,
            decided_by=names.get(r.decided_by) if r.decided_by else None,
            decided_at=r.decided_at,
            second_approver=names.get(r.second_approver_id) if r.second_approver_id else None,
            confirmed_at=r.confirmed_at,
            details=cipher.decrypt_text(details_purpose(r.id), r.details_ct) if r.details_ct else "",
            reasons=cipher.decrypt_text(reasons_purpose(r.id), r.reasons_ct) if r.reasons_ct else "",
            recovered_amount=r.recovered_amount,
            final_decision_on=r.final_decision_on,
            reward_rate_bp=r.reward_rate_bp,
        )
    ledger = []
    for d in disbursements:
        item = items[d.support_request_id]
        item.paid += d.amount
        ledger.append(
            LedgerLine(d.id, d.support_request_id, item.type, d.paid_on, d.amount, d.payment_ref, d.reverses_id)
        )

    # Receipts only: the case's other files (the report's evidence) are not the support file's business.
    receipts: list[tuple[int, str, int]] = []
    if request_ids:
        rows = db.execute(
            select(SupportReceipt.support_request_id, Attachment)
            .join(Attachment, Attachment.id == SupportReceipt.attachment_id)
            .where(SupportReceipt.support_request_id.in_(request_ids), Attachment.case_id == case.id)
            .order_by(SupportReceipt.support_request_id, Attachment.id)
        ).all()
        for request_id, att in rows:
            name, _ctype = attachment_meta(case, case_key, att)
            receipts.append((request_id, name, att.size_bytes))
            items[request_id].receipts.append(name)

    protections = []
    for person in db.scalars(
        select(ProtectedPerson).where(ProtectedPerson.case_id == case.id).order_by(ProtectedPerson.protected_from)
    ):
        check_ins = list(db.scalars(select(CheckIn).where(CheckIn.protected_person_id == person.id)))
        protections.append(
            ProtectionItem(
                protected_from=person.protected_from,
                protected_until=person.protected_until,
                check_ins=len(check_ins),
                answered=sum(1 for c in check_ins if c.answered_on is not None),
                missed=sum(1 for c in check_ins if c.flagged_missed),
            )
        )
    retaliations = []
    alerts = db.execute(
        select(RetaliationAlert, PersonnelEvent)
        .join(PersonnelEvent, PersonnelEvent.id == RetaliationAlert.personnel_event_id)
        .where(RetaliationAlert.case_id == case.id)
        .order_by(PersonnelEvent.effective_on, RetaliationAlert.id)
    ).all()
    for alert, event in alerts:
        linked = db.get(Case, alert.retaliation_case_id) if alert.retaliation_case_id else None
        retaliations.append(
            RetaliationItem(
                event_type=event.event_type,
                effective_on=event.effective_on,
                days_since_report=alert.days_since_report,
                status=alert.status,
                retaliation_case_ref=linked.public_ref if linked else None,
            )
        )
    department = (case.department.name_ko, case.department.name_en) if case.department else None
    return Dossier(
        case=case,
        department=department,
        timeline=_timeline(case, case_key),
        requests=list(items.values()),
        ledger=ledger,
        receipts=receipts,
        protections=protections,
        retaliations=retaliations,
        identity=dict(identity) if identity is not None else None,
    )


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string (for generated content), escaped so it cannot end the rule."""
    escaped = "".join(c if c not in '\\"<>' and c.isprintable() else f"\\{ord(c):x} " for c in text)
    return f'"{escaped}"'


def page_counter_content() -> str:
    """CSS ``content`` for "page X of Y" in the current locale (word order differs between languages)."""
    marker = "\x00"
    page, pages = marker + "page" + marker, marker + "pages" + marker
    text = _("Page %(page)s of %(pages)s", page=page, pages=pages)
    parts = []
    for i, piece in enumerate(text.split(marker)):
        if i % 2:
            parts.append(f"counter({piece})")
        elif piece:
            parts.append(css_string(piece))
    return " ".join(parts)


def won(amount: int | None) -> str:
    """Whole won with thousands separators, in the current locale's words ("1,500,000원" / "KRW 1,500,000")."""
    if amount is None:
        return "—"
    digits = format(amount, ",")
    return str(_("KRW %(amount)s", amount=digits))


def labels() -> dict[str, dict[str, str]]:
    """Words for the plaintext codes the dossier shows, in the current locale."""
    return {
        "case_status": {k.value: str(v) for k, v in STATUS_LABELS.items()},
        "case_kind": {k.value: str(v) for k, v in KIND_LABELS.items()},
        "outcome": {k.value: str(v) for k, v in OUTCOME_LABELS.items()},
        "category": {k: str(v) for k, v in CATEGORY_LABELS.items()},
        "support_type": {
            "legal_counsel": _("Legal counsel"),
            "litigation_costs": _("Litigation costs"),
            "relief_medical": _("Relief: medical costs"),
            "relief_relocation": _("Relief: relocation costs"),
            "relief_lost_wages": _("Relief: lost wages"),
            "relief_legal_costs": _("Relief: legal costs"),
            "reward": _("Reward"),
            "compensation": _("Compensation"),
        },
        "support_status": {
            "requested": _("Requested"),
            "under_review": _("Under review"),
            "approved": _("Approved"),
            "partly_approved": _("Partly approved"),
            "refused": _("Refused"),
            "paid": _("Paid"),
            "closed": _("Closed"),
        },
        "entry": {
            "report": _("Report received"),
            "message_in": _("Message from the reporter"),
            "message_out": _("Message sent to the reporter"),
            "question": _("Question to the reporter"),
            "answer": _("Answer from the reporter"),
            "status_change": _("Status changed"),
        },
        "alert_status": {"open": _("Unresolved"), "acknowledged": _("Acknowledged"), "closed": _("Closed")},
        "identity": {
            "name": _("Name"),
            "employee_number": _("Employee number"),
            "contact": _("Contact"),
        },
    }


def render_html(dossier: Dossier, *, locale: str, generated_by: str, generated_at: dt.datetime, **extra: Any) -> str:
    """The support file as one HTML document in ``locale`` (needs an app context)."""
    if locale not in LOCALES:
        raise UnsupportedLocale(locale)
    local_time = generated_at.astimezone(SEOUL)
    with force_locale(locale):
        stamp = local_time.strftime("%Y-%m-%d %H:%M") + " KST"
        footer = _("Generated by %(name)s on %(when)s", name=generated_by, when=stamp)
        return render_template(
            TEMPLATE,
            d=dossier,
            lang=locale,
            title=PDF_TITLE,
            generated_by=generated_by,
            generated_stamp=stamp,
            footer_text=footer,
            page_counter=page_counter_content(),
            won=won,
            labels=labels(),
            **extra,
        )


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # Threat: a URL in the document making the renderer call out (or read a local file).
    raise SupportFileError("the support file loads no external resources")


def write_pdf(html: str) -> bytes:
    """Lay out ``html`` with WeasyPrint into PDF bytes, in memory (fonts are embedded as subsets)."""
    pdf = HTML(string=html, url_fetcher=_refuse_fetch).write_pdf()
    assert pdf is not None  # write_pdf() without a target returns the bytes
    return bytes(pdf)


def build(
    db: Session,
    case: Case,
    case_key: bytes,
    *,
    locale: str,
    generated_by: str,
    generated_at: dt.datetime,
    identity: dict[str, str] | None = None,
) -> bytes:
    """The support file of ``case`` as PDF bytes: gather and decrypt, render, lay out. Nothing is stored."""
    dossier = gather(db, case, case_key, identity)
    html = render_html(dossier, locale=locale, generated_by=generated_by, generated_at=generated_at)
    return write_pdf(html)
