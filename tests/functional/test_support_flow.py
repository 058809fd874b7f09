"""Support through the web: the reporter asks for relief with a receipt, the office decides, confirms, pays, exports."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select, text

from app.db import get_session
from app.models.audit import AuditEvent
from app.models.cases import Case
from app.models.staff import Role, TeamKind
from app.models.support import Disbursement, SupportReceipt, SupportRequest

from .conftest import csrf_token
from .test_case_workflow import _as

RECEIPT_BYTES = b"%PDF-1.4 hospital receipt 1,200,000 won"
DETAILS = "Hospital bills after I was assaulted at work for reporting"


@pytest.fixture
def office_tf(staff, office):
    people = {
        "intake": office["intake"],
        "legal": staff.create("legal1", Role.LEGAL),
        "supervisor": staff.create("super1", Role.SUPERVISOR),
        "investigator": staff.create("inv1", Role.INVESTIGATOR),
    }
    people["legal_team"] = staff.team("legal", TeamKind.LEGAL, people["legal"])
    return people


def _case_id(app) -> int:
    with app.app_context():
        return get_session().scalars(select(Case.id)).one()


def _support_page(client, case_id: int) -> str:
    r = client.get(f"/staff/cases/{case_id}/support/")
    assert r.status_code == 200, r.status_code
    return r.get_data(as_text=True)


def _post(client, case_id: int, path: str, **data: str):
    """POST a support action with the request's current version (a form without one is refused as stale)."""
    html = _support_page(client, case_id)
    payload = {"csrf_token": csrf_token(html), **data}
    if "version" not in data:
        request_id = re.match(r"(\d+)/", path)
        if request_id:
            from app.db import get_session
            from app.models.support import SupportRequest

            with client.application.app_context():
                payload["version"] = str(get_session().get(SupportRequest, int(request_id.group(1))).version)
    return client.post(f"/staff/cases/{case_id}/support/{path}", data=payload)


def test_a_support_action_without_its_version_is_refused_as_stale(app, staff, client, reporter, office_tf):
    reporter.submit_ok()
    case_id = _case_id(app)
    _as(staff, client, office_tf["intake"])
    token = csrf_token(client.get(f"/staff/cases/{case_id}").get_data(as_text=True))
    client.post(f"/staff/cases/{case_id}/assign", data={"csrf_token": token, "team_id": str(office_tf["legal_team"])})
    r = client.post(f"/staff/cases/{case_id}/transition", data={"csrf_token": token, "target": "acknowledged"})
    assert r.status_code == 409


