"""Check-ins: protected reporters are asked through their inbox whether they suffered adverse treatment.

Schedule (configurable, :class:`config.Settings`): ``checkin_days`` after the
report (default 30, 90 and 180 days), then every ``checkin_every_months``
(default six) counted from the last of those, while the person is protected
(due days up to and including the end of protection). A check-in opens in
the inbox on its due day; one still unanswered ``checkin_grace_days`` after
it (default 14) is flagged to the protection team the next day by
``flask protection checkins`` (cron, daily): due on the 1st with 14 days'
grace, it is on time through the 15th and flagged from the 16th.

Answers are a reporter action: the day only (``answered_on``), no time. The
structured answer (all well / a concern / retaliation) is plaintext so the
dashboard can count it; which kinds of treatment were ticked and what the
reporter wrote are encrypted under a fresh key sealed only to the protection
team and recovery (:mod:`app.protection.answer_keys`): the answer may name a
colleague on the case, so holding the case key does not open it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.cases.deadlines import add_months
from app.models.audit import ActorKind
from app.models.cases import Case
from app.models.protection import CheckIn, CheckInAnswer, ProtectedPerson
from app.models.staff import StaffUser
from app.protection import answer_keys
from app.protection.errors import InvalidInput
from app.protection.matching import ADVERSE_EVENTS
from app.reporting.errors import NotReady
from app.web.i18n import lazy_gettext as _l
from config import Settings, checkin_days
from crypto import FieldCipher

MAX_TEXT = 20_000
TREATMENT_KINDS = (*sorted(ADVERSE_EVENTS), "harassment", "other")


def text_purpose(checkin_id: int) -> str:
    """Field-cipher purpose of a check-in's answer details, bound to the check-in."""
    return f"checkin.answer:{checkin_id}"


def schedule(settings: Settings, reported_on: dt.date, until: dt.date) -> list[dt.date]:
    """The due days of a protected reporter's check-ins, from the report to the end of protection.

    The recurring ones are counted from the last fixed one by whole months
    (never month after month, so 31 August does not drift to the 28th).
    """
    fixed = [reported_on + dt.timedelta(days=d) for d in checkin_days(settings.checkin_days)]
    days = [d for d in fixed if d <= until]
    base, step = fixed[-1], 1
    while True:
        due = add_months(base, settings.checkin_every_months * step)
        if due > until:
            return days
        days.append(due)
        step += 1


def schedule_for(db: Session, settings: Settings, person: ProtectedPerson, reported_on: dt.date) -> list[CheckIn]:
    """Create the check-ins of a person's period that do not exist yet (idempotent; after an extension, more)."""
    existing = set(db.scalars(select(CheckIn.due_on).where(CheckIn.case_id == person.case_id)))
    added = []
    for due in schedule(settings, reported_on, person.protected_until):
        if due not in existing:
            check_in = CheckIn(case_id=person.case_id, protected_person_id=person.id, due_on=due)
            db.add(check_in)
            added.append(check_in)
    db.flush()
    return added


def open_for_reporter(db: Session, case: Case, today: dt.date) -> list[CheckIn]:
    """Check-ins the reporter should answer now: due today or before, not answered (missed ones too)."""
    return list(
        db.scalars(
            select(CheckIn)
            .where(CheckIn.case_id == case.id, CheckIn.due_on <= today, CheckIn.answered_on.is_(None))
            .order_by(CheckIn.due_on)
        )
    )


@dataclass(frozen=True)
class Answer:
    """A reporter's answer to a check-in, as the form gives it."""

    answer: str
    kinds: tuple[str, ...] = ()
    text: str = ""


