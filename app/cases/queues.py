"""Case queues (issue 5): per team and per user, sorted by the nearest deadline, paginated.

Queues show plaintext columns only (DESIGN.md section 4): no case key is
opened to list cases. Which cases appear follows the same rule as
:func:`app.cases.keys.cases_visible_to` — a live grant to the user or to a
team they are a confirmed member of, and not excluded — but as ``EXISTS``
clauses inside one statement, so a page of 50 out of 100,000 cases walks an
index instead of loading every visible id into Python.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, literal, select, union, union_all
from sqlalchemy.orm import Session

from app.models.cases import Case, CaseAssignment, CaseExcludedMember, CaseKeyGrant, CaseStatus, Department
from app.models.staff import StaffUser, Team, TeamMembership

MAX_PER_PAGE = 200
PAGES_AHEAD = 5  # pages counted past the current one


class QueueError(Exception):
    """A queue query that cannot be run as asked (bad page size)."""


class QueueView(enum.StrEnum):
    """The tabs of the queue page."""

    NEW = "new"
    MINE = "mine"
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    WAITING = "waiting"
    STATE = "state"


class QueueSort(enum.StrEnum):
    """Orders a queue can be read in."""

    DUE = "due"  # nearest deadline first, cases without one last
    SEVERITY = "severity"  # most severe first
    AGE = "age"  # oldest first


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """What the queue page asks for: a view, optional filters, an order and a page."""

    view: QueueView = QueueView.NEW
    team_id: int | None = None
    state: CaseStatus | None = None
    kind: str | None = None
    category: str | None = None
    department_id: int | None = None
    source: str | None = None
    sort: QueueSort = QueueSort.DUE
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One line of a queue: plaintext columns and the deadline flags as of ``today``."""

    id: int
    public_ref: str
    kind: str
    status: str
    severity: int
    category: str | None
    department_ko: str | None
    department_en: str | None
    received_on: dt.date
    next_due_on: dt.date | None
    waiting_on_reporter: bool
    overdue: bool
    due_soon: bool


@dataclass(frozen=True, slots=True)
class Page:
    """A page of a queue, with the total that matched and the number of pages.

    Counting stops a few pages past the one shown (``PAGES_AHEAD``): an exact
    count of 90,000 visible cases costs as much as fifty pages, and a queue
    only needs "more than 300" to offer the next pages.
    """

    rows: list[QueueRow]
    total: int  # exact when ``exact``; otherwise a lower bound (more cases match)
    page: int
    pages: int
    exact: bool = True


def confirmed_team_ids(db: Session, user: StaffUser) -> list[int]:
    """Teams whose key has been sealed to this user: only those open cases for them."""
    stmt = (
        select(TeamMembership.team_id)
        .where(TeamMembership.user_id == user.id, TeamMembership.sealed_team_key_ct.is_not(None))
        .order_by(TeamMembership.team_id)
    )
    return list(db.scalars(stmt))


def confirmed_teams(db: Session, user: StaffUser) -> list[Team]:
    """The user's confirmed teams, by name, for the team selector."""
    stmt = (
        select(Team)
        .join(TeamMembership, TeamMembership.team_id == Team.id)
        .where(TeamMembership.user_id == user.id, TeamMembership.sealed_team_key_ct.is_not(None))
        .order_by(Team.name)
    )
    return list(db.scalars(stmt))


def _probe(*branches: Select[Any]) -> ColumnElement[bool]:
    """EXISTS any row of ``branches``, each a correlated one-index lookup for the current case.

    Written as one EXISTS over a UNION ALL rather than an OR of EXISTS: an OR
    of EXISTS makes PostgreSQL hash every grant of a team (88,000 rows, 20 ms)
    before reading the first case, where a page of 50 needs 50 index probes.
    SQLite runs both forms as per-row probes.
    """
    return exists(union_all(*branches)) if len(branches) > 1 else exists(branches[0])


def _live_grant(*conditions: ColumnElement[bool]) -> Select[Any]:
    """A live grant of the current case matching ``conditions``.

    The grant's kind is not tested: the ``grantee`` CHECK constraint sets
    ``team_id`` only on team grants and ``user_id`` only on user grants, so
    each probe is answered from a partial (team_id|user_id, case_id) index.
    """
    return (
        select(literal(1))
        .where(CaseKeyGrant.case_id == Case.id, CaseKeyGrant.revoked_at.is_(None), *conditions)
        .correlate(Case)
    )


def _not_excluded(user_id: int) -> ColumnElement[bool]:
    return ~exists().where(CaseExcludedMember.case_id == Case.id, CaseExcludedMember.user_id == user_id)


def visible_clause(user_id: int, team_ids: list[int]) -> ColumnElement[bool]:
    """SQL condition on ``cases``: a live grant this user can open, and no exclusion.

    Mirrors ``cases_visible_to``. Threat: a queue that listed cases by role
    alone would show a conflicted member (or another team) that a case
    exists; the listing follows the grants, as opening the case does.
    """
    branches = [_live_grant(CaseKeyGrant.user_id == user_id)]
    if team_ids:
        branches.insert(0, _live_grant(CaseKeyGrant.team_id.in_(team_ids)))
    return and_(_not_excluded(user_id), _probe(*branches))


