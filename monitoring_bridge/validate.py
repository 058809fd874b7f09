"""Field validators shared by adapters: each raises RecordError(field, reason) without quoting the value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from monitoring_bridge.errors import RecordError

MISSING = "missing"


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
    return value


def integer(
    obj: dict[str, Any], name: str, lo: int | None = None, hi: int | None = None, required: bool = True
) -> int | None:
    """A whole number (JSON integer, or digits in a CSV cell) within bounds."""
    value = obj.get(name)
    if value is None:
        if required:
            raise RecordError(name, MISSING)
        return None
    if isinstance(value, bool):
        raise RecordError(name, "must be a whole number")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise RecordError(name, "must be a whole number")
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
    return parsed.astimezone(dt.UTC)


def day(obj: dict[str, Any], name: str, required: bool = True) -> dt.date | None:
    """An ISO 8601 date (YYYY-MM-DD)."""
    value = text(obj, name, max_len=10, required=required)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RecordError(name, "not an ISO 8601 date (YYYY-MM-DD)") from None
