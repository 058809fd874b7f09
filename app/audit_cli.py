"""`flask audit verify` (prove the chain is whole; for cron and auditors) and `flask audit checkpoint`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app import audit
from app.db import get_session
from app.runtime import get_secrets
from crypto.signing import signing_key_from_private

audit_cli = AppGroup("audit", help="The hash-chained audit log.")


@audit_cli.command("verify")
def verify() -> None:
    """Walk the whole chain; exit 1 naming the first broken row, 0 when it is intact."""
    public = signing_key_from_private(get_secrets().audit_signing_key).public
    result = audit.verify(get_session(), public)
    if not result.ok:
        click.echo(f"audit chain BROKEN at row {result.broken_id}: {result.reason}", err=True)
        raise SystemExit(1)
    click.echo(f"audit chain intact: {result.rows} rows, {result.checkpoints} checkpoints")
    if result.unsigned_tail:
        click.echo(f"{result.unsigned_tail} row(s) after the newest checkpoint (run `flask audit checkpoint`)")


@audit_cli.command("checkpoint")
def checkpoint() -> None:
    """Sign the chain's newest row now with the instance key."""
    db = get_session()
    cp = audit.checkpoint(db, get_secrets().audit_signing_key)
    db.commit()
    if cp is None:
        click.echo("the audit log is empty; nothing to sign")
    else:
        click.echo(f"checkpoint signed at row {cp.event_id}")
