"""Explicit authorisation rules on every route.

Each view carries the rule it was declared with (``_auth_rule``); a test walks
the URL map and fails for any endpoint without one, so a route can never be
added without saying who may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, redirect, request, url_for
from flask_login import current_user

from app.models.staff import Role

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
REPORTER = "reporter"
STAFF = "staff"
BRIDGE = "bridge"


def public(view: F) -> F:
    """Anyone may call this route (landing, health, language, login steps)."""
    view._auth_rule = PUBLIC  # type: ignore[attr-defined]
    return view


def reporter(view: F) -> F:
    """A reporter with an open inbox session (the view itself opens the session cookie,
    and sends anyone without one back to the receipt page)."""
    view._auth_rule = REPORTER  # type: ignore[attr-defined]
    return view


def bridge(view: F) -> F:
    """A machine feed: the view itself refuses any request without a fresh, valid per-source HMAC signature."""
    view._auth_rule = BRIDGE  # type: ignore[attr-defined]
    return view


def staff_required(*roles: Role) -> Callable[[F], F]:
    """A fully logged-in staff user (password and TOTP), holding any of ``roles`` if given."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("staff_auth.login", next=request.path))
            if roles and not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapper._auth_rule = (STAFF, frozenset(roles))  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def rule_of(view: Callable[..., Any]) -> object:
    """The rule a view was declared with, or None."""
    return getattr(view, "_auth_rule", None)
