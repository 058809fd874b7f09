"""`flask notifications send`: deliver the outbox (run from cron, e.g. every 10 minutes).

Immediate notifications go at each run; a day's digest notifications go at
the first run of the next day (Asia/Seoul), so a daily digest needs no
separate schedule. Prints counts only, never references.
"""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import AppGroup

from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.notifications.mailer import SmtpTransport, deliver
from app.runtime import get_settings

notifications_cli = AppGroup("notifications", help="Staff e-mail notifications.")


@notifications_cli.command("send")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Pretend today is this date (Asia/Seoul); for checks.",
)
def send(today: dt.datetime | None) -> None:
    """Deliver pending notifications and due digests; failed deliveries are retried at the next run."""
    settings = get_settings()
    if not settings.mail_enabled:
        click.echo("mail is off (HAECHI_SMTP_HOST is not set): nothing sent")
        return
    day = today.date() if today else local_today(utcnow())
    transport = SmtpTransport(settings)
    try:
        report = deliver(get_session(), settings, current_app, transport, day)
    finally:
        transport.close()
    click.echo(
        f"{day}: {report.mails_sent} mail(s) for {report.rows_sent} notification(s); "
        f"{report.rows_failed_now} to retry, {report.rows_given_up} given up, {report.rows_dropped} dropped"
    )
