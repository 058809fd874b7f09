"""Numbers from request parameters and form fields, parsed one way everywhere.

``str.isdigit`` alone accepts "²" and other Unicode digits that ``int``
refuses, and a 5,000-digit string that ``int`` refuses too (or a database
driver overflows on): each was a 500 somewhere. Only short ASCII digit
strings become numbers here; everything else is "no number".
"""

from __future__ import annotations

from flask import abort, request

MAX_DIGITS = 9  # ids, versions and years fit; longer input never reaches int()
# Endpoints that read their body raw (signed bytes), never as a form, whatever its
# Content-Type: curl's ``--data-binary`` labels a JSON Lines batch as urlencoded, and
# parsing it as a form here consumed the body, so the feed verified its signature
# over no bytes and answered 401. The feed verifies and decodes the bytes itself.
RAW_BODY_ENDPOINTS = frozenset({"bridge.feed"})


def small_int(raw: str | None, max_digits: int = MAX_DIGITS) -> int | None:
    """``raw`` as a number when it is 1 to ``max_digits`` ASCII digits, else None."""
    if not raw or len(raw) > max_digits or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


def form_version(raw: str | None) -> int:
    """The version a form was shown with; a form without one is stale (-1 never matches a row)."""
    version = small_int(raw)
    return -1 if version is None else version


def refuse_nul_bytes() -> None:
    """Answer 400 to a query string or urlencoded form carrying a NUL character.

    No honest form sends one, and PostgreSQL cannot hold it in a text column,
    so a NUL in a username or a name reached the database as a driver error
    (a 500) there and as stored junk on SQLite. Registered as a
    ``before_request`` hook; multipart bodies are left to the upload path,
    which must not be read before the view decides where files go, and so
    are the bodies of ``RAW_BODY_ENDPOINTS`` (their query strings are still checked).
    """
    values = list(request.args.values())
    if request.mimetype == "application/x-www-form-urlencoded" and request.endpoint not in RAW_BODY_ENDPOINTS:
        values += request.form.values()
    if any("\x00" in value for value in values):
        abort(400)
