"""pdf.* benchmarks (issue 6): a support file of about 50 pages.

Builds a migrated SQLite database in a temporary folder holding one case with
many support requests, disbursements, receipts and timeline entries, all
encrypted for real under a case key (mixed Korean and English text), then
times producing the support file through ``app.support.pdf.build`` (reading
and decrypting from the database, Jinja, WeasyPrint) against WeasyPrint
laying out the very same final HTML string alone, interleaved in one run.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import Result, interleaved_medians

REQUESTS = 64
STATUS_CHANGES = 130
MESSAGES = 80
TYPES = (
    "legal_counsel",
    "litigation_costs",
    "relief_medical",
    "relief_relocation",
    "relief_lost_wages",
    "relief_legal_costs",
    "compensation",
)
DETAILS = (
    "신고 이후 부서 이동과 징계 위협을 받아 정신과 치료를 받았습니다. 진료비 영수증을 첨부합니다. "
    "After the report I was moved to another unit and threatened with discipline; receipts attached.",
    "보복성 소송(명예훼손)에 대응하기 위한 변호사 선임 비용을 요청합니다. "
    "I ask for the cost of counsel to defend a defamation suit brought because of my report.",
    "신고로 인해 이사를 해야 했습니다. 이사 비용과 임시 숙소 비용을 청구합니다. "
    "I had to move house because of the report: removal and temporary lodging costs.",
)
REASONS = (
    "공익신고자 보호법 제29조에 따라 구조금 지급 요건을 충족함. 영수증 금액 범위 내에서 승인. "
    "Meets the conditions for relief money; approved up to the receipts.",
    "일부 항목은 신고와의 인과관계가 확인되지 않아 제외함. "
    "Some items are not shown to follow from the report and are left out.",
)


def _populate(db: Any, case_key: bytes, rng: random.Random) -> int:
    """One case with the support history of a long, contested matter; returns its id."""
    from app.cases.deadlines import local_today
    from app.models.cases import Attachment, Case, Department
    from app.models.protection import CheckIn, PersonnelEvent, ProtectedPerson, RetaliationAlert
    from app.models.staff import StaffUser
    from app.models.support import Disbursement, SupportReceipt, SupportRequest
    from app.reporting.service import case_cipher, new_entry
    from app.support.service import details_purpose, reasons_purpose

    now = dt.datetime(2026, 6, 15, 3, 0, tzinfo=dt.UTC)
    officers = [
        StaffUser(
            username=f"legal{i}",
            display_name=name,
            public_key=os.urandom(32),
            wrapped_private_key_ct=os.urandom(100),
            password_changed_at=now,
            created_at=now,
        )
        for i, name in enumerate(("김법무", "Park Supervisor"), start=1)
    ]
    dept = Department(code="PERMITS", name_ko="인허가과", name_en="Permits")
    db.add_all([*officers, dept])
    db.flush()
    start = dt.date(2024, 3, 4)
    case = Case(
        public_ref="HC-2024-BENCH1",
        kind="report",
        source="web",
        status="investigating",
        category="bribery",
        department_id=dept.id,
        received_on=start,
        acknowledged_at=dt.datetime(2024, 3, 5, 1, 0, tzinfo=dt.UTC),
    )
    db.add(case)
    db.flush()
    cipher = case_cipher(case, case_key)
    statuses = ("triage", "investigating", "legal_review", "investigating")
    for i in range(STATUS_CHANGES):
        day = start + dt.timedelta(days=3 * i)
        body = (
            f'{{"from": "{statuses[i % 4]}", "to": "{statuses[(i + 1) % 4]}", "outcome": null, '
            f'"reasons": "{i}차 검토: 추가 자료 확인 필요. Review {i}: more documents needed."}}'
        )
        new_entry(db, case, case_key, "status_change", body.encode(), created_on=day, created_at=now)
    for i in range(MESSAGES):
        kind = "message_in" if i % 2 else "message_out"
        new_entry(db, case, case_key, kind, "메시지 / message".encode(), created_on=start + dt.timedelta(days=5 * i))
    for i in range(REQUESTS):
        on = start + dt.timedelta(days=10 * i)
        amount = rng.randrange(200_000, 8_000_000, 10_000)
        approved = amount - rng.randrange(0, amount // 2, 10_000)
        req = SupportRequest(
            case_id=case.id,
            type=TYPES[i % len(TYPES)],
            status="paid",
            amount_requested=amount,
            amount_approved=approved,
            decided_by=officers[0].id,
            decided_at=now,
            second_approver_id=officers[1].id if approved > 5_000_000 else None,
            requested_on=on,
        )
        db.add(req)
        db.flush()
        req.details_ct = cipher.encrypt_text(details_purpose(req.id), DETAILS[i % len(DETAILS)])
        req.reasons_ct = cipher.encrypt_text(reasons_purpose(req.id), REASONS[i % len(REASONS)])
        parts = (approved // 3, approved // 3, approved - 2 * (approved // 3))
        for n, part in enumerate(parts):
            db.add(
                Disbursement(
                    support_request_id=req.id,
                    amount=part,
                    paid_on=on + dt.timedelta(days=14 + n),
                    payment_ref=f"PAY-{i:03}-{n}",
                    created_by=officers[0].id,
                    created_at=now,
                )
            )
        blob_key = f"bench-{i:04}"
        att = Attachment(
            case_id=case.id,
            name_ct=cipher.encrypt_text(f"file.name:{blob_key}", f"영수증_{i:03}_receipt.pdf"),
            content_type_ct=cipher.encrypt_text(f"file.type:{blob_key}", "application/pdf"),
            size_bytes=rng.randrange(20_000, 900_000),
            blob_key=blob_key,
            created_on=on,
        )
        db.add(att)
        db.flush()
        db.add(SupportReceipt(support_request_id=req.id, attachment_id=att.id))
    person = ProtectedPerson(
        case_id=case.id,
        blind_index=os.urandom(32),
        identity_ct=os.urandom(64),
        protected_from=start,
        protected_until=start + dt.timedelta(days=730),
    )
    db.add(person)
    db.flush()
    for i in range(4):
        db.add(CheckIn(case_id=case.id, protected_person_id=person.id, due_on=start + dt.timedelta(days=180 * i)))
        event = PersonnelEvent(
            blind_index=person.blind_index, event_type="transfer", effective_on=start + dt.timedelta(days=40 + 90 * i)
        )
        db.add(event)
        db.flush()
        db.add(
            RetaliationAlert(
                protected_person_id=person.id,
                personnel_event_id=event.id,
                case_id=case.id,
                days_since_report=40 + 90 * i,
            )
        )
    assert local_today(now) == dt.date(2026, 6, 15)
    db.commit()
    return case.id


def bench_support_file_50p() -> list[Result]:
    """The whole support file (read, decrypt, Jinja, WeasyPrint) against WeasyPrint on the same HTML alone."""
    from pypdf import PdfReader
    from weasyprint import HTML

    from app import create_app
    from app.db import get_session
    from app.models.cases import Case
    from app.schema import upgrade
    from app.support import pdf
    from config import Settings
    from crypto import aead
    from crypto.kdf import Argon2Params

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="haechi-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'pdf.sqlite3'}"
        upgrade(url)
        settings = Settings(
            instance_path=Path(tmp) / "instance",
            database_url=url,
            testing=True,
            argon2=Argon2Params(memory_kib=64, iterations=1, lanes=1),
        )
        app = create_app(settings)
        case_key = aead.generate_key()
        generated_at = dt.datetime(2026, 6, 15, 3, 0, tzinfo=dt.UTC)
        try:
            with app.app_context():
                db = get_session()
                case_id = _populate(db, case_key, random.Random(6))
                setup = time.perf_counter() - started

                last: list[bytes] = []

                def ours() -> None:
                    db.expire_all()  # read everything from the database again, as a request would
                    case = db.get(Case, case_id)
                    assert case is not None
                    last[:] = [
                        pdf.build(db, case, case_key, locale="ko", generated_by="김법무", generated_at=generated_at)
                    ]

                case = db.get(Case, case_id)
                assert case is not None
                html = pdf.render_html(
                    pdf.gather(db, case, case_key), locale="ko", generated_by="김법무", generated_at=generated_at
                )

                def raw() -> bytes:
                    out = HTML(string=html).write_pdf()
                    assert out is not None
                    return out

                t_ours, t_raw = interleaved_medians(ours, raw, runs=5)
                pages = len(PdfReader(io.BytesIO(last[0])).pages)
        finally:
            app.extensions["haechi.engine"].dispose()
    return [
        Result(
            name="pdf.support_file_50p",
            value=round(t_ours, 3),
            unit="s",
            baseline=round(t_raw, 3),
            ratio=round(t_raw / t_ours, 3),
            note=f"{pages} pages, Korean: {REQUESTS} support requests, {REQUESTS * 3} ledger entries, "
            f"{REQUESTS} receipts, {STATUS_CHANGES} status changes, {MESSAGES} messages, all decrypted from SQLite; "
            f"ours: read + decrypt + Jinja + WeasyPrint; baseline: WeasyPrint on the same final HTML alone; "
            f"median of 5 interleaved; setup {setup:.1f} s (goal ratio >= 0.87)",
        )
    ]


BENCHMARKS = [bench_support_file_50p]
