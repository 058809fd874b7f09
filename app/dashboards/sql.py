"""Two date expressions the dashboards need, written once for SQLite and once for PostgreSQL.

Deadlines are Seoul days (DESIGN.md section 6) while staff actions are stored
as UTC instants; comparing them in SQL needs the Seoul day of an instant and
"a date plus N days". Korea has kept UTC+9 without daylight saving since
1988, so on SQLite a fixed +9 hours is exact; PostgreSQL uses the zone itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


class seoul_date(FunctionElement[Any]):
    """The Asia/Seoul calendar day of a UTC timestamp column."""

    type = Date()
    inherit_cache = True
    name = "seoul_date"


@compiles(seoul_date, "sqlite")
def _seoul_date_sqlite(element: seoul_date, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+9 hours')"


@compiles(seoul_date, "postgresql")
def _seoul_date_pg(element: seoul_date, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'Asia/Seoul' AS DATE)"


class plus_days(FunctionElement[Any]):
    """A date column plus a whole number of days (a bound integer)."""

    type = Date()
    inherit_cache = True
    name = "plus_days"


@compiles(plus_days, "sqlite")
def _plus_days_sqlite(element: plus_days, compiler: Any, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, '+' || CAST({compiler.process(days, **kw)} AS TEXT) || ' days')"


@compiles(plus_days, "postgresql")
def _plus_days_pg(element: plus_days, compiler: Any, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"(CAST({compiler.process(day, **kw)} AS DATE) + CAST({compiler.process(days, **kw)} AS INTEGER))"


def as_int(value: ColumnElement[Any]) -> ColumnElement[int]:
    """An aggregate as an integer on both backends (PostgreSQL's SUM of integers is NUMERIC)."""
    from sqlalchemy import cast

    return cast(value, Integer)
