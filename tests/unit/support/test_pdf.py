"""The PDF support file, read back with a PDF text extractor (pypdf)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os

import pytest
from pypdf import PdfReader

from app.models.cases import Attachment, Case, Department
from app.models.protection import PersonnelEvent, ProtectedPerson, RetaliationAlert
from app.models.staff import StaffUser
from app.models.support import Disbursement, SupportReceipt, SupportRequest
from app.reporting.service import case_cipher, new_entry
from app.support import pdf
from crypto import aead

NOW = dt.datetime(2026, 6, 15, 3, 0, tzinfo=dt.UTC)
OFFICER = "Kim Beopmu"
DETAILS = "보복성 징계 이후 정신과 진료를 받았습니다"
REASONS = "Approved up to the medical receipts."
RECEIPT = "진료비영수증_march.pdf"
EVIDENCE = "bank-statement-evidence.pdf"  # a file of the report, not a receipt
IDENTITY = {"name": "Hong Gildong", "employee_number": "E-4711", "contact": "010-1234-5678"}


@pytest.fixture
def dossier_case(db_session):
    """A case with a status change, a paid relief request with a receipt, and a retaliation alert."""
    db = db_session
    officer = StaffUser(
        username="legal1",
        display_name=OFFICER,
        public_key=os.urandom(32),
        wrapped_private_key_ct=os.urandom(100),
        password_changed_at=NOW,
        created_at=NOW,
    )
    dept = Department(code="PERMITS", name_ko="인허가과", name_en="Permits")
    db.add_all([officer, dept])
    db.flush()
    case = Case(
        public_ref="HC-2026-PDF001",
        kind="report",
        source="web",
        status="investigating",
        category="bribery",
        department_id=dept.id,
        received_on=dt.date(2026, 3, 2),
    )
    db.add(case)
    db.flush()
    key = aead.generate_key()
    cipher = case_cipher(case, key)
    body = {"from": "triage", "to": "investigating", "outcome": None, "reasons": "증거 확보 후 조사 개시"}
    new_entry(
        db, case, key, "status_change", json.dumps(body, ensure_ascii=False).encode(), created_on=dt.date(2026, 3, 9)
    )
    req = SupportRequest(
        case_id=case.id,
        type="relief_medical",
        status="paid",
        amount_requested=1_500_000,
        amount_approved=1_200_000,
        decided_by=officer.id,
        decided_at=NOW,
        requested_on=dt.date(2026, 4, 1),
    )
    db.add(req)
    db.flush()
    req.details_ct = cipher.encrypt_text(f"support.details:{req.id}", DETAILS)
    req.reasons_ct = cipher.encrypt_text(f"support.reasons:{req.id}", REASONS)
    db.add(
        Disbursement(
            support_request_id=req.id,
            amount=1_200_000,
            paid_on=dt.date(2026, 4, 20),
            payment_ref="PAY-0001",
            created_by=officer.id,
        )
    )
    receipt, evidence = (
        Attachment(
            case_id=case.id,
            name_ct=cipher.encrypt_text(f"file.name:{blob}", name),
            size_bytes=12_345,
            blob_key=blob,
            created_on=dt.date(2026, 4, 1),
        )
        for blob, name in (("blob-r1", RECEIPT), ("blob-e1", EVIDENCE))
    )
    db.add_all([receipt, evidence])
    db.flush()
    db.add(SupportReceipt(support_request_id=req.id, attachment_id=receipt.id))
    person = ProtectedPerson(
        case_id=case.id,
        blind_index=os.urandom(32),
        identity_ct=os.urandom(64),
        protected_from=dt.date(2026, 3, 2),
        protected_until=dt.date(2028, 3, 2),
    )
    db.add(person)
    db.flush()
    event = PersonnelEvent(blind_index=person.blind_index, event_type="demotion", effective_on=dt.date(2026, 5, 4))
    db.add(event)
    db.flush()
    db.add(
        RetaliationAlert(
            protected_person_id=person.id, personnel_event_id=event.id, case_id=case.id, days_since_report=63
        )
    )
    db.commit()
    return case, key


def _render(db, case, key, locale="ko", identity=None) -> PdfReader:
    body = pdf.build(db, case, key, locale=locale, generated_by=OFFICER, generated_at=NOW, identity=identity)
    assert body.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(body))


def _text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def test_korean_and_english_content_extracts_as_text(db_session, dossier_case):
    case, key = dossier_case
    text = _text(_render(db_session, case, key, "ko"))
    for expected in (
        DETAILS,
        REASONS,
        RECEIPT,
        "증거 확보 후 조사 개시",
        "대외비",
        "인허가과",
        "1,200,000",
        "1,500,000",
    ):
        assert expected in text, expected
    assert EVIDENCE not in text


def test_english_file_reads_in_english_with_page_numbers(db_session, dossier_case):
    case, key = dossier_case
    reader = _render(db_session, case, key, "en")
    pages = len(reader.pages)
    assert pages >= 2
    for number, page in enumerate(reader.pages, start=1):
        assert f"Page {number} of {pages}" in page.extract_text()
    text = _text(reader)
    assert "CONFIDENTIAL" in text and "Relief: medical costs" in text and "KRW 1,200,000" in text
    assert DETAILS in text  # the reporter's own words stay as written


def test_korean_page_numbers(db_session, dossier_case):
    case, key = dossier_case
    reader = _render(db_session, case, key, "ko")
    assert f"{len(reader.pages)}쪽 중 1쪽" in reader.pages[0].extract_text()


def test_every_page_names_who_generated_it_in_footer_and_watermark(db_session, dossier_case):
    case, key = dossier_case
    for page in _render(db_session, case, key).pages:
        text = page.extract_text()
        assert text.count(OFFICER) >= 2, text  # the footer and the diagonal watermark
        assert "2026-06-15 12:00 KST" in text


def test_the_identity_is_absent_unless_given(db_session, dossier_case):
    case, key = dossier_case
    text = _text(_render(db_session, case, key, "en"))
    assert "Hong Gildong" not in text and "E-4711" not in text and "Reporter identity" not in text


def test_the_identity_is_shown_when_given(db_session, dossier_case):
    case, key = dossier_case
    text = _text(_render(db_session, case, key, "en", identity=IDENTITY))
    assert "Hong Gildong" in text and "E-4711" in text and "010-1234-5678" in text


def test_metadata_holds_no_case_content(db_session, dossier_case):
    case, key = dossier_case
    reader = _render(db_session, case, key, "ko", identity=IDENTITY)
    meta = {k: str(v) for k, v in (reader.metadata or {}).items()}
    assert meta.get("/Title") == pdf.PDF_TITLE
    assert not {"/Author", "/Subject", "/Keywords"} & meta.keys()
    for secret in (case.public_ref, OFFICER, "Hong Gildong", DETAILS, RECEIPT):
        assert all(secret not in v for v in meta.values())


def test_fonts_are_embedded(db_session, dossier_case):
    case, key = dossier_case
    reader = _render(db_session, case, key, "ko")
    fonts = reader.pages[1]["/Resources"]["/Font"]
    assert fonts
    for ref in fonts.values():
        font = ref.get_object()
        descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        descriptor = descendant["/FontDescriptor"].get_object()
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font.get("/BaseFont")


def test_reporter_text_cannot_become_markup(db_session, dossier_case):
    case, key = dossier_case
    req = db_session.query(SupportRequest).one()
    req.details_ct = case_cipher(case, key).encrypt_text(
        f"support.details:{req.id}", '<img src="http://evil.example/t.png"><b>bold</b>'
    )
    db_session.commit()
    text = _text(_render(db_session, case, key, "en"))
    assert "<b>bold</b>" in text  # shown as written, never fetched or interpreted


def test_an_unsupported_language_is_refused(db_session, dossier_case):
    case, key = dossier_case
    with pytest.raises(pdf.UnsupportedLocale):
        pdf.render_html(pdf.gather(db_session, case, key), locale="fr", generated_by=OFFICER, generated_at=NOW)


def test_the_renderer_fetches_nothing():
    with pytest.raises(pdf.SupportFileError):
        pdf._refuse_fetch("file:///etc/passwd")


@pytest.mark.parametrize(
    ("text", "css"),
    [
        ("Page ", '"Page "'),
        ('a"b', '"a\\22 b"'),
        ("a\\b", '"a\\5c b"'),
        ("</style>", '"\\3c /style\\3e "'),
        ("line\nbreak", '"line\\a break"'),
    ],
)
def test_css_strings_cannot_end_the_rule(text, css):
    assert pdf.css_string(text) == css


def test_won_amounts_have_thousands_separators(app):
    from flask_babel import force_locale

    with app.app_context(), force_locale("en"):
        assert pdf.won(1234567) == "KRW 1,234,567"
        assert pdf.won(None) == "—"
