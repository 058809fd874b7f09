"""Staff e-mail notifications, read back from a real local SMTP server (aiosmtpd).

Each test plants canaries where a reporter writes (the report, a file name, a
message) and asserts that no mail carries them: a mail holds an event, a case
reference and a link, nothing else.
"""

from __future__ import annotations

import datetime as dt
import email
import io
import socket
import threading
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.models import Case, IdentityAccessRequest, Notification, Role, StaffUser, SupportRequest
from app.notifications import service as notifications
from app.notifications.models import NotificationEvent
from app.runtime import get_settings

CANARY_REPORT = "CANARY-REPORT-7f3e"
CANARY_FILE = "CANARY-FILE-19ab"
CANARY_REPLY = "CANARY-REPLY-c4d2"
CANARIES = (CANARY_REPORT, CANARY_FILE, CANARY_REPLY, "permits desk")


class Inbox:
    """An aiosmtpd handler keeping every message it accepts; ``refuse`` makes it answer 451 instead."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.refuse = False
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 Try again later"
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for rcpts, m in self.messages if address in rcpts]

    def all_text(self) -> str:
        return "\n".join(m.as_string() + m.get_payload(decode=True).decode() for _r, m in self.messages)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def test_settings(test_settings, smtp):
    controller, _inbox = smtp
    return test_settings.with_(
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_tls="none",
        mail_sender="haechi@city.example",
        mail_base_url="https://haechi.city.example",
        mail_max_attempts=2,
    )


@pytest.fixture
def inbox(smtp) -> Inbox:
    return smtp[1]


def set_email(app, member, address: str, locale: str = "en") -> None:
    """Give a member an address; they read English unless told otherwise (the tests assert on English)."""
    with app.app_context():
        db = get_session()
        user = db.get(StaffUser, member.id)
        user.email, user.locale = address, locale
        db.commit()


def send(app, today: str | None = None) -> str:
    args = ["notifications", "send"] + (["--today", today] if today else [])
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output


def tomorrow() -> str:
    """The Seoul date after today, for the digest run that tells of reporters' actions."""
    return (local_today(utcnow()) + dt.timedelta(days=1)).isoformat()


def body(message: Message) -> str:
    return message.get_payload(decode=True).decode()


def the_case(app) -> tuple[int, str]:
    with app.app_context():
        case = get_session().scalars(select(Case)).one()
        return case.id, case.public_ref


def submit_with_canaries(reporter) -> str:
    return reporter.submit_ok(
        files=[(io.BytesIO(b"evidence"), f"{CANARY_FILE}.pdf")],
        what=f"Cash was asked for at the permits desk. {CANARY_REPORT}",
    )


def test_a_new_report_mails_the_intake_team_its_reference_and_link_and_nothing_of_the_report(
    app, office, staff, reporter, inbox
):
    set_email(app, office["intake"], "intake1@city.example")
    set_email(app, office["protector"], "protector@city.example")
    submit_with_canaries(reporter)
    case_id, ref = the_case(app)

    # A reporter's action is only ever told in the next day's digest, so no mail dates it.
    assert "0 mail(s)" in send(app)
    assert "1 mail(s) for 1 notification(s)" in send(app, tomorrow())

    (mail,) = inbox.to("intake1@city.example")
    assert "daily summary" in mail["Subject"]
    assert ref in body(mail)
    assert f"https://haechi.city.example/staff/cases/{case_id}" in body(mail)
    assert mail["From"] == "haechi@city.example"
    assert inbox.to("protector@city.example") == []  # not in the intake team: never told the case exists
    text = inbox.all_text()
    for canary in CANARIES:
        assert canary not in text


def test_the_reporters_reply_is_mailed_to_whoever_works_the_case_without_its_words(app, office, staff, reporter, inbox):
    set_email(app, office["intake"], "intake1@city.example")
    receipt = submit_with_canaries(reporter)
    reporter.login(receipt)
    r = reporter.send(f"More details: {CANARY_REPLY}")
    assert r.status_code in (200, 303)
    assert "0 mail(s)" in send(app)  # not the same day, even for someone who chose "at once"
    send(app, tomorrow())

    (mail,) = inbox.to("intake1@city.example")
    assert "daily summary" in mail["Subject"]
    assert "replied" in body(mail)
    for canary in CANARIES:
        assert canary not in inbox.all_text()
    # Reporters get no mail: every recipient is a staff address.
    assert {r for rcpts, _m in inbox.messages for r in rcpts} == {"intake1@city.example"}
    with app.app_context():
        # The outbox keeps the day only, as for every reporter action.
        rows = get_session().scalars(select(Notification)).all()
        assert all(isinstance(row.created_on, dt.date) for row in rows)
        assert not hasattr(Notification, "created_at")


