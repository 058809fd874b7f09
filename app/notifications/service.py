"""Who is told of what: preferences, recipients, and the hooks the other services call.

Every hook takes the event's session, the settings and the day, and adds
outbox rows in the caller's transaction (see :mod:`app.notifications.models`);
none sends anything. A hook queues nothing while mail is off
(``Settings.mail_enabled``), for a person without an e-mail address, for a
disabled account, or for an event that person has switched off.

Recipients are only people who may already know the case exists: members who
hold a team's key for a case sealed to that team (never a member left out for
a conflict of interest), people assigned by name, and, for decisions only
they can take, supervisors. Threat: a notification telling someone a case
exists whom the grants would keep out of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.models.cases import Case, CaseAssignment, CaseExcludedMember, CaseKeyGrant, IdentityAccessRequest
from app.models.protection import RetaliationAlert
from app.models.staff import Role, StaffRole, StaffUser, Team, TeamKind, TeamMembership
from app.models.support import SupportRequest
from app.notifications.models import Delivery, Notification, NotificationEvent, NotificationPreference, OutboxStatus
from config import Settings

DEFAULT_DELIVERY = Delivery.IMMEDIATE


class NotificationError(Exception):
    """A notification choice was not understood."""


# --- preferences -----------------------------------------------------------------------------------


def preferences(db: Session, user_id: int) -> dict[NotificationEvent, Delivery]:
    """Each event's delivery for this person, defaults filled in (every event, immediately)."""
    chosen = dict(
        db.execute(
            select(NotificationPreference.event, NotificationPreference.delivery).where(
                NotificationPreference.user_id == user_id
            )
        ).all()
    )
    return {e: Delivery(chosen.get(e.value, DEFAULT_DELIVERY.value)) for e in NotificationEvent}


def set_preferences(db: Session, user: StaffUser, choices: Mapping[str, str], now: dt.datetime) -> None:
    """Store a person's choice for every event (an event left out keeps its current choice)."""
    parsed: dict[NotificationEvent, Delivery] = {}
    for raw_event, raw_delivery in choices.items():
        try:
            parsed[NotificationEvent(raw_event)] = Delivery(raw_delivery)
        except ValueError:
            raise NotificationError(f"unknown notification choice {raw_event}={raw_delivery}") from None
    existing = {
        p.event: p for p in db.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    }
    for event, delivery in parsed.items():
        row = existing.get(event.value)
        if row is None:
            db.add(NotificationPreference(user_id=user.id, event=event.value, delivery=delivery.value))
        else:
            row.delivery = delivery.value
    db.flush()
    record(db, "notifications.preferences_set", actor_user_id=user.id, target=f"user:{user.id}", now=now)


# --- queueing --------------------------------------------------------------------------------------


def queue(
    db: Session,
    settings: Settings,
    event: NotificationEvent,
    case_id: int,
    user_ids: Iterable[int],
    today: dt.date,
    *,
    reporter_action: bool = False,
) -> int:
    """Add an outbox row for each of ``user_ids`` who wants ``event``; returns how many were queued.

    At most one row per person, event, case and day: a reminder run twice, or
    two replies on the same day, make one mail.

    ``reporter_action``: the event is something a reporter just did (a report,
    a reply). Such rows only ever go in the next day's digest, whatever the
    person chose: a mail sent at the next cron run would carry, in its Date
    header and in every mail server's log, the time of the reporter's action
    to within the cron interval, which DESIGN.md section 5 keeps to the day.
    """
    if not settings.mail_enabled:
        return 0
    ids = sorted(set(user_ids))
    if not ids:
        return 0
    users = db.execute(select(StaffUser.id, StaffUser.email, StaffUser.is_active).where(StaffUser.id.in_(ids))).all()
    wanted = {uid for uid, email, active in users if active and email}
    if not wanted:
        return 0
    chosen = dict(
        db.execute(
            select(NotificationPreference.user_id, NotificationPreference.delivery).where(
                NotificationPreference.user_id.in_(wanted), NotificationPreference.event == event.value
            )
        ).all()
    )
    already = set(
        db.scalars(
            select(Notification.user_id).where(
                Notification.user_id.in_(wanted),
                Notification.event == event.value,
                Notification.case_id == case_id,
                Notification.created_on == today,
            )
        )
    )
    queued = 0
    for uid in sorted(wanted - already):
        delivery = chosen.get(uid, DEFAULT_DELIVERY.value)
        if delivery == Delivery.OFF.value:
            continue
        if reporter_action:
            delivery = Delivery.DIGEST.value
        db.add(
            Notification(
                user_id=uid,
                event=event.value,
                case_id=case_id,
                delivery=delivery,
                status=OutboxStatus.PENDING.value,
                created_on=today,
                attempts=0,
            )
        )
        queued += 1
    db.flush()
    return queued


