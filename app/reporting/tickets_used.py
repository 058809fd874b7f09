"""Which form tickets have been used: each ticket is good for one submission only.

What is kept is the ticket's random nonce until the ticket would have
expired anyway: it names no person, no case and no address. In memory for
one process, in Redis when several workers share the load.

Threat: the record of a used ticket telling when a reporter submitted or
logged in (DESIGN.md section 5 keeps reporter times to the day). A key per
nonce expiring ``ttl`` seconds after use would give each use to the second,
in its expiry and in Redis's idle time of the key. So nonces are kept in one
set per day of use in Seoul, which is forgotten as a whole at a Seoul
midnight: all that is stored is which day a nonce was used, the day a case's
own ``received_on`` already records.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol

from app.cases.deadlines import SEOUL, local_today

DAY_SECONDS = 86400
# Workers' clocks may disagree by this much; a nonce is kept at least this long past its ticket's end.
CLOCK_SKEW_SECONDS = 3600


def days_to_check(ttl_seconds: int) -> int:
    """How many days before today a nonce still usable today may have been used first."""
    return -(-(ttl_seconds + CLOCK_SKEW_SECONDS) // DAY_SECONDS)


def day_of_use(now_epoch: int) -> dt.date:
    """The day in Seoul of an instant given in seconds since the epoch."""
    return local_today(dt.datetime.fromtimestamp(now_epoch, dt.UTC))


def forget_at(day: dt.date, ttl_seconds: int) -> int:
    """When the nonces used on ``day`` may be forgotten: a Seoul midnight, in seconds since the epoch.

    A ticket used on ``day`` was issued before the day ended and is refused
    ``ttl_seconds`` after it was issued, so it cannot be replayed after the
    end of ``day`` plus ``ttl_seconds`` (plus clock skew). Whole days are
    added so that the time depends on nothing but the day.
    """
    end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), SEOUL)
    return int((end_of_day + dt.timedelta(days=days_to_check(ttl_seconds))).timestamp())


def buckets(now_epoch: int, ttl_seconds: int) -> list[dt.date]:
    """The days whose used nonces a ticket presented now must be checked against, today first.

    Tomorrow is checked too: a worker whose clock runs ahead (within
    ``CLOCK_SKEW_SECONDS``) may already have filed a use just before our
    midnight under its next day, and a replay on this worker must still see it.
    """
    today = day_of_use(now_epoch)
    earlier = [today - dt.timedelta(days=n) for n in range(1, days_to_check(ttl_seconds) + 1)]
    return [today, today + dt.timedelta(days=1), *earlier]


class UsedTickets(Protocol):
    """Remembers nonces of used tickets for a while."""

    def first_use(self, nonce: bytes, ttl_seconds: int, now_epoch: int) -> bool:
        """True the first time a nonce is presented (and records it), False after.

        ``ttl_seconds`` is how long a ticket is valid after it is issued;
        ``now_epoch`` the time of this use (only its day in Seoul is kept).
        """
        ...


class MemoryUsedTickets:
    """One process's memory: a set of nonces per day of use; days no longer needed are dropped."""

    def __init__(self) -> None:
        self._by_day: dict[dt.date, set[bytes]] = {}
        self._lock = threading.Lock()

    def first_use(self, nonce: bytes, ttl_seconds: int, now_epoch: int) -> bool:
        days = buckets(now_epoch, ttl_seconds)
        with self._lock:
            self._by_day = {d: seen for d, seen in self._by_day.items() if d >= days[-1]}
            if any(nonce in self._by_day.get(d, ()) for d in days):
                return False
            self._by_day.setdefault(days[0], set()).add(nonce)
            return True


# Checks the older days' sets and adds to today's in one atomic step, so two workers
# presenting the same ticket across midnight cannot both see it as new.
_FIRST_USE = """
for i = 2, #KEYS do
  if redis.call('SISMEMBER', KEYS[i], ARGV[1]) == 1 then return 0 end
end
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return added
"""


class RedisUsedTickets:
    """Shared by all workers: one Redis set per day of use, expiring at a Seoul midnight (Redis 2.6+).

    The ``{used}`` hash tag keeps every day's set in one cluster slot, so the
    script may touch them together.
    """

    PREFIX = "haechi:tickets:{used}:"

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(_FIRST_USE)

    def key(self, day: dt.date) -> str:
        """The set holding the nonces used on ``day``."""
        return self.PREFIX + day.isoformat()

    def first_use(self, nonce: bytes, ttl_seconds: int, now_epoch: int) -> bool:
        days = buckets(now_epoch, ttl_seconds)
        keys = [self.key(d) for d in days]
        return bool(self._script(keys=keys, args=[nonce.hex(), forget_at(days[0], ttl_seconds)]))
