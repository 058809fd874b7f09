"""`flask deadlines remind`: what is overdue or due soon, per team and person (run daily from cron).

It prints the list (for the cron mail), audits each reminder, and queues a
"due soon" or "overdue" notification for whoever works each case (sent by
``flask notifications send``). It shows references, states and dates only,
never content.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.audit import record
from app.cases import keys as case_keys
from app.cases.deadlines import is_overdue, local_today
from app.db import get_session, utcnow
from app.models.audit import ActorKind
from app.models.cases import Case, CaseAssignment, CaseExcludedMember, CaseKeyGrant, CaseStatus
from app.models.staff import StaffUser, Team
from app.notifications import service as notifications
from app.runtime import get_settings

deadlines_cli = AppGroup("deadlines", help="Legal deadlines of cases.")


def due_cases(today: dt.date, within_days: int) -> list[Case]:
    """Open cases whose nearest deadline is today, past, or within ``within_days``."""
    horizon = today + dt.timedelta(days=within_days)
    return list(
        get_session().scalars(
            select(Case)
            .where(Case.next_due_on.is_not(None), Case.next_due_on <= horizon, Case.status != CaseStatus.CLOSED.value)
            .order_by(Case.next_due_on, Case.id)
        )
    )


@deadlines_cli.command("remind")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Pretend today is this date (Asia/Seoul); for checks.",
)
def remind(today: dt.datetime | None) -> None:
    """List overdue and due-soon cases by team and by assigned person, and audit the reminder."""
    db, settings = get_session(), get_settings()
    day = today.date() if today else local_today(utcnow())
    cases = due_cases(day, settings.due_soon_days)
    by_owner: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        owners = [
            f"team {t.name}"
            for t in db.scalars(
                select(Team)
                .join(CaseKeyGrant, case_keys.owning_team() == Team.id)
                .where(CaseKeyGrant.case_id == case.id, CaseKeyGrant.revoked_at.is_(None))
                .distinct()
                .order_by(Team.name)
            )
        ]
        # People assigned by name, unless excluded from the case since: an exclusion keeps the
        # assignment row (for the record) but the person no longer works the case.
        excluded = select(CaseExcludedMember.user_id).where(CaseExcludedMember.case_id == case.id)
        owners += [
            f"{u.display_name} ({u.username})"
            for u in db.scalars(
                select(StaffUser)
                .join(CaseAssignment, CaseAssignment.user_id == StaffUser.id)
                .where(CaseAssignment.case_id == case.id, StaffUser.id.not_in(excluded))
                .distinct()
                .order_by(StaffUser.username)
            )
        ]
        for owner in owners or ["(nobody)"]:
            by_owner[owner].append(case)
        record(db, "deadline.reminded", actor_kind=ActorKind.SYSTEM, case_id=case.id, target=str(case.next_due_on))
        notifications.deadline(db, settings, case, overdue=is_overdue(case.next_due_on, day), today=day)
    db.commit()
    if not cases:
        click.echo(f"{day}: nothing overdue or due within {settings.due_soon_days} days")
        return
    for owner in sorted(by_owner):
        click.echo(f"{owner}:")
        for case in by_owner[owner]:
            flag = "OVERDUE" if is_overdue(case.next_due_on, day) else "due soon"
            click.echo(f"  {case.public_ref}  {case.status:14} {case.next_due_on}  {flag}")
