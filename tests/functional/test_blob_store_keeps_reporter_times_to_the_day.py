"""A reporter's submissions and downloads leave no time finer than the day in the blob store's folder.

Every browser sends an empty file part when the file field is left empty; a
blob was once opened and discarded for it, leaving a folder stamped with the
exact time of the report. Reading a blob updated its access time likewise.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from .browser_forms import form_posting_to
from .conftest import REPORT_FIELDS

FIELDS = {k: v for k, v in REPORT_FIELDS.items() if k != "department_id"}


def _root(settings) -> Path:
    return settings.instance_path / "blobs"


def _not_a_midnight(*times: float) -> bool:
    return any(t % 86400 for t in times)


def test_a_report_sent_with_the_file_field_left_empty_opens_no_blob(app, office, reporter, test_settings):
    root = _root(test_settings)
    before = root.stat().st_mtime
    page = reporter.client.get("/report").get_data(as_text=True)
    form = form_posting_to(page, "/report").fill(**FIELDS)
    r = form.send(reporter.client)  # the file field's empty part included, as browsers send it
    assert r.status_code == 200 and 'class="receipt"' in r.get_data(as_text=True)
    assert list(root.iterdir()) == [] and root.stat().st_mtime == before


def test_a_refused_report_with_a_file_leaves_no_time_finer_than_the_day(app, office, reporter, test_settings):
    page = reporter.client.get("/report").get_data(as_text=True)
    form = form_posting_to(page, "/report").fill(**{**FIELDS, "what": ""})
    r = form.send(reporter.client, files={"files": [(b"evidence", "a.pdf")]})
    assert r.status_code == 400
    root = _root(test_settings)
    assert not _not_a_midnight(root.stat().st_mtime)
    for folder in root.iterdir():
        st = folder.stat()  # before listing it, which would update its access time
        assert not _not_a_midnight(st.st_mtime, st.st_atime), folder
        assert list(folder.iterdir()) == []  # the refused file's ciphertext is gone


def test_a_reporter_download_leaves_the_blob_access_time_at_the_day(app, office, reporter, test_settings):
    receipt = reporter.submit_ok(files=[(io.BytesIO(b"evidence" * 100), "a.pdf")])
    (blob,) = [p for p in _root(test_settings).rglob("*") if p.is_file()]
    assert not _not_a_midnight(blob.stat().st_atime, blob.stat().st_mtime)
    reporter.login(receipt)
    page = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    attachment = re.search(r"/receipt/files/(\d+)", page).group(1)
    r = reporter.client.get(f"/receipt/files/{attachment}")
    assert r.status_code == 200 and r.data.startswith(b"evidence")
    assert not _not_a_midnight(blob.stat().st_atime, blob.stat().st_mtime)
