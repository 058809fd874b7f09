"""Session fixation and logout: a session id chosen before login is never the one after it, and a
session ended by logout stays ended even for someone who kept a copy of its cookie.

Staff sessions are server-side rows behind a random cookie; reporter sessions
are encrypted cookies with no server state (app/reporting/session.py), whose
documented limit is that a copy stays valid until its idle expiry, so that
expiry is what is tested for them.
"""

from __future__ import annotations

import pytest

import app.reporting.views as reporting_views
from app.reporting import session as reporter_session
from app.runtime import get_settings
from app.staff import sessions as staff_sessions
from tests.functional.conftest import csrf_token

STAFF_PATH = "/staff"


def _staff_cookie(client) -> str | None:
    c = client.get_cookie(staff_sessions.COOKIE_NAME, path=STAFF_PATH)
    return c.value if c is not None else None


def _reporter_cookie(client) -> str | None:
    c = client.get_cookie(reporter_session.COOKIE_NAME, path=reporter_session.COOKIE_PATH)
    return c.value if c is not None else None


@pytest.fixture
def member(staff, office):
    return office["intake"]


def test_the_staff_session_id_changes_at_each_login_step(staff, member):
    assert staff.password_step(member).status_code == 302
    pending = _staff_cookie(staff.client)
    assert pending
    assert staff.code_step(member).status_code == 302
    active = _staff_cookie(staff.client)
    assert active and active != pending
    assert staff.client.get("/staff/").status_code == 200


def test_a_staff_cookie_planted_before_login_is_not_the_session_after_it(app, staff, member):
    planted = "attacker-chosen-session-id"
    staff.client.set_cookie(staff_sessions.COOKIE_NAME, planted, path=STAFF_PATH)
    staff.login(member)
    assert _staff_cookie(staff.client) not in (None, planted)
    victim_copy = app.test_client()
    victim_copy.set_cookie(staff_sessions.COOKIE_NAME, planted, path=STAFF_PATH)
    r = victim_copy.get("/staff/")
    assert r.status_code == 302 and "/staff/login" in r.location


def test_a_pending_password_step_cookie_does_not_open_staff_pages(app, staff, member):
    """Half-way through the login (password, no code yet) the cookie opens nothing."""
    staff.password_step(member)
    r = staff.client.get("/staff/cases/")
    assert r.status_code == 302 and "/staff/login" in r.location


def test_a_copy_of_the_staff_cookie_is_refused_after_logout(app, staff, member):
    staff.login(member)
    copied = _staff_cookie(staff.client)
    other = app.test_client()
    other.set_cookie(staff_sessions.COOKIE_NAME, copied, path=STAFF_PATH)
    assert other.get("/staff/").status_code == 200  # the copy works while the session lives
    assert staff.logout().status_code == 302
    assert _staff_cookie(staff.client) is None
    for client in (other, staff.client):
        client.set_cookie(staff_sessions.COOKIE_NAME, copied, path=STAFF_PATH)
        r = client.get("/staff/")
        assert r.status_code == 302 and "/staff/login" in r.location
        page = client.get("/staff/login").get_data(as_text=True)
        r = client.post("/staff/logout", data={"csrf_token": csrf_token(page)})
        assert r.status_code == 302 and "/staff/login" in r.location


def test_the_reporter_cookie_is_replaced_at_each_receipt_login(office, reporter):
    first = reporter.submit_ok(what="The first report, about the parking office and its cash box.")
    second = reporter.submit_ok(what="The second report, about the permits desk and its envelopes.")
    planted = "attacker-chosen-inbox-cookie"
    reporter.client.set_cookie(reporter_session.COOKIE_NAME, planted, path=reporter_session.COOKIE_PATH)
    r = reporter.client.get("/receipt/inbox")
    assert r.status_code == 303 and r.location.endswith("/receipt")  # a forged cookie opens nothing
    assert reporter.login(first).status_code == 303
    one = _reporter_cookie(reporter.client)
    assert one not in (None, planted)
    assert "parking office" in reporter.client.get("/receipt/inbox").get_data(as_text=True)
    assert reporter.login(second).status_code == 303
    two = _reporter_cookie(reporter.client)
    assert two not in (None, one)
    inbox = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    assert "permits desk" in inbox and "parking office" not in inbox


def test_leaving_the_inbox_deletes_the_cookie_and_an_expired_copy_is_refused(app, office, reporter, monkeypatch):
    receipt = reporter.submit_ok()
    assert reporter.login(receipt).status_code == 303
    copied = _reporter_cookie(reporter.client)
    page = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    r = reporter.client.post("/receipt/leave", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 303 and _reporter_cookie(reporter.client) is None
    r = reporter.client.get("/receipt/inbox")
    assert r.status_code == 303 and r.location.endswith("/receipt")
    # The documented limit: a copy kept elsewhere lives until its idle expiry, and not a second longer.
    other = app.test_client()
    other.set_cookie(reporter_session.COOKIE_NAME, copied, path=reporter_session.COOKIE_PATH)
    assert other.get("/receipt/inbox").status_code == 200
    with app.app_context():
        idle = get_settings().reporter_idle_minutes * 60
    real = reporting_views._now_epoch
    monkeypatch.setattr(reporting_views, "_now_epoch", lambda: real() + idle + 1)
    r = other.get("/receipt/inbox")
    assert r.status_code == 303 and r.location.endswith("/receipt")