def test_the_daily_summary_waits_for_the_next_day_and_gathers_the_days_events(app, office, staff, reporter, inbox):
    set_email(app, office["intake"], "intake1@city.example")
    staff.login(office["intake"])
    page = staff.client.get("/staff/notifications/")
    assert page.status_code == 200 and "In the daily summary" in page.get_data(as_text=True)
    choices = {e.value: "digest" for e in NotificationEvent}
    r = staff.post("/staff/notifications/", choices, page="/staff/notifications/")
    assert r.status_code == 303

    submit_with_canaries(reporter)
    submit_with_canaries(reporter.__class__(app.test_client()).english())
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=9))).date()

    assert "0 mail(s)" in send(app, today.isoformat())
    assert inbox.messages == []
    send(app, (today + dt.timedelta(days=1)).isoformat())

    (digest,) = inbox.to("intake1@city.example")
    assert "daily summary" in digest["Subject"]
    with app.app_context():
        refs = get_session().scalars(select(Case.public_ref)).all()
    assert all(ref in body(digest) for ref in refs) and len(refs) == 2
    for canary in CANARIES:
        assert canary not in inbox.all_text()
    assert "0 mail(s)" in send(app, (today + dt.timedelta(days=2)).isoformat())  # sent once


def test_an_event_switched_off_is_not_even_queued(app, office, staff, reporter, inbox):
    set_email(app, office["intake"], "intake1@city.example")
    staff.login(office["intake"])
    choices = {e.value: "immediate" for e in NotificationEvent} | {"new_case": "off"}
    staff.post("/staff/notifications/", choices, page="/staff/notifications/")
    submit_with_canaries(reporter)
    with app.app_context():
        assert get_session().scalar(select(func.count(Notification.id))) == 0
    send(app)
    assert inbox.messages == []


def test_a_bad_choice_on_the_settings_page_is_refused_with_the_error_tied_to_its_field(app, office, staff):
    staff.login(office["intake"])
    r = staff.post("/staff/notifications/", {"new_case": "hourly"}, page="/staff/notifications/")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert 'aria-describedby="new_case-error"' in html and 'href="#new_case"' in html


def test_staff_without_an_address_and_mail_left_unconfigured_queue_nothing(app, office, staff, reporter, inbox):
    submit_with_canaries(reporter)  # intake1 has no address
    with app.app_context():
        db = get_session()
        assert db.scalar(select(func.count(Notification.id))) == 0
        case = db.scalars(select(Case)).one()
        off = get_settings().with_(smtp_host=None)
        assert notifications.reporter_replied(db, off, case, dt.date(2026, 3, 1)) == 0


def test_a_refused_delivery_is_retried_at_the_next_run_then_given_up(app, office, staff, reporter, inbox):
    set_email(app, office["intake"], "intake1@city.example")
    submit_with_canaries(reporter)
    inbox.refuse = True
    assert "1 to retry" in send(app, tomorrow())
    inbox.refuse = False
    assert "1 mail(s)" in send(app, tomorrow())
    assert len(inbox.to("intake1@city.example")) == 1

    # A second case, refused at both allowed attempts (mail_max_attempts=2), is given up and never sent.
    submit_with_canaries(reporter.__class__(app.test_client()).english())
    inbox.refuse = True
    send(app, tomorrow())
    assert "1 given up" in send(app, tomorrow())
    inbox.refuse = False
    assert "0 mail(s)" in send(app, tomorrow())
    assert len(inbox.to("intake1@city.example")) == 1


