"""Several workers (here: two apps on the same instance folder and database) share every piece of state.

Nothing lives in one process: staff sessions are database rows, reporter
sessions are cookies sealed with the shared instance secrets, the CSRF token
is signed with the shared session secret, and rate limits are counted in
Redis (tests/functional/test_reporting.py::
test_with_redis_configured_the_limits_are_shared_through_redis proves the
shared budget; here both apps also run on Redis).
"""

from __future__ import annotations

import io

import pytest

from app import create_app
from tests.functional.conftest import ReporterAuth, StaffAuth

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def two_workers(test_settings, office):
    """Two apps built from the same settings, as two gunicorn workers or two machines would be."""
    redis = pytest.importorskip("redis")
    conn = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        conn.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable")
    conn.flushdb()
    settings = test_settings.with_(redis_url=REDIS_URL)
    apps = (create_app(settings), create_app(settings))
    yield apps
    for a in apps:
        a.extensions["haechi.engine"].dispose()
    conn.flushdb()


def move_cookies(source, target) -> None:
    """Hand every cookie of one browser to a client of the other worker (the load balancer's choice)."""
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


def browser_on(app, client, template: StaffAuth) -> StaffAuth:
    """A StaffAuth acting through ``client`` of ``app`` (no second recovery key is registered)."""
    actor = StaffAuth.__new__(StaffAuth)
    actor.app, actor.client, actor.recovery, actor._last_step = app, client, template.recovery, template._last_step
    return actor


def test_a_staff_session_started_on_one_worker_is_valid_and_revocable_on_the_other(two_workers, office, staff):
    first, second = two_workers
    staff_a = browser_on(first, first.test_client(), staff)
    staff_a.english()
    staff_a.login(office["intake"])
    on_b = second.test_client()
    move_cookies(staff_a.client, on_b)
    assert on_b.get("/staff/").status_code == 200
    browser_on(second, on_b, staff).logout()  # signed out through worker B...
    assert staff_a.client.get("/staff/").status_code == 302  # ...is signed out on worker A too


def test_a_report_sent_to_one_worker_is_opened_and_read_through_the_other(two_workers):
    first, second = two_workers
    receipt = (
        ReporterAuth(first.test_client()).english().submit_ok(files=[(io.BytesIO(b"evidence bytes"), "ledger.pdf")])
    )
    on_b = ReporterAuth(second.test_client()).english()
    assert on_b.login(receipt).status_code == 303
    back_on_a = first.test_client()
    move_cookies(on_b.client, back_on_a)
    html = back_on_a.get("/receipt/inbox").get_data(as_text=True)
    assert "ledger.pdf" in html and "permits desk" in html
