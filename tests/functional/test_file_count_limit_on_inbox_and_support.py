"""The file-count limit holds on every reporter form that takes files, and refused files are not kept.

The inbox and support pages once set the error before validating the form,
which cleared it: fifteen files went through where ten are allowed.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.db import get_session
from app.models.cases import Attachment
from app.models.support import SupportRequest

from .browser_forms import form_posting_to


def _blob_files(settings) -> list[str]:
    """Every file in the blob store, committed or not."""
    root = settings.instance_path / "blobs"
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _files(n: int, stem: str) -> list[tuple[bytes, str]]:
    return [(b"receipt %d" % i, f"{stem}{i}.txt") for i in range(n)]


def _attachments(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Attachment)) or 0


def test_a_message_with_more_files_than_allowed_is_refused_and_none_is_kept(app, office, reporter, test_settings):
    reporter.login(reporter.submit_ok())
    before, attached = _blob_files(test_settings), _attachments(app)
    page = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    form = form_posting_to(page, "/receipt/inbox").fill(body="here are my papers")
    r = form.send(reporter.client, files={"files": _files(test_settings.max_files + 1, "f")})
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert f"Attach at most {test_settings.max_files} files." in html
    assert "files are not kept when the form has an error" in html
    assert _blob_files(test_settings) == before and _attachments(app) == attached
    assert "here are my papers" not in reporter.client.get("/receipt/inbox").get_data(as_text=True)


def test_a_message_with_as_many_files_as_allowed_is_sent(app, office, reporter, test_settings):
    reporter.login(reporter.submit_ok())
    attached = _attachments(app)
    page = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    form = form_posting_to(page, "/receipt/inbox").fill(body="here are my papers")
    r = form.send(reporter.client, files={"files": _files(test_settings.max_files, "f")})
    assert r.status_code == 303
    assert _attachments(app) == attached + test_settings.max_files


def test_a_support_request_with_more_receipts_than_allowed_is_refused_and_none_is_kept(
    app, office, reporter, test_settings
):
    reporter.login(reporter.submit_ok())
    before = _blob_files(test_settings)
    page = reporter.client.get("/receipt/support/").get_data(as_text=True)
    form = form_posting_to(page, "/receipt/support/").fill(type="legal_counsel", amount_requested="100000")
    r = form.send(reporter.client, files={"files": _files(test_settings.max_files + 1, "r")})
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert f"Attach at most {test_settings.max_files} files." in html
    assert "files are not kept when the form has an error" in html
    assert _blob_files(test_settings) == before
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(SupportRequest)) == 0


def test_a_support_request_with_as_many_receipts_as_allowed_is_sent(app, office, reporter, test_settings):
    reporter.login(reporter.submit_ok())
    page = reporter.client.get("/receipt/support/").get_data(as_text=True)
    form = form_posting_to(page, "/receipt/support/").fill(type="legal_counsel", amount_requested="100000")
    r = form.send(reporter.client, files={"files": _files(test_settings.max_files, "r")})
    assert r.status_code == 303
    page = reporter.client.get("/receipt/support/").get_data(as_text=True)
    assert f"Receipts sent: {test_settings.max_files}" in page