def test_support_above_the_threshold_mails_the_other_supervisors_and_never_the_decider(app, office, staff, inbox):
    boss = staff.create("boss", Role.SUPERVISOR, Role.LEGAL)
    other = staff.create("other", Role.SUPERVISOR)
    set_email(app, boss, "boss@city.example")
    set_email(app, other, "other@city.example")
    with app.app_context():
        db = get_session()
        case = Case(
            public_ref="HC-2026-SUP001",
            kind="report",
            source="web",
            status="investigating",
            received_on=dt.date(2026, 1, 5),
        )
        db.add(case)
        db.flush()
        settings = get_settings()
        req = SupportRequest(
            case_id=case.id,
            type="legal_counsel",
            status="approved",
            requested_on=dt.date(2026, 1, 6),
            amount_requested=settings.support_four_eyes_won + 1,
            amount_approved=settings.support_four_eyes_won + 1,
            decided_by=boss.id,
        )
        small = SupportRequest(
            case_id=case.id,
            type="relief_medical",
            status="approved",
            requested_on=dt.date(2026, 1, 6),
            amount_requested=10,
            amount_approved=10,
            decided_by=boss.id,
        )
        db.add_all([req, small])
        db.flush()
        assert notifications.support_decided(db, settings, req, dt.date(2026, 1, 7)) == 1
        db.commit()
    send(app)
    assert inbox.to("boss@city.example") == []
    (mail,) = inbox.to("other@city.example")
    assert "HC-2026-SUP001" in mail["Subject"] and "second approver" in mail["Subject"]


def test_an_identity_request_mails_the_supervisors_but_not_the_one_who_asked(app, office, staff, inbox):
    asker = staff.create("asker", Role.SUPERVISOR, Role.INVESTIGATOR)
    decider = staff.create("decider", Role.SUPERVISOR)
    set_email(app, asker, "asker@city.example")
    set_email(app, decider, "decider@city.example")
    with app.app_context():
        db = get_session()
        case = Case(
            public_ref="HC-2026-IDN001",
            kind="report",
            source="web",
            status="investigating",
            received_on=dt.date(2026, 1, 5),
        )
        db.add(case)
        db.flush()
        req = IdentityAccessRequest(
            case_id=case.id,
            requested_by=asker.id,
            reason_ct=b"sealed",
            status="requested",
            created_at=dt.datetime(2026, 1, 6, tzinfo=dt.UTC),
        )
        db.add(req)
        db.flush()
        assert notifications.identity_requested(db, get_settings(), req, dt.date(2026, 1, 6)) == 1
        db.commit()
    send(app)
    assert inbox.to("asker@city.example") == []
    assert len(inbox.to("decider@city.example")) == 1


def test_deadlines_remind_queues_overdue_once_a_day_for_the_team(app, office, staff, reporter, inbox):
    set_email(app, office["intake"], "intake1@city.example")
    submit_with_canaries(reporter)
    send(app)
    with app.app_context():
        due = get_session().scalars(select(Case)).one().ack_due_on
    late = (due + dt.timedelta(days=1)).isoformat()
    runner = app.test_cli_runner()
    for _ in range(2):  # run twice the same day: one notification
        assert runner.invoke(args=["deadlines", "remind", "--today", late]).exit_code == 0
    send(app, late)
    mails = inbox.to("intake1@city.example")
    assert len(mails) == 2 and "overdue" in mails[1]["Subject"]


def test_a_notification_is_dropped_when_its_reader_lost_the_case_before_it_went_out(
    app, office, staff, reporter, inbox
):
    set_email(app, office["intake"], "intake1@city.example")
    submit_with_canaries(reporter)
    with app.app_context():
        db = get_session()
        db.get(StaffUser, office["intake"].id).is_active = False
        db.commit()
    assert "1 dropped" in send(app, tomorrow())
    assert inbox.messages == []


def test_mail_follows_the_readers_language(app, office, staff, reporter, inbox):
    set_email(app, office["intake"], "intake1@city.example", locale="ko")
    submit_with_canaries(reporter)
    send(app, tomorrow())
    (mail,) = inbox.to("intake1@city.example")
    subject = str(email.header.make_header(email.header.decode_header(mail["Subject"])))
    assert subject.startswith("해치: ") and "일일 요약" in subject
    assert "팀 대기열의 새 사건" in body(mail) and "님, 안녕하세요" in body(mail)


