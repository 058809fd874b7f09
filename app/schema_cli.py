"""`flask db upgrade|downgrade|current`: the schema through Alembic only."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app import schema
from app.runtime import get_settings

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the configured database up to REVISION (default: head)."""
    url = get_settings().database_url
    schema.upgrade(url, revision)
    click.echo(f"database at {schema.current(url)}")


@db_cli.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Migrate the configured database down to REVISION ('base' empties it)."""
    url = get_settings().database_url
    schema.downgrade(url, revision)
    click.echo(f"database at {schema.current(url)}")


@db_cli.command("current")
def current() -> None:
    """Print the revision the database is at."""
    click.echo(schema.current(get_settings().database_url) or "not migrated")
