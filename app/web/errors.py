"""Error pages: bilingual, on the right surface's layout, never showing exception text."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

HANDLED_CODES = (400, 403, 404, 405, 413, 429, 500)

STAFF_PREFIX = "/staff"

# What is shown when even the error template cannot render (a broken template,
# the database gone while the layout asks for the current user). Static text,
# both languages, no exception detail.
FALLBACK_HTML = (
    '<!doctype html><html lang="ko"><meta charset="utf-8"><title>Haechi</title>'
    "<h1>오류가 발생했습니다</h1><p>잠시 후 다시 시도해 주십시오.</p>"
    '<h1 lang="en">Something went wrong</h1><p lang="en">Please try again later.</p></html>'
)


def layout_for_request() -> str:
    """The base layout of the surface the request belongs to (staff pages must not look like reporter ones)."""
    path = request.path
    if path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/"):
        return "staff/base.html"
    return "reporter/base.html"


def _wants_json() -> bool:
    # API clients (the bridge, scripts) asking for JSON only get a JSON error.
    return request.accept_mimetypes.best == "application/json"


def render_error(template: str, error: HTTPException) -> Response:
    """Render ``errors/<template>`` with the status and headers (Allow, Retry-After) of ``error``."""
    code = error.code or 500
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    if _wants_json():
        response = jsonify(error=code)
    else:
        try:
            body = render_template(f"errors/{template}", layout=layout_for_request(), code=code)
        except Exception:
            log.exception("error page %s failed to render", template)
            body = FALLBACK_HTML
        response = Response(body, mimetype="text/html")
    response.status_code = code
    for name, value in headers:
        response.headers[name] = value
    return response


def _handler(template: str) -> Callable[[HTTPException], Response]:
    def handle(error: HTTPException) -> Response:
        return render_error(template, error)

    return handle


def handle_csrf_error(error: CSRFError) -> Response:
    """A missing or stale CSRF token: say the form expired, not that the user did wrong."""
    return render_error("csrf.html", error)


def handle_server_error(error: InternalServerError) -> Response:
    """Unhandled exceptions: a generic page; Flask has already logged the traceback."""
    # Never pass ``error.original_exception`` to the template: its text may hold
    # case content, SQL or secrets.
    return render_error("500.html", InternalServerError())


def init_errors(app: Flask) -> None:
    """Register the error pages on ``app``."""
    for code in HANDLED_CODES:
        if code == 500:
            app.register_error_handler(500, handle_server_error)
        else:
            app.register_error_handler(code, _handler(f"{code}.html"))
    app.register_error_handler(CSRFError, handle_csrf_error)
