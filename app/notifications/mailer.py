"""Delivering the outbox: one mail per person per run, immediate rows now, digest rows the next day.

What a mail holds is decided here and nowhere else: the kind of event, the
case's public reference and a link to the case page. Never content, never
anything about a reporter, never the time of the event. Threat: mail passes
through servers and mailboxes outside the office's control; a reference is
useless without a staff login and the grants behind it.

Delivery happens outside any request (``flask notifications send``, from
cron). A row is marked sent only after the SMTP server accepted the mail and
committed at once, one person at a time, so a failure later in the run
neither loses nor repeats what already went. A refused or failed delivery is
retried at the next run, up to ``Settings.mail_max_attempts`` runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import urlsplit

from flask import Flask
from flask_babel import force_locale
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models.cases import Case
from app.models.staff import StaffUser
from app.notifications.models import Delivery, Notification, NotificationEvent, OutboxStatus
from app.notifications.service import may_hear
from app.web.i18n import gettext as _
from config import Settings

log = logging.getLogger(__name__)
# Beyond this many references a mail says "and N more": a run after a large import must stay readable.
MAX_LINES = 50


class Transport(Protocol):
    """Something that hands a message to a mail server (an SMTP connection; a fake in unit tests)."""

    def send(self, message: EmailMessage) -> None: ...


class SmtpTransport:
    """One SMTP connection per sender run, opened lazily, with STARTTLS or TLS as configured."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._conn: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        assert s.smtp_host is not None
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if s.smtp_tls == "ssl":
            conn = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=30, context=context)
        else:
            conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30)
            if s.smtp_tls == "starttls":
                conn.starttls(context=context)
        if s.smtp_username and s.smtp_password:
            conn.login(s.smtp_username, s.smtp_password)
        return conn

    def send(self, message: EmailMessage) -> None:
        """Send one message; a broken connection is dropped so the next message opens a fresh one."""
        try:
            if self._conn is None:
                self._conn = self._open()
            self._conn.send_message(message)
        except (smtplib.SMTPException, OSError):
            self.close()
            raise

    def close(self) -> None:
        """Say goodbye to the server, if still connected."""
        if self._conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._conn.quit()
            self._conn = None


@dataclass(frozen=True)
class Line:
    """One line of a mail: what happened, to which case (by reference), and where to look."""

    event: NotificationEvent
    case_ref: str
    link: str


@dataclass
class RunReport:
    """What one sender run did, for the command's output and the tests."""

    mails_sent: int = 0
    rows_sent: int = 0
    rows_failed_now: int = 0
    rows_given_up: int = 0
    rows_dropped: int = 0


def event_label(event: NotificationEvent) -> str:
    """The event in the reader's language (call inside ``force_locale``)."""
    labels = {
        NotificationEvent.NEW_CASE: _("New case in your team's queue"),
        NotificationEvent.DEADLINE_DUE_SOON: _("Deadline due soon"),
        NotificationEvent.DEADLINE_OVERDUE: _("Deadline passed (overdue)"),
        NotificationEvent.REPORTER_REPLIED: _("The reporter replied"),
        NotificationEvent.SUPPORT_AWAITING_APPROVAL: _("Support approval awaits a second approver"),
        NotificationEvent.RETALIATION_ALERT: _("Retaliation alert"),
        NotificationEvent.IDENTITY_REQUEST: _("Request to see a reporter's identity"),
    }
    return str(labels[event])


def case_link(settings: Settings, app: Flask, case_id: int) -> str:
    """The absolute address of a case's staff page, built from ``mail_base_url`` (no request needed)."""
    parts = urlsplit(settings.mail_base_url)
    adapter = app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https")
    return adapter.build("staff_cases.case_detail", {"case_id": case_id}, force_external=True)


def compose(settings: Settings, user: StaffUser, lines: Sequence[Line], *, digest: bool, day: dt.date) -> EmailMessage:
    """The mail to one person: a subject, one line per reference and link, nothing else about the case."""
    with force_locale(user.locale or "ko"):
        if digest:
            subject = _("Haechi: daily summary for %(day)s", day=day.isoformat())
        elif len(lines) == 1:
            subject = _("Haechi: %(what)s (%(ref)s)", what=event_label(lines[0].event), ref=lines[0].case_ref)
        else:
            subject = _("Haechi: %(n)d notifications", n=len(lines))
        body = [_("Hello %(name)s,", name=user.display_name), ""]
        body.append(_("Summary of yesterday and before:") if digest else _("New in Haechi:"))
        body.append("")
        for line in lines[:MAX_LINES]:
            body.append(f"- {event_label(line.event)}: {line.case_ref}")
            body.append(f"  {line.link}")
        if len(lines) > MAX_LINES:
            body.append(_("… and %(n)d more: see your queues.", n=len(lines) - MAX_LINES))
        body += [
            "",
            _("Open the links after signing in. This mail never contains case content."),
            _("Choose what you receive under Notification settings in Haechi."),
        ]
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.mail_sender
    msg["To"] = user.email or ""
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.mail_sender.rpartition("@")[2] or "haechi")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("\n".join(body) + "\n")
    return msg


def deliver(
    db: Session,
    settings: Settings,
    app: Flask,
    transport: Transport,
    today: dt.date,
    on_progress: Callable[[str], None] | None = None,
) -> RunReport:
    """Send every pending immediate row, and every pending digest row from before ``today``."""
    report = RunReport()
    due = db.scalars(
        select(Notification)
        .where(
            Notification.status == OutboxStatus.PENDING.value,
            or_(
                Notification.delivery == Delivery.IMMEDIATE.value,
                Notification.created_on < today,
            ),
        )
        .order_by(Notification.user_id, Notification.delivery, Notification.created_on, Notification.id)
    ).all()
    batches: dict[tuple[int, str], list[Notification]] = defaultdict(list)
    for row in due:
        batches[(row.user_id, row.delivery)].append(row)
    for (user_id, delivery), rows in batches.items():
        user = db.get(StaffUser, user_id)
        keep: list[tuple[Notification, Line]] = []
        for row in rows:
            case = db.get(Case, row.case_id)
            reachable = user is not None and user.is_active and bool(user.email)
            if not reachable or case is None or not may_hear(db, NotificationEvent(row.event), row.user_id, case):
                row.status = OutboxStatus.DROPPED.value
                report.rows_dropped += 1
                continue
            keep.append((row, Line(NotificationEvent(row.event), case.public_ref, case_link(settings, app, case.id))))
        if not keep or user is None:
            db.commit()
            continue
        try:
            # Composed inside the try: an address the mail library refuses (a line break) fails
            # this person's mail only, never the rest of the run.
            message = compose(
                settings, user, [line for _row, line in keep], digest=delivery == Delivery.DIGEST, day=today
            )
            transport.send(message)
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            # The reason is the server's, never the mail's content; logged by class name and user id only.
            log.warning("notification mail to user %s failed: %s", user_id, type(exc).__name__)
            for row, _line in keep:
                row.attempts += 1
                if row.attempts >= settings.mail_max_attempts:
                    row.status = OutboxStatus.FAILED.value
                    report.rows_given_up += 1
                else:
                    report.rows_failed_now += 1
            db.commit()
            continue
        for row, _line in keep:
            row.attempts += 1
            row.status = OutboxStatus.SENT.value
            row.sent_on = today
        db.commit()
        report.mails_sent += 1
        report.rows_sent += len(keep)
        if on_progress is not None:
            on_progress(f"user {user_id}: {len(keep)} notification(s)")
    return report
