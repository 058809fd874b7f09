"""`flask protection checkins`: flag check-ins unanswered past their grace to the protection team (daily cron).

Prints references and dates only, never content or identity; each flag is
audited by the service. Idempotent: a check-in is flagged once.
"""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.models.cases import Case
from app.protection import checkins
from app.runtime import get_settings

protection_cli = AppGroup("protection", help="Retaliation monitoring of protected reporters.")


@protection_cli.command("checkins")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Pretend today is this date (Asia/Seoul); for checks.",
)
def flag_checkins(today: dt.datetime | None) -> None:
    """Flag every check-in unanswered past its grace period, and list them for the cron mail."""
    db, settings = get_session(), get_settings()
    day = today.date() if today else local_today(utcnow())
    missed = checkins.flag_missed(db, settings, day)
    db.commit()
    if not missed:
        click.echo(f"{day}: no check-in newly missed (grace {settings.checkin_grace_days} days)")
        return
    refs = dict(db.execute(select(Case.id, Case.public_ref).where(Case.id.in_({c.case_id for c in missed}))).all())
    click.echo(f"{day}: {len(missed)} check-in(s) missed, flagged to the protection team:")
    for check_in in missed:
        click.echo(f"  {refs[check_in.case_id]}  due {check_in.due_on}")
