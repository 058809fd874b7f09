"""The site shell: landing page, language switch, health check."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, abort, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from app.authz import public
from app.db import get_engine
from app.web.i18n import remember_locale

log = logging.getLogger(__name__)

bp = Blueprint("web", __name__)


@bp.get("/")
@public
def index() -> ResponseReturnValue:
    """Landing page: the way in for reporters and for staff."""
    return render_template("web/index.html")


@bp.get("/healthz")
@public
def healthz() -> ResponseReturnValue:
    """Liveness and database check for the load balancer; says nothing about why it failed."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        # The error text may carry a host name or user; keep it in the log.
        log.warning("health check failed: %s", type(exc).__name__)
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")


@bp.post("/language")
@public
def set_language() -> ResponseReturnValue:
    """Remember the chosen language (CSRF-protected like every POST) and go back where the user was."""
    if not remember_locale(request.form.get("lang", "")):
        abort(400)
    return redirect(safe_next(request.form.get("next") or request.args.get("next")), code=303)


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/``.

    Defends against open redirects: ``//evil.example`` and ``/\\evil.example``
    are read by browsers as other hosts, ``javascript:`` runs script, and
    control characters can be stripped by the browser to form any of these.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target