def test_a_reporter_asks_for_relief_with_a_receipt_and_follows_it_to_payment(app, staff, client, reporter, office_tf):
    reporter.login(reporter.submit_ok())
    case_id = _case_id(app)
    tf = office_tf
    _as(staff, client, tf["intake"])
    token = csrf_token(client.get(f"/staff/cases/{case_id}").get_data(as_text=True))
    for data in ({"team_id": str(tf["legal_team"])}, {"user_id": str(tf["supervisor"].id)}):
        assert client.post(f"/staff/cases/{case_id}/assign", data={"csrf_token": token, **data}).status_code == 302

    # The reporter finds the support page from the inbox and asks for medical relief with a receipt.
    inbox = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    assert "/receipt/support/" in inbox
    page = reporter.client.get("/receipt/support/").get_data(as_text=True)
    r = reporter.post_multipart(
        "/receipt/support/",
        {"csrf_token": csrf_token(page), "type": "relief_medical", "amount_requested": "1,500,000", "details": DETAILS},
        [(io.BytesIO(RECEIPT_BYTES), "receipt-hospital.pdf")],
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    page = reporter.client.get("/receipt/support/").get_data(as_text=True)
    assert "Received. A legal officer will look at your request." in page and "1,500,000" in page

    with app.app_context():
        db = get_session()
        req = db.scalars(select(SupportRequest)).one()
        rid = req.id
        assert (req.type, req.amount_requested, req.requested_by, req.created_at) == (
            "relief_medical",
            1_500_000,
            None,
            None,
        )
        assert db.scalar(select(func.count()).select_from(SupportReceipt)) == 1
        raw = db.execute(text("SELECT details_ct, reasons_ct FROM support_requests")).one()
        assert DETAILS.encode() not in raw[0]
        requested = db.scalars(select(AuditEvent).where(AuditEvent.action == "support.requested")).one()
        assert requested.actor_kind == "reporter" and requested.at.time().isoformat() == "00:00:00"

    # An investigator may look (case role) but not act; the legal officer reviews and partly approves.
    _as(staff, client, tf["investigator"])
    assert client.get(f"/staff/cases/{case_id}/support/").status_code == 404  # not sealed to them
    _as(staff, client, tf["legal"])
    html = _support_page(client, case_id)
    assert DETAILS in html and "receipt-hospital.pdf" in html
    att = re.search(rf"/staff/cases/{case_id}/files/(\d+)", html).group(1)
    assert client.get(f"/staff/cases/{case_id}/files/{att}").get_data() == RECEIPT_BYTES
    assert _post(client, case_id, f"{rid}/review").status_code == 302
    assert "A legal officer is examining your request." in reporter.client.get("/receipt/support/").get_data(
        as_text=True
    )
    r = _post(client, case_id, f"{rid}/decide", decision="approve", amount="1,200,000", reasons="")
    assert r.status_code == 400  # a partial approval needs reasons
    r = _post(
        client, case_id, f"{rid}/decide", decision="approve", amount="1,200,000", reasons="Two of three visits covered"
    )
    assert r.status_code == 302
    page = reporter.client.get("/receipt/support/").get_data(as_text=True)
    assert "Partly approved: 1,200,000 won of the 1,500,000 won you asked for" in page
    assert "Two of three visits" not in page  # reasons stay with the office

    # Pay past the approved amount: refused; pay it in full: paid; the reporter sees it.
    assert _post(client, case_id, f"{rid}/pay", amount="1,200,001", payment_ref="TX-0001").status_code == 400
    assert _post(client, case_id, f"{rid}/pay", amount="1,200,000", payment_ref="TX-0001").status_code == 302
    assert "Paid: 1,200,000 won so far" in reporter.client.get("/receipt/support/").get_data(as_text=True)
    assert _post(client, case_id, f"{rid}/close").status_code == 302
    assert "Finished." in reporter.client.get("/receipt/support/").get_data(as_text=True)


def test_above_the_threshold_the_web_refuses_payment_until_a_supervisor_confirms(
    app, staff, client, reporter, office_tf
):
    reporter.login(reporter.submit_ok())
    case_id = _case_id(app)
    tf = office_tf
    _as(staff, client, tf["intake"])
    token = csrf_token(client.get(f"/staff/cases/{case_id}").get_data(as_text=True))
    for data in ({"team_id": str(tf["legal_team"])}, {"user_id": str(tf["supervisor"].id)}):
        client.post(f"/staff/cases/{case_id}/assign", data={"csrf_token": token, **data})

    _as(staff, client, tf["legal"])
    html = _support_page(client, case_id)
    r = client.post(
        f"/staff/cases/{case_id}/support/new",
        data={
            "csrf_token": csrf_token(html),
            "type": "litigation_costs",
            "amount_requested": "9,000,000",
            "details": "Defamation suit brought by the official",
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1000]
    with app.app_context():
        rid = get_session().scalars(select(SupportRequest.id)).one()
    assert _post(client, case_id, f"{rid}/review").status_code == 302
    assert _post(client, case_id, f"{rid}/decide", decision="approve", amount="9,000,000").status_code == 302
    assert "A second person must still sign" in reporter.client.get("/receipt/support/").get_data(as_text=True)
    assert _post(client, case_id, f"{rid}/pay", amount="1,000,000", payment_ref="TX-9").status_code == 400

    _as(staff, client, tf["supervisor"])
    assert _post(client, case_id, f"{rid}/confirm").status_code == 302
    assert _post(client, case_id, f"{rid}/pay", amount="9,000,000", payment_ref="TX-9").status_code == 302
    with app.app_context():
        db = get_session()
        entry_id = db.scalars(select(Disbursement.id)).one()
    r = _post(client, case_id, f"{rid}/entries/{entry_id}/reverse", payment_ref="TX-9-R")
    assert r.status_code == 302
    assert _post(client, case_id, f"{rid}/entries/{entry_id}/reverse", payment_ref="TX-9-R2").status_code == 400
    assert _post(client, case_id, f"{rid}/pay", amount="9,000,000", payment_ref="TX-10").status_code == 302

    # The ledger: budgets with the remaining balance, and the CSV export.
    year = None
    with app.app_context():
        year = get_session().scalars(select(Disbursement.paid_on)).first().year
    page = client.get(f"/staff/ledger/?year={year}").get_data(as_text=True)
    r = client.post(
        "/staff/ledger/budgets",
        data={
            "csrf_token": csrf_token(page),
            "year": str(year),
            "support_type": "litigation_costs",
            "amount": "20,000,000",
        },
    )
    assert r.status_code == 302
    page = client.get(f"/staff/ledger/?year={year}").get_data(as_text=True)
    row = re.search(r'budget--litigation_costs">(.*?)</tr>', page, re.S).group(1)
    assert "20,000,000" in row and "9,000,000" in row and "11,000,000" in row
    r = client.post("/staff/ledger/export", data={"csrf_token": csrf_token(page), "year": str(year)})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    with app.app_context():
        db = get_session()
        assert sum(int(x["amount"]) for x in rows) == db.scalar(select(func.sum(Disbursement.amount))) == 9_000_000
        assert (
            db.scalars(select(AuditEvent).where(AuditEvent.action == "ledger.exported")).one().actor_user_id
            == tf["supervisor"].id
        )
    assert "Defamation" not in r.get_data(as_text=True)

    # An investigator never reaches the ledger.
    _as(staff, client, tf["investigator"])
    assert client.get("/staff/ledger/").status_code == 403
