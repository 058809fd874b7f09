"""The logged-in staff member's request state: session row and private key."""

from __future__ import annotations

from flask import g

from app.staff.errors import SessionInvalid
from app.staff.sessions import OpenedSession


def current_session() -> OpenedSession:
    """The opened session of the current staff request (set by the request loader)."""
    opened: OpenedSession | None = g.get("staff_session")
    if opened is None:
        raise SessionInvalid()
    return opened


def current_private_key() -> bytes:
    """The current user's private key, from the session row and the cookie's key."""
    return current_session().private_key()
