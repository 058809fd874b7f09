"""`flask retention purge [--dry-run]` and `flask retention remind` (run daily from cron)."""

from __future__ import annotations

from collections import defaultdict

import click
from flask.cli import AppGroup

from app.cases import retention
from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.runtime import get_blobs, get_settings

retention_cli = AppGroup("retention", help="Purging closed cases when their retention ends.")


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="List what would be purged today; change nothing.")
def purge(dry_run: bool) -> None:
    """Crypto-shred every closed case whose retention has ended (one transaction per case)."""
    db = get_session()
    now = utcnow()
    today = local_today(now)
    due = retention.due_for_purge(db, today)
    purged = held = 0
    for case in due:
        protected = retention.protection_until(db, case)
        if protected is not None and protected >= today:
            held += 1
            click.echo(f"held   {case.public_ref} ({case.kind}): reporter protected until {protected.isoformat()}")
            continue
        if dry_run:
            click.echo(f"would purge {case.public_ref} ({case.kind}, retention ended {case.retention_until})")
            continue
        ref = case.public_ref
        try:
            counts = retention.purge_case(db, get_blobs(), case, now)
        except retention.RetentionError as exc:
            db.rollback()
            held += 1
            click.echo(f"held   {ref}: {type(exc).__name__}")
            continue
        except Exception:
            db.rollback()
            raise
        db.commit()
        purged += 1
        click.echo(f"purged {ref} ({case.kind}): {counts.summary()}")
    if dry_run:
        db.rollback()
        click.echo(f"dry run: {len(due) - held} case(s) would be purged, {held} held; nothing changed")
    else:
        click.echo(f"{purged} case(s) purged, {held} held")


@retention_cli.command("remind")
def remind() -> None:
    """List, per team, the cases purged within the reminder window; each case is reminded once."""
    db = get_session()
    settings = get_settings()
    today = local_today(utcnow())
    due = retention.due_for_reminder(db, today, settings)
    by_team: dict[str, list[str]] = defaultdict(list)
    for case in due:
        line = f"{case.public_ref} ({case.kind}) purged on {case.retention_until}"
        for team in retention.teams_of(db, case) or ["(no team)"]:
            by_team[team].append(line)
        retention.mark_reminded(db, case, today)
    db.commit()
    for team in sorted(by_team):
        click.echo(f"{team}:")
        for line in by_team[team]:
            click.echo(f"  {line}")
    click.echo(f"{len(due)} case(s) reminded")
