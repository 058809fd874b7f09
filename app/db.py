"""Database plumbing: the declarative base, shared column types, engine and session.

One session per request, opened lazily on ``g`` and closed on teardown
(Flask tutorial's db.py); services own transactions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar

from flask import Flask, current_app, g
from sqlalchemy import BigInteger, DateTime, LargeBinary, MetaData, String, event, types
from sqlalchemy.engine import Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(types.TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use datetime.now(UTC)")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# Shared annotated column types (SQLAlchemy 2 style).
intpk = Annotated[int, mapped_column(primary_key=True)]
bigint = Annotated[int, mapped_column(BigInteger)]
won = Annotated[int, mapped_column(BigInteger)]  # money: whole won, never floats
ciphertext = Annotated[bytes, mapped_column(LargeBinary)]  # columns named *_ct
str40 = Annotated[str, mapped_column(String(40))]
str100 = Annotated[str, mapped_column(String(100))]
str200 = Annotated[str, mapped_column(String(200))]
timestamp = Annotated[dt.datetime, mapped_column(UTCDateTime)]


class Base(DeclarativeBase):
    """Declarative base of every model, with a naming convention for constraints."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime, bytes: LargeBinary}


def one_of(column: str, values: Iterable[str]) -> str:
    """SQL of a CHECK that ``column`` holds one of ``values``, so a typo never reaches the database.

    NULL passes (SQL's ``IN`` yields NULL), so nullable columns need nothing more.
    """
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC (the only kind of datetime we store)."""
    return dt.datetime.now(dt.UTC)


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def init_app(app: Flask, engine: Engine) -> None:
    """Bind the engine to the app and close the request's session on teardown."""
    app.extensions["haechi.engine"] = engine
    app.extensions["haechi.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            try:
                session.close()
            except DBAPIError:
                # The connection died under the request (database restarted, backend
                # terminated): its ROLLBACK fails too. Drop the connection from the pool
                # instead of letting the error escape past Flask's error page.
                session.invalidate()


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["haechi.sessionmaker"]()
    session: Session = g.db_session
    return session


def get_engine() -> Engine:
    """The app's engine (CLI commands, health check)."""
    engine: Engine = current_app.extensions["haechi.engine"]
    return engine
