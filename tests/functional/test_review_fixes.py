"""Fixes from the review of backup, blobs, notifications, the feed endpoint and CSV exports; each test failed before."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app import create_app
from app.blobs import LocalBlobStore
from app.dashboards.panels import _safe
from app.db import get_session
from app.models.cases import Case
from app.models.staff import StaffUser
from app.notifications.mailer import deliver
from app.notifications.models import Notification
from app.runtime import get_blobs
from app.schema import upgrade
from app.staff.errors import InvalidEmail
from app.staff.forms import UserEditForm
from app.staff.service import check_email

PASS = "a long backup passphrase 1234"
BAD_EMAILS = ("a@example.org\r\nBcc: x@evil.example", "a@example.org, outsider@evil.example", "not an address", "a@b")


def test_a_failed_restore_never_deletes_or_replaces_a_blob_that_was_already_there(
    app, office, reporter, tmp_path, test_settings
):
    reporter.submit_ok(files=[(io.BytesIO(b"%PDF-1.4 ledger " * 8000), "ledger.pdf")])
    passphrase = tmp_path / "pp"
    passphrase.write_text(PASS + "\n")
    out = tmp_path / "b.backup"
    made = app.test_cli_runner().invoke(args=["backup", "create", str(out), "--passphrase-file", str(passphrase)])
    assert made.exit_code == 0, made.output
    with app.app_context():
        key = get_session().scalar(sa.text("SELECT blob_key FROM attachments"))
        with get_blobs().open_read(key) as fh:
            before = fh.read()
    app.extensions["haechi.engine"].dispose()
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(out.read_bytes()[:-20])  # cut short on copy
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    upgrade(url)
    # The database was lost; the blob folder of the same instance survived.
    again = create_app(test_settings.with_(database_url=url))
    try:
        for archive in (damaged, out):
            result = again.test_cli_runner().invoke(
                args=["backup", "restore", str(archive), "--passphrase-file", str(passphrase)]
            )
            assert result.exit_code != 0
        with again.app_context(), get_blobs().open_read(key) as fh:
            assert fh.read() == before
    finally:
        again.extensions["haechi.engine"].dispose()


def test_the_folder_store_never_replaces_a_committed_blob(tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    key = store.new_key()
    with store.open_write(key) as w:
        w.write(b"original")
    store.commit(key)
    with store.open_write(key) as w:
        w.write(b"replaced")
    with pytest.raises(FileExistsError):
        store.commit(key)
    store.discard(key)
    with store.open_read(key) as fh:
        assert fh.read() == b"original"


@pytest.mark.parametrize("timestamp", ["\u00b2", "1" * 5000, "-1", " 12"])
def test_a_feed_request_with_an_odd_timestamp_gets_the_uniform_401(app, client, timestamp):
    r = client.post(
        "/bridge/anything", data=b"{}\n", headers={"X-Haechi-Timestamp": timestamp, "X-Haechi-Signature": "00"}
    )
    assert r.status_code == 401


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_a_staff_email_must_be_one_plain_address(app, email):
    with pytest.raises(InvalidEmail):
        check_email(email)
    with app.test_request_context(method="POST"):
        form = UserEditForm(formdata=MultiDict({"display_name": "A", "email": email}), meta={"csrf": False})
        form.validate()
        assert form.email.errors


def test_a_good_email_is_kept_and_an_empty_one_is_none():
    assert check_email("  kim.official@city.example ") == "kim.official@city.example"
    assert check_email("") is None and check_email(None) is None


def test_an_address_the_mail_library_refuses_fails_that_mail_only_not_the_run(app, office, reporter, test_settings):
    reporter.submit_ok()
    settings = test_settings.with_(smtp_host="smtp.invalid")
    sent = []

    class Transport:
        def send(self, message):
            sent.append(message)

    with app.app_context():
        db = get_session()
        case = db.scalar(select(Case))
        bad = db.get(StaffUser, office["intake"].id)
        good = db.get(StaffUser, office["protector"].id)
        bad.email = "intake@example.org\r\nBcc: x@evil.example"  # an old row, from before the check
        good.email = "protector@example.org"
        today = dt.date(2026, 3, 2)
        for uid, event in ((bad.id, "new_case"), (good.id, "retaliation_alert")):
            db.add(
                Notification(
                    user_id=uid,
                    event=event,
                    case_id=case.id,
                    delivery="immediate",
                    status="pending",
                    created_on=today,
                    attempts=0,
                )
            )
        db.commit()
        deliver(db, settings, app, Transport(), today + dt.timedelta(days=1))
        assert [m["To"] for m in sent] == ["protector@example.org"]
        row = db.scalar(select(Notification).where(Notification.user_id == bad.id))
        assert row.status == "pending" and row.attempts == 1  # retried, then given up, like a refused mail


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1"])
def test_a_csv_label_that_a_spreadsheet_would_run_is_defused(cell):
    assert _safe(cell) == "'" + cell
