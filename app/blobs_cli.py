"""`flask blobs sweep`: remove ciphertext parts left by uploads a crash cut off (run from cron)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.runtime import get_blobs

blobs_cli = AppGroup("blobs", help="The encrypted blob store.")


@blobs_cli.command("sweep")
@click.option("--older-than-hours", default=1, show_default=True, type=click.IntRange(min=0))
def sweep(older_than_hours: int) -> None:
    """Delete unfinished uploads older than the given age."""
    store = get_blobs()
    sweeper = getattr(store, "sweep", None)
    if sweeper is None:
        raise click.ClickException("this blob store does not keep partial uploads")
    click.echo(f"{sweeper(older_than_hours * 3600)} unfinished upload(s) removed")
