"""The app's ``int`` URL converter: a row id, from 1 to 2**31 - 1.

Why: Werkzeug's ``int`` takes any number of digits, and an id past what the
database holds reached the driver (``OverflowError`` on SQLite, "integer out of
range" on PostgreSQL, whose ``id`` columns are 32-bit) as a 500. Every ``int``
in a Haechi URL is a row id, so the bound is set once here, and such a URL is
a plain 404 like any id that names no row.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map

MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """``<int:…>`` bounded to the ids a 32-bit INTEGER column can hold (a route may narrow it further)."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = 1,
        max: int | None = MAX_ROW_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
