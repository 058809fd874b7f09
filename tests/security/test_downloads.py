"""Every file a user can download comes as an attachment that no browser renders in place.

Routes: the reporter's own files, a case file for staff, the PDF support
file, the dashboard CSV and the ledger CSV. Each answer must carry
``Content-Disposition: attachment`` with a filename that cannot break the
header or name a path, ``X-Content-Type-Options: nosniff``, a content type
that is not HTML, the Content-Security-Policy and ``no-store``. The uploaded
file is HTML with script, named like a web page, so a browser that rendered
it would run it.
"""

from __future__ import annotations

import io
import re

import pytest

from app.db import get_session
from app.models.cases import Case
from app.models.staff import Role, TeamKind
from app.web.headers import CONTENT_SECURITY_POLICY
from tests.functional.conftest import csrf_token
from tests.functional.test_case_workflow import _act, _as

HTML_FILE = b"<html><body><script>alert(document.cookie)</script></body></html>"
HTML_NAME = "<img src=x onerror=alert(1)>; filename=evil.html"
FILENAME_RE = re.compile(r'^attachment; filename="([^"\\/\r\n]*)"(; filename\*=UTF-8\'\'[A-Za-z0-9%._~-]+)?$')


def assert_safe_download(r, *, types: tuple[str, ...]) -> None:
    """The headers that keep a downloaded file from being rendered, sniffed, cached or misnamed."""
    assert r.status_code == 200, r.status_code
    disposition = r.headers["Content-Disposition"]
    m = FILENAME_RE.match(disposition)
    assert m, disposition
    assert ".." not in m.group(1) and not m.group(1).startswith(".")
    assert r.mimetype in types and "html" not in r.mimetype and "javascript" not in r.mimetype
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert r.headers["Cache-Control"] == "no-store"


@pytest.fixture
def desk(app, staff, client, reporter, office):
    """A report with an HTML file, routed by intake to a legal officer (with a supervisor on it too)."""
    legal, supervisor = staff.create("legal1", Role.LEGAL), staff.create("super1", Role.SUPERVISOR)
    legal_team = staff.team("legal", TeamKind.LEGAL, legal)
    receipt = reporter.submit_ok(files=[(io.BytesIO(HTML_FILE), HTML_NAME)])
    with app.app_context():
        case_id = get_session().query(Case).one().id
    _as(staff, client, office["intake"])
    assert _act(staff, client, case_id, "transition", target="acknowledged").status_code == 302
    assert _act(staff, client, case_id, "transition", target="triage").status_code == 302
    assert _act(staff, client, case_id, "assign", team_id=str(legal_team)).status_code == 302
    assert _act(staff, client, case_id, "assign", user_id=str(supervisor.id)).status_code == 302
    return {
        "case_id": case_id,
        "receipt": receipt,
        "legal": legal,
        "supervisor": supervisor,
        "intake": office["intake"],
    }


def test_the_reporter_gets_their_file_as_an_inert_attachment(reporter, desk):
    assert reporter.login(desk["receipt"]).status_code == 303
    r = reporter.client.get("/receipt/files/1")
    assert_safe_download(r, types=("application/octet-stream",))
    assert r.get_data() == HTML_FILE
    assert len(r.headers["Content-Disposition"].split(";")) == 3  # the name cannot add a parameter


def test_staff_get_a_case_file_as_an_inert_attachment(staff, client, desk):
    _as(staff, client, desk["intake"])
    r = client.get(f"/staff/cases/{desk['case_id']}/files/1")
    assert_safe_download(r, types=("application/octet-stream",))
    assert r.get_data() == HTML_FILE


def test_the_pdf_support_file_is_an_attachment(staff, client, desk):
    _as(staff, client, desk["legal"])
    url = f"/staff/cases/{desk['case_id']}/support-file"
    r = client.post(url, data={"csrf_token": csrf_token(client.get(url).get_data(as_text=True)), "language": "en"})
    assert_safe_download(r, types=("application/pdf",))
    assert r.get_data().startswith(b"%PDF")


def test_the_dashboard_and_ledger_exports_are_attachments(staff, client, desk):
    _as(staff, client, desk["supervisor"])
    token = csrf_token(client.get("/staff/ledger/").get_data(as_text=True))
    r = client.post("/staff/dashboards/export", data={"csrf_token": token, "panel": "deadlines", "year": "2026"})
    assert_safe_download(r, types=("text/csv",))
    r = client.post("/staff/ledger/export", data={"csrf_token": token, "year": "2026"})
    assert_safe_download(r, types=("text/csv",))


def test_every_download_route_is_covered_here(app):
    """A new download route must be added to this file: the routes answering files are exactly these."""
    from .conftest import routes

    downloads = {
        ep for ep, rule, _m, _a in routes(app) if "/files/" in rule or "export" in rule or "support-file" in rule
    }
    assert downloads == {
        "reporting.download",
        "staff_cases.download",
        "support_file.form",
        "support_file.generate",
        "dashboards.export",
        "ledger.export",
    }
