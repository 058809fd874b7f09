"""Field validators shared by adapters: each raises RecordError(field, reason) without quoting the value."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from typing import Any

from monitoring_bridge.errors import RecordError

MISSING = "missing"
# Characters no source sends in a field on purpose: PostgreSQL refuses NUL in a text
# column (a driver error that aborted the whole import), and the other C0 controls
# are junk in an id or a name. Tab and line breaks stay allowed (free-text details).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# ASCII digits only: ``str.isdigit`` also accepts "²", which ``int`` refuses.
_WHOLE = re.compile(r"-?[0-9]{1,18}")
# No field holds a number this large; bounded so a database integer column never overflows.
MAX_MAGNITUDE = 10**18 - 1
# Dates outside these years are typos or garbage, and near the ends of ``datetime``'s
# range the UTC conversion and correlation-window arithmetic overflow (OverflowError).
MIN_YEAR, MAX_YEAR = 1900, 2200
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def text(obj: dict[str, Any], name: str, max_len: int = 200, required: bool = True) -> str | None:
    """A non-empty string of at most ``max_len`` characters."""
    value = obj.get(name)
    if value is None:
        if required:
            raise RecordError(name, MISSING)
        return None
    if not isinstance(value, str):
        raise RecordError(name, "must be a string")
    value = value.strip()
    if not value:
        if required:
            raise RecordError(name, MISSING)
        return None
    if len(value) > max_len:
        raise RecordError(name, f"longer than {max_len} characters")
    if _CONTROL.search(value):
        raise RecordError(name, "contains a control character (NUL or another non-printing character)")
    return value


def integer(
    obj: dict[str, Any], name: str, lo: int | None = None, hi: int | None = None, required: bool = True
) -> int | None:
    """A whole number (JSON integer, or ASCII digits in a CSV cell) within bounds.

    A string must be exactly an optional minus and ASCII digits: "--3" or "²"
    used to pass an ``isdigit`` check and then make ``int`` raise, aborting the
    import instead of quarantining the record.
    """
    value = obj.get(name)
    if value is None:
        if required:
            raise RecordError(name, MISSING)
        return None
    if isinstance(value, bool):
        raise RecordError(name, "must be a whole number")
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        value = int(value.strip())
    if not isinstance(value, int):
        raise RecordError(name, "must be a whole number")
    if abs(value) > MAX_MAGNITUDE:
        raise RecordError(name, "must be a whole number of at most 18 digits")
    if lo is not None and hi is None and value < lo:
        raise RecordError(name, f"must be at least {lo}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise RecordError(name, f"must be between {lo} and {hi}")
    return value


def choice(obj: dict[str, Any], name: str, allowed: Collection[str]) -> str:
    """One of a closed set of codes."""
    value = text(obj, name, max_len=40)
    assert value is not None
    if value not in allowed:
        raise RecordError(name, "unknown value; expected one of " + ", ".join(sorted(allowed)))
    return value


def instant(obj: dict[str, Any], name: str) -> dt.datetime:
    """An ISO 8601 date and time with an explicit UTC offset, returned in UTC."""
    value = text(obj, name, max_len=40)
    assert value is not None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(name, "not an ISO 8601 date and time") from None
    if parsed.tzinfo is None:
        raise RecordError(name, "needs a UTC offset (e.g. +09:00)")
    _sane_year(name, parsed.year)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # unreachable within the sane years; kept so no offset can abort an import
        raise RecordError(name, f"year must be between {MIN_YEAR} and {MAX_YEAR}") from None


def day(obj: dict[str, Any], name: str, required: bool = True) -> dt.date | None:
    """An ISO 8601 date written as the schemas say, YYYY-MM-DD.

    Python 3.11's ``date.fromisoformat`` also reads "20260511" and week dates
    ("2026-W19-1"); a source sending those is sending something else than its
    schema says, so they are quarantined rather than guessed at.
    """
    value = text(obj, name, max_len=10, required=required)
    if value is None:
        return None
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise RecordError(name, "not an ISO 8601 date (YYYY-MM-DD)") from None
    _sane_year(name, parsed.year)
    return parsed


def _sane_year(name: str, year: int) -> None:
    """Refuse a year outside MIN_YEAR..MAX_YEAR (without quoting it)."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise RecordError(name, f"year must be between {MIN_YEAR} and {MAX_YEAR}")
