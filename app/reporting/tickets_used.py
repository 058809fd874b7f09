"""Which form tickets have been used: each ticket is good for one submission only.

What is kept is the ticket's random nonce until the ticket would have
expired anyway: it names no person, no case and no address. In memory for
one process, in Redis when several workers share the load.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class UsedTickets(Protocol):
    """Remembers nonces of used tickets for a while."""

    def first_use(self, nonce: bytes, ttl_seconds: int) -> bool:
        """True the first time a nonce is presented (and records it), False after."""
        ...


class MemoryUsedTickets:
    """One process's memory; pruned as it grows."""

    def __init__(self) -> None:
        self._seen: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def first_use(self, nonce: bytes, ttl_seconds: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {n: exp for n, exp in self._seen.items() if exp > now}
            expires = self._seen.get(nonce)
            if expires is not None and expires > now:
                return False
            self._seen[nonce] = now + ttl_seconds
            return True


class RedisUsedTickets:
    """Shared by all workers: SET NX with an expiry."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)

    def first_use(self, nonce: bytes, ttl_seconds: int) -> bool:
        return bool(self._redis.set(b"haechi:ticket:" + nonce.hex().encode(), b"1", nx=True, ex=ttl_seconds))