def notify(
    db: Session,
    settings: Settings,
    event: NotificationEvent,
    case: Case,
    today: dt.date,
    *,
    reporter_action: bool = False,
) -> int:
    """Queue ``event`` on ``case`` for whoever works it: the one entry point for hooks in other packages."""
    if not settings.mail_enabled:
        return 0  # before any recipient query: with mail off, a hook costs nothing
    return queue(db, settings, event, case.id, case_workers(db, case), today, reporter_action=reporter_action)


# --- recipients ------------------------------------------------------------------------------------


def _excluded(db: Session, case_id: int) -> set[int]:
    return set(db.scalars(select(CaseExcludedMember.user_id).where(CaseExcludedMember.case_id == case_id)))


def team_members(db: Session, case_id: int, team_ids: Iterable[int]) -> set[int]:
    """Members holding the key of one of ``team_ids`` (confirmed), less anyone excluded from the case."""
    ids = list(team_ids)
    if not ids:
        return set()
    members = set(
        db.scalars(
            select(TeamMembership.user_id).where(
                TeamMembership.team_id.in_(ids), TeamMembership.sealed_team_key_ct.is_not(None)
            )
        )
    )
    return members - _excluded(db, case_id)


def case_workers(db: Session, case: Case) -> set[int]:
    """Who works a case: people assigned by name or granted personally, else the teams holding its key.

    Once someone is assigned, the case is theirs; the whole team is told only
    while nobody is.
    """
    assigned = db.scalars(select(CaseAssignment.user_id).where(CaseAssignment.case_id == case.id))
    granted = db.scalars(
        select(CaseKeyGrant.user_id).where(CaseKeyGrant.case_id == case.id, CaseKeyGrant.revoked_at.is_(None))
    )
    named = {uid for uid in (*assigned, *granted) if uid is not None} - _excluded(db, case.id)
    if named:
        return named
    return team_members(db, case.id, granted_teams(db, case.id))


def granted_teams(db: Session, case_id: int) -> list[int]:
    """Teams holding a live grant of the case's key."""
    return list(
        db.scalars(
            select(CaseKeyGrant.team_id).where(
                CaseKeyGrant.case_id == case_id, CaseKeyGrant.team_id.is_not(None), CaseKeyGrant.revoked_at.is_(None)
            )
        )
    )


def holders_of(db: Session, role: Role) -> set[int]:
    """Everyone holding ``role``."""
    return set(db.scalars(select(StaffRole.user_id).where(StaffRole.role == role.value)))


def protection_teams(db: Session) -> list[int]:
    """The custodian teams, told of retaliation alerts."""
    return list(db.scalars(select(Team.id).where(Team.kind == TeamKind.PROTECTION.value)))


