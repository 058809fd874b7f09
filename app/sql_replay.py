"""Send a hot read-only statement again exactly as SQLAlchemy last sent it, straight to the driver.

Why: the queue page runs one prebuilt SELECT per request. SQLAlchemy's work
around each execution of an already compiled statement (the compiled-cache
lookup, rendering the ``literal_execute`` integers into the text, processing
the parameters, building a ``Row`` per row) measured 430 µs on SQLite for a
statement the database answers in 200 µs, and the team-id lookup before it
100 µs for 7 µs of database work (issue 5's ``queue.page_100k``).

How a replay stays exact: an entry is keyed by the dialect, the statement
object and every parameter value, and holds the SQL text and the DBAPI
parameters SQLAlchemy itself produced for exactly that key, taken from the
execution context of its first run (a miss runs through SQLAlchemy as
usual). A hit sends the same text and values to the same driver, on the
session's own connection and so in its transaction. Only the SQL is kept:
every call runs the statement and reads the database anew.

What a hit skips, by design: engine events (``before_cursor_execute``) and
SQLAlchemy's result processing. Rows come as the driver gives them (SQLite
returns dates as ISO text and booleans as 0 or 1), so callers read replayed
rows through converters that accept either form. Only for SELECTs.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Executable

from app.lru import LruCache


def _frozen(value: object) -> Hashable:
    """A parameter value as part of a cache key, with its type (lists, as of an expanding ``IN``, item by item).

    ``1``, ``True`` and ``1.0`` are equal in Python but not the same SQL.
    """
    if isinstance(value, list | tuple):
        return (type(value), tuple(_frozen(item) for item in value))
    return (type(value), value)


class StatementReplay:
    """A bounded, thread-safe cache of (SQL text, DBAPI parameters) by (dialect, statement, values)."""

    def __init__(self, maxsize: int = 2048) -> None:
        self._entries: LruCache[Hashable, tuple[str, Any]] = LruCache(maxsize)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry (tests and benchmarks that watch SQLAlchemy's own executions)."""
        self._entries.clear()

    def rows(self, conn: Connection, statement: Executable, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Every row of ``statement`` run with ``params`` on ``conn``, as tuples in select order."""
        # In the caller's order: a call site builds its parameters in one order every time.
        key = (conn.dialect, statement, tuple([(name, _frozen(v)) for name, v in params.items()]))
        entry = self._entries.get(key)
        if entry is not None:
            sql, dbapi_params = entry
            cursor = conn.connection.cursor()
            try:
                cursor.execute(sql, dbapi_params)
                return cursor.fetchall()
            finally:
                cursor.close()
        result = conn.execute(statement, params)
        context = result.context
        # One parameter set, as sent: a tuple for positional drivers (sqlite3), a mapping for psycopg.
        sent = context.parameters[0]
        frozen_params = dict(sent) if isinstance(sent, Mapping) else tuple(sent)
        rows = result.all()
        self._entries.put(key, (context.statement, frozen_params))
        return rows
