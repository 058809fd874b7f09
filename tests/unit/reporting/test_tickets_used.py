"""Used form tickets are refused again for as long as the ticket lives, and only their day of use is kept.

A Redis key per nonce with ``SET NX EX ttl`` once kept each use's exact time
in its expiry (use time + 6 hours) and in its idle time.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time

import pytest

from app.cases.deadlines import SEOUL
from app.reporting.tickets_used import (
    CLOCK_SKEW_SECONDS,
    MemoryUsedTickets,
    RedisUsedTickets,
    day_of_use,
    forget_at,
)

TTL = 6 * 3600  # config.Settings.form_max_hours
REDIS_URL = "redis://127.0.0.1:6379/12"
SEOUL_MIDNIGHT_IN_UTC = 15 * 3600  # seconds after a UTC midnight (Korea keeps no summer time)


def _next_seoul_midnight(now: float) -> int:
    today = dt.datetime.fromtimestamp(now, SEOUL).date()
    return int(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), SEOUL).timestamp())


@pytest.fixture
def redis_conn():
    redis = pytest.importorskip("redis")
    conn = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        conn.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable")
    conn.delete(*conn.keys(RedisUsedTickets.PREFIX + "*") or ["-"])
    yield conn
    conn.delete(*conn.keys(RedisUsedTickets.PREFIX + "*") or ["-"])


@pytest.fixture(params=["memory", "redis"])
def used(request):
    """Each record of used tickets in turn: one process's memory, and Redis shared by workers."""
    if request.param == "memory":
        return MemoryUsedTickets()
    request.getfixturevalue("redis_conn")
    return RedisUsedTickets(REDIS_URL)


def test_a_ticket_serves_once(used):
    nonce, now = secrets.token_bytes(16), int(time.time())
    assert used.first_use(nonce, TTL, now) is True
    assert used.first_use(nonce, TTL, now + 1) is False
    assert used.first_use(secrets.token_bytes(16), TTL, now + 1) is True


def test_a_ticket_used_just_before_midnight_in_seoul_is_refused_until_it_expires(used):
    nonce = secrets.token_bytes(16)
    used_at = _next_seoul_midnight(time.time()) - 60
    assert used.first_use(nonce, TTL, used_at) is True
    for later in (120, TTL, TTL + CLOCK_SKEW_SECONDS):  # the next day, up to the end of its life
        assert used.first_use(nonce, TTL, used_at + later) is False


def test_a_ticket_used_on_a_worker_already_past_midnight_is_refused_on_one_still_before_it(used):
    """Workers' clocks differ by up to CLOCK_SKEW_SECONDS: the use filed under tomorrow must still count."""
    nonce = secrets.token_bytes(16)
    midnight = _next_seoul_midnight(time.time())
    assert used.first_use(nonce, TTL, midnight + 5) is True  # a worker whose clock is ahead
    assert used.first_use(nonce, TTL, midnight - 10) is False  # a worker still before midnight


def test_the_memory_record_forgets_a_day_once_its_tickets_have_all_expired():
    used, nonce, now = MemoryUsedTickets(), secrets.token_bytes(16), int(time.time())
    assert used.first_use(nonce, TTL, now)
    assert used.first_use(secrets.token_bytes(16), TTL, now + 3 * 86400)
    assert len(used._by_day) == 1  # only today's set is left
    assert used.first_use(nonce, TTL, now + 3 * 86400)  # long expired: abuse.check refuses it anyway


@pytest.mark.parametrize("hour", range(0, 24 * 60, 37))
def test_the_day_forgotten_depends_only_on_the_day_of_use_and_outlives_every_ticket_used_then(hour):
    start = _next_seoul_midnight(time.time())
    used_at = start + hour * 60  # every 37 minutes through one day in Seoul
    when = forget_at(day_of_use(used_at), TTL)
    assert when == forget_at(day_of_use(start), TTL)  # the same for the whole day
    assert when % 86400 == SEOUL_MIDNIGHT_IN_UTC
    # A ticket used now was issued now at the latest and is refused TTL after it was issued.
    assert when >= used_at + TTL + CLOCK_SKEW_SECONDS


def test_redis_keeps_no_time_of_use_finer_than_the_day_in_seoul(redis_conn):
    used, nonce = RedisUsedTickets(REDIS_URL), secrets.token_bytes(16)
    now = int(time.time())
    assert used.first_use(nonce, TTL, now)
    keys = redis_conn.keys("haechi:ticket*")
    assert keys == [used.key(day_of_use(now)).encode()]  # one set for the day; no key names a nonce
    assert redis_conn.sismember(keys[0], nonce.hex())
    expires = redis_conn.execute_command("EXPIRETIME", keys[0])
    assert expires == forget_at(day_of_use(now), TTL) and expires % 86400 == SEOUL_MIDNIGHT_IN_UTC
