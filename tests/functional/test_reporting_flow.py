"""A reporter's whole journey: submit, receipt, inbox, conversation with staff, more files."""

from __future__ import annotations

import io

from app.db import get_session
from app.models.cases import Case


def test_smoke_submit_and_open(app, office, reporter):
    receipt = reporter.submit_ok(files=[(io.BytesIO(b"%PDF-1.4 evidence"), "ledger.pdf")])
    r = reporter.login(receipt.replace("-", " "))
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    inbox = reporter.client.get("/receipt/inbox")
    assert inbox.status_code == 200
    html = inbox.get_data(as_text=True)
    assert "ledger.pdf" in html and "permits desk" in html
    with app.app_context():
        case = get_session().query(Case).one()
        assert case.status == "received" and case.kind == "report"
        assert (case.ack_due_on - case.received_on).days == 7
