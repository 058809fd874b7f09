"""Security headers on every response, whatever blueprint or error handler produced it."""

from __future__ import annotations

from flask import Flask, Response, request

from app.runtime import get_settings

# No inline script or style and no outside origin: an injected <script> or
# style attribute does nothing, and a reporter's browser never talks to a
# third party that could log them. Forms may post only back to us, and no
# one may frame us (clickjacking) or re-base our relative links.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# Two years, the usual HSTS preload threshold; sent only when served over HTTPS.
HSTS = "max-age=63072000; includeSubDomains"

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # Stop MIME sniffing: an uploaded file is never run as script or HTML.
    "X-Content-Type-Options": "nosniff",
    # A case URL or receipt page must never leak to another site in Referer.
    "Referrer-Policy": "no-referrer",
    # Clickjacking, for browsers older than frame-ancestors.
    "X-Frame-Options": "DENY",
    # No window opened by or opening us keeps a handle on our window.
    "Cross-Origin-Opener-Policy": "same-origin",
    # Our resources are not embeddable by other origins.
    "Cross-Origin-Resource-Policy": "same-origin",
    # No page of ours needs these; deny them so an injection cannot ask.
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=(), browsing-topics=()",
}


def _is_static(endpoint: str | None) -> bool:
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def apply_security_headers(response: Response) -> Response:
    """Add the security headers to ``response``; installed as an ``after_request`` hook."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if get_settings().https:
        response.headers["Strict-Transport-Security"] = HSTS
    # Pages may hold case content or show that someone reported: keep them out
    # of the browser's cache and any shared proxy. Stylesheets may be cached.
    if response.mimetype == "text/html" or (
        not _is_static(request.endpoint) and "Cache-Control" not in response.headers
    ):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_headers(app: Flask) -> None:
    """Install :func:`apply_security_headers` on every response of ``app``."""
    app.after_request(apply_security_headers)
