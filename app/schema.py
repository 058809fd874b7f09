"""Run the Alembic migrations in-process: for ``flask db upgrade``, ``make run`` and the test fixtures.

Alembic is the single source of schema changes (DESIGN.md section 3); nothing
outside tests calls ``Base.metadata.create_all``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from app.db import make_engine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(connection: Connection | None = None) -> Config:
    """The repository's Alembic configuration, found by absolute path whatever the working directory."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["configure_logger"] = False
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url_or_connection: str | Connection, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the newest)."""
    _run(url_or_connection, lambda cfg: command.upgrade(cfg, revision))


def downgrade(url_or_connection: str | Connection, revision: str = "base") -> None:
    """Migrate the database down to ``revision`` (default: empty)."""
    _run(url_or_connection, lambda cfg: command.downgrade(cfg, revision))


def current(url_or_connection: str | Connection) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    if isinstance(url_or_connection, Connection):
        return MigrationContext.configure(url_or_connection).get_current_revision()
    engine = make_engine(url_or_connection)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _run(url_or_connection: str | Connection, action: Callable[[Config], None]) -> None:
    if isinstance(url_or_connection, Connection):
        # The caller owns the connection and its transaction.
        action(alembic_config(url_or_connection))
        return
    engine = make_engine(url_or_connection)
    try:
        with engine.begin() as conn:
            action(alembic_config(conn))
    finally:
        engine.dispose()