def _team_clause(team_id: int) -> ColumnElement[bool]:
    """Cases a team works: a live grant to it, or an assignment to it."""
    assigned = (
        select(literal(1)).where(CaseAssignment.case_id == Case.id, CaseAssignment.team_id == team_id).correlate(Case)
    )
    return _probe(_live_grant(CaseKeyGrant.team_id == team_id), assigned)


def _mine_clause(user_id: int) -> ColumnElement[bool]:
    """Cases assigned to the user by name, or whose key is sealed to them personally.

    An ``IN`` over the (few) cases of one person lets the database start from
    them rather than walk every case looking for them.
    """
    assigned = select(CaseAssignment.case_id).where(CaseAssignment.user_id == user_id)
    granted = select(CaseKeyGrant.case_id).where(CaseKeyGrant.user_id == user_id, CaseKeyGrant.revoked_at.is_(None))
    return Case.id.in_(union(assigned, granted))


def _not_closed() -> ColumnElement[bool]:
    return Case.status != CaseStatus.CLOSED.value


def _where(
    user: StaffUser, team_ids: list[int], query: QueueQuery, today: dt.date, due_soon_days: int
) -> list[ColumnElement[bool]]:
    """Every condition of ``query``: plain columns first, then the index probes of visibility."""
    where: list[ColumnElement[bool]] = []
    match query.view:
        case QueueView.NEW:
            where.append(Case.status == CaseStatus.RECEIVED.value)
        case QueueView.MINE:
            where.append(_mine_clause(user.id))
        case QueueView.OVERDUE:
            where += [Case.next_due_on < today, _not_closed()]
        case QueueView.DUE_SOON:
            where += [
                Case.next_due_on >= today,
                Case.next_due_on <= today + dt.timedelta(days=due_soon_days),
                _not_closed(),
            ]
        case QueueView.WAITING:
            where.append(Case.waiting_on_reporter.is_(True))
        case QueueView.STATE:
            pass  # the state filter below does the work; without one, every visible case
    if query.state is not None:
        where.append(Case.status == query.state.value)
    if query.kind:
        where.append(Case.kind == query.kind)
    if query.category:
        where.append(Case.category == query.category)
    if query.department_id is not None:
        where.append(Case.department_id == query.department_id)
    if query.source:
        where.append(Case.source == query.source)
    if query.team_id is None:
        where.append(visible_clause(user.id, team_ids))
    elif query.team_id in team_ids:
        where += [_team_clause(query.team_id), visible_clause(user.id, team_ids)]
    else:
        # The selector offers the user's own teams only; another team's queue is
        # not theirs to read, even where they could see some of its cases.
        where.append(false())
    return where


def _order(sort: QueueSort) -> list[ColumnElement[Any]]:
    """ORDER BY of a sort; each ends on the primary key so pages never overlap."""
    match sort:
        case QueueSort.DUE:
            return [Case.next_due_on.asc().nulls_last(), Case.id.asc()]
        case QueueSort.SEVERITY:
            return [Case.severity.desc(), Case.id.desc()]
        case QueueSort.AGE:
            return [Case.received_on.asc(), Case.id.asc()]


def queue_page(db: Session, user: StaffUser, query: QueueQuery, today: dt.date, due_soon_days: int) -> Page:
    """One page of a queue for ``user``; ``today`` is the Seoul date the flags are computed for."""
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        raise QueueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    team_ids = confirmed_team_ids(db, user)
    where = _where(user, team_ids, query, today, due_soon_days)
    cap = (max(1, query.page) + PAGES_AHEAD) * query.per_page
    matching = select(Case.id).where(*where).limit(cap + 1).subquery()
    total = db.execute(select(func.count()).select_from(matching)).scalar_one()
    exact = total <= cap
    total = min(total, cap)
    pages = max(1, math.ceil(total / query.per_page))
    page = min(max(1, query.page), pages)
    stmt = (
        select(
            Case.id,
            Case.public_ref,
            Case.kind,
            Case.status,
            Case.severity,
            Case.category,
            Department.name_ko,
            Department.name_en,
            Case.received_on,
            Case.next_due_on,
            Case.waiting_on_reporter,
        )
        .outerjoin(Department, Department.id == Case.department_id)
        .where(*where)
        .order_by(*_order(query.sort))
    )
    stmt = stmt.limit(query.per_page).offset((page - 1) * query.per_page)
    soon = today + dt.timedelta(days=due_soon_days)
    rows = []
    for r in db.execute(stmt):
        due = r.next_due_on
        open_ = r.status != CaseStatus.CLOSED.value
        rows.append(
            QueueRow(
                id=r.id,
                public_ref=r.public_ref,
                kind=r.kind,
                status=r.status,
                severity=r.severity,
                category=r.category,
                department_ko=r.name_ko,
                department_en=r.name_en,
                received_on=r.received_on,
                next_due_on=due,
                waiting_on_reporter=bool(r.waiting_on_reporter),
                overdue=open_ and due is not None and due < today,
                due_soon=open_ and due is not None and today <= due <= soon,
            )
        )
    return Page(rows=rows, total=total, page=page, pages=pages, exact=exact)