def answer(db: Session, case: Case, check_in_id: int, given: Answer, today: dt.date) -> CheckIn:
    """Record the reporter's answer (the day only); ticked kinds and text go under a key for custodians only.

    The reporter needs no key of theirs to answer: the details are sealed to
    the protection team's public key, which anyone may seal to. Raises
    :class:`~app.reporting.errors.NotReady` if there is no protection team
    to seal to (nothing is recorded then, so the reporter can try again).
    """
    check_in = db.get(CheckIn, check_in_id)
    if check_in is None or check_in.case_id != case.id or check_in.due_on > today:
        raise InvalidInput(_l("there is no such check-in to answer"))
    if check_in.answered_on is not None:
        raise InvalidInput(_l("this check-in was answered already"))
    if given.answer not in {a.value for a in CheckInAnswer}:
        raise InvalidInput(_l("choose one of the answers"))
    if any(k not in TREATMENT_KINDS for k in given.kinds) or len(given.text) > MAX_TEXT:
        raise InvalidInput(_l("the answer's details are not valid"))
    if given.answer != CheckInAnswer.ALL_WELL.value and not (given.kinds or given.text.strip()):
        raise InvalidInput(_l("say what happened: tick what applies or write a few words"))
    check_in.answer = given.answer
    check_in.answered_on = today
    details = {"kinds": sorted(set(given.kinds)), "text": given.text.strip()}
    if details["kinds"] or details["text"]:
        try:
            key = answer_keys.new_sealed_key(db, case, check_in)
        except answer_keys.NoProtectionTeam as exc:
            raise NotReady(str(exc)) from None
        check_in.free_text_ct = FieldCipher(key, str(case.id)).encrypt(
            text_purpose(check_in.id), json.dumps(details, ensure_ascii=False).encode()
        )
        del key
    db.flush()
    record(
        db,
        "protection.checkin_answered",
        actor_kind=ActorKind.REPORTER,
        case_id=case.id,
        target=f"checkin:{check_in.id}",
    )
    return check_in


@dataclass(frozen=True)
class Details:
    """What a reporter ticked and wrote in one check-in answer, as a custodian reads it."""

    kinds: tuple[str, ...]
    text: str


def read_answers(
    db: Session, check_ins: list[CheckIn], user: StaffUser, user_private: bytes, now: dt.datetime
) -> dict[int, Details]:
    """The details of the answered check-ins this custodian can open, by check-in id; each opening audited.

    Check-ins without details, and those the user cannot open (not a
    custodian of the team the key is sealed to, excluded from the case, or
    sealed before an unfinished re-key), are simply absent: the page shows
    the plaintext answer and says the details are for the protection team.
    """
    opened: dict[int, Details] = {}
    for check_in in check_ins:
        if check_in.free_text_ct is None:
            continue
        key = answer_keys.open_as_custodian(db, check_in, user, user_private)
        if key is None:
            continue
        loaded = json.loads(
            FieldCipher(key, str(check_in.case_id)).decrypt(text_purpose(check_in.id), check_in.free_text_ct)
        )
        opened[check_in.id] = Details(tuple(str(k) for k in loaded.get("kinds", [])), str(loaded.get("text", "")))
        record(
            db,
            "protection.checkin_viewed",
            actor_user_id=user.id,
            case_id=check_in.case_id,
            target=f"checkin:{check_in.id}",
            now=now,
        )
    return opened


def missed_cutoff(settings: Settings, today: dt.date) -> dt.date:
    """Check-ins due before this day and still unanswered are missed today."""
    return today - dt.timedelta(days=settings.checkin_grace_days)


def flag_missed(db: Session, settings: Settings, today: dt.date) -> list[CheckIn]:
    """Flag to the protection team every check-in unanswered past its grace (idempotent; for the daily cron)."""
    missed = list(
        db.scalars(
            select(CheckIn)
            .where(
                CheckIn.answered_on.is_(None),
                CheckIn.flagged_missed.is_(False),
                CheckIn.due_on < missed_cutoff(settings, today),
            )
            .order_by(CheckIn.due_on, CheckIn.id)
        )
    )
    for check_in in missed:
        check_in.flagged_missed = True
        check_in.flagged_on = today
        record(
            db,
            "protection.checkin_missed",
            actor_kind=ActorKind.SYSTEM,
            case_id=check_in.case_id,
            target=f"checkin:{check_in.id}",
        )
    db.flush()
    return missed