def test_a_retaliation_alert_from_the_personnel_feed_mails_the_protection_team_only(app, office, staff, inbox):
    from app.models import PersonnelEvent, ProtectedPerson
    from app.protection.matching import match_event

    set_email(app, office["intake"], "intake1@city.example")
    set_email(app, office["protector"], "protector@city.example")
    with app.app_context():
        db = get_session()
        case = Case(
            public_ref="HC-2026-RET001",
            kind="report",
            source="web",
            status="investigating",
            received_on=dt.date(2026, 1, 5),
        )
        db.add(case)
        db.flush()
        index = b"\x01" * 32
        db.add(
            ProtectedPerson(
                case_id=case.id,
                blind_index=index,
                identity_ct=b"sealed",
                protected_from=dt.date(2026, 1, 5),
                protected_until=dt.date(2028, 1, 5),
            )
        )
        event = PersonnelEvent(blind_index=index, event_type="demotion", effective_on=dt.date(2026, 2, 1))
        db.add(event)
        db.flush()
        alerts = match_event(db, event, dt.datetime(2026, 2, 2, tzinfo=dt.UTC))
        assert len(alerts) == 1
        assert notifications.retaliation_alert(db, get_settings(), alerts[0], dt.date(2026, 2, 2)) == 1
        db.commit()
    send(app)
    (mail,) = inbox.to("protector@city.example")
    assert "HC-2026-RET001" in mail["Subject"] and "Retaliation alert" in mail["Subject"]
    assert inbox.to("intake1@city.example") == []
    assert "demotion" not in inbox.all_text()


def _import_alerts(app, tmp_path, name: str, *alerts: dict[str, object]):
    from app.runtime import get_secrets
    from monitoring_bridge.importer import import_file
    from tests.functional.test_bridge import jsonl

    with app.app_context():
        return import_file(
            get_session(),
            get_settings(),
            "cheongbaek",
            jsonl(tmp_path / name, list(alerts)),
            bridge_key=get_secrets().bridge_key,
        )


def _new_case_rows(app) -> list[tuple[int, int]]:
    with app.app_context():
        return sorted(
            get_session()
            .execute(
                select(Notification.case_id, Notification.user_id).where(
                    Notification.event == NotificationEvent.NEW_CASE.value
                )
            )
            .all()
        )


def test_each_case_the_bridge_opens_is_told_once_to_the_intake_team_and_a_joining_alert_tells_nobody(
    app, office, staff, inbox, tmp_path
):
    from tests.functional.test_bridge import alert

    r = app.test_cli_runner().invoke(args=["bridge", "source", "add", "cheongbaek", "--kind", "cheongbaek"])
    assert r.exit_code == 0, r.output
    set_email(app, office["intake"], "intake1@city.example")
    set_email(app, office["protector"], "protector@city.example")
    later = "2026-03-02T10:00:00+09:00"
    # Two alerts on one record correlate into one case; a third on another record opens a second.
    _import_alerts(
        app, tmp_path, "a.jsonl", alert(1, record_ref="V-1"), alert(2, record_ref="V-1", raised_at=later), alert(3)
    )
    with app.app_context():
        opened = sorted(get_session().scalars(select(Case.id).where(Case.kind == "alert")))
    assert len(opened) == 2
    intake = office["intake"].id
    assert _new_case_rows(app) == [(opened[0], intake), (opened[1], intake)]
    _import_alerts(app, tmp_path, "b.jsonl", alert(4, record_ref="V-1", raised_at=later))  # joins the first case
    assert len(_new_case_rows(app)) == 2

    assert "1 mail(s) for 2 notification(s)" in send(app)  # one mail per person and run, both cases in it
    (mail,) = inbox.to("intake1@city.example")
    assert not inbox.to("protector@city.example")
    with app.app_context():
        refs = list(get_session().scalars(select(Case.public_ref).where(Case.id.in_(opened))))
    assert all(ref in body(mail) for ref in refs)
    assert "Kim Official" not in inbox.all_text() and "V-1" not in inbox.all_text()


def test_with_mail_off_a_bridge_import_never_reaches_the_notification_service(
    app, office, tmp_path, monkeypatch, test_settings
):
    from tests.functional.test_bridge import alert

    off = test_settings.with_(smtp_host="")
    assert not off.mail_enabled
    monkeypatch.setattr(
        notifications, "new_case", lambda *a, **k: (_ for _ in ()).throw(AssertionError("called with mail off"))
    )
    r = app.test_cli_runner().invoke(args=["bridge", "source", "add", "cheongbaek", "--kind", "cheongbaek"])
    assert r.exit_code == 0, r.output
    from app.runtime import get_secrets
    from monitoring_bridge.importer import import_file
    from tests.functional.test_bridge import jsonl

    with app.app_context():
        summary = import_file(
            get_session(),
            off,
            "cheongbaek",
            jsonl(tmp_path / "a.jsonl", [alert(1)]),
            bridge_key=get_secrets().bridge_key,
        )
    assert summary.accepted == 1 and _new_case_rows(app) == []
