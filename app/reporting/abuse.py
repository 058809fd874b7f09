"""Abuse resistance that remembers no reporter.

Form tickets: every reporter form carries a signed ticket with the time it
was served. A submission is accepted only if the form was open at least a few
seconds (scripts post at once) and at most a few hours. The ticket lives only
in the page; the server keeps only the random nonces of used tickets, until
they would have expired, so that each ticket serves once (a reload of the
receipt page does not file the report twice). It works without JavaScript, which a
hash-based proof of work would need; together with the route-wide rate limits
(app/reporting/views.py) it is our "light proof of work".
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import struct

from app.reporting.errors import ReportingError

_VERSION = 1
_FORMAT = struct.Struct(">BQ16s")


class TicketError(ReportingError):
    """The form ticket is missing, forged, too fresh or too old."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _key(session_secret: bytes) -> bytes:
    return hmac.digest(session_secret, b"haechi/form-ticket/v1", "sha256")


def issue(session_secret: bytes, now_epoch: int) -> str:
    """A new ticket for a form served at ``now_epoch``."""
    body = _FORMAT.pack(_VERSION, now_epoch, os.urandom(16))
    mac = hmac.digest(_key(session_secret), body, "sha256")[:16]
    return base64.urlsafe_b64encode(body + mac).decode()


def check(session_secret: bytes, ticket: str | None, now_epoch: int, min_seconds: int, max_seconds: int) -> bytes:
    """Accept a ticket that is genuine and neither too fresh nor too old; returns its nonce."""
    if not ticket:
        raise TicketError("missing")
    try:
        raw = base64.urlsafe_b64decode(ticket.encode())
    except (binascii.Error, ValueError):
        raise TicketError("forged") from None
    if len(raw) != _FORMAT.size + 16:
        raise TicketError("forged")
    body, mac = raw[: _FORMAT.size], raw[_FORMAT.size :]
    if not hmac.compare_digest(mac, hmac.digest(_key(session_secret), body, "sha256")[:16]):
        raise TicketError("forged")
    version, issued, nonce = _FORMAT.unpack(body)
    if version != _VERSION:
        raise TicketError("forged")
    age = now_epoch - issued
    if age < min_seconds:
        raise TicketError("too_fast")
    if age > max_seconds:
        raise TicketError("expired")
    return bytes(nonce)