def may_hear(db: Session, event: NotificationEvent, user_id: int, case: Case) -> bool:
    """Whether the person may hear of this case now: access can be lost between queueing and sending."""
    if event in (NotificationEvent.SUPPORT_AWAITING_APPROVAL, NotificationEvent.IDENTITY_REQUEST):
        return user_id in holders_of(db, Role.SUPERVISOR) - _excluded(db, case.id)
    if event is NotificationEvent.RETALIATION_ALERT:
        return user_id in team_members(db, case.id, protection_teams(db))
    return user_id in case_workers(db, case) | team_members(db, case.id, granted_teams(db, case.id))


# --- the hooks -------------------------------------------------------------------------------------


def new_case(
    db: Session,
    settings: Settings,
    case: Case,
    team_ids: Iterable[int],
    today: dt.date,
    *,
    reporter_action: bool = False,
) -> int:
    """A case entered the queue of ``team_ids`` (a new report for intake, an assignment to a team)."""
    if not settings.mail_enabled:
        return 0
    members = team_members(db, case.id, team_ids)
    return queue(db, settings, NotificationEvent.NEW_CASE, case.id, members, today, reporter_action=reporter_action)


def reporter_replied(db: Session, settings: Settings, case: Case, today: dt.date) -> int:
    """The reporter wrote (a message or an answer); told to whoever works the case."""
    if not settings.mail_enabled:
        return 0
    return notify(db, settings, NotificationEvent.REPORTER_REPLIED, case, today, reporter_action=True)


def deadline(db: Session, settings: Settings, case: Case, *, overdue: bool, today: dt.date) -> int:
    """The case's nearest deadline is close (or past); from ``flask deadlines remind``."""
    if not settings.mail_enabled:
        return 0
    event = NotificationEvent.DEADLINE_OVERDUE if overdue else NotificationEvent.DEADLINE_DUE_SOON
    return notify(db, settings, event, case, today)


def support_decided(db: Session, settings: Settings, req: SupportRequest, today: dt.date) -> int:
    """An approval now waits for a second approver: every supervisor but the one who decided is told."""
    if not settings.mail_enabled:
        return 0
    from app.support.service import awaiting_confirmation  # the support package imports ours, not the reverse

    if not awaiting_confirmation(settings, req):
        return 0
    supervisors = holders_of(db, Role.SUPERVISOR) - {req.decided_by} - _excluded(db, req.case_id)
    return queue(db, settings, NotificationEvent.SUPPORT_AWAITING_APPROVAL, req.case_id, supervisors, today)


def identity_requested(db: Session, settings: Settings, req: IdentityAccessRequest, today: dt.date) -> int:
    """Someone asked to see a reporter's identity: the supervisors who decide are told (never the asker)."""
    if not settings.mail_enabled:
        return 0
    supervisors = holders_of(db, Role.SUPERVISOR) - {req.requested_by} - _excluded(db, req.case_id)
    return queue(db, settings, NotificationEvent.IDENTITY_REQUEST, req.case_id, supervisors, today)


def retaliation_alert(
    db: Session, settings: Settings, alert: RetaliationAlert, today: dt.date, *, reporter_action: bool = False
) -> int:
    """An adverse personnel event hit a protected reporter: the protection team is told.

    ``reporter_action`` when the alert was raised inside a reporter's request
    (matching at submission): the mail then waits for the next day's digest.
    """
    if not settings.mail_enabled:
        return 0
    members = team_members(db, alert.case_id, protection_teams(db))
    return queue(
        db,
        settings,
        NotificationEvent.RETALIATION_ALERT,
        alert.case_id,
        members,
        today,
        reporter_action=reporter_action,
    )


def retaliation_reported(db: Session, settings: Settings, case: Case, today: dt.date) -> int:
    """A reporter complained of retaliation from their inbox: the protection team is told, in the next digest.

    The same recipients and preference as an alert (it is the same news for
    the same people, with a 3-day acknowledgement to meet); always
    reporter-timed, since only a reporter files it.
    """
    if not settings.mail_enabled:
        return 0
    members = team_members(db, case.id, protection_teams(db))
    return queue(db, settings, NotificationEvent.RETALIATION_ALERT, case.id, members, today, reporter_action=True)
