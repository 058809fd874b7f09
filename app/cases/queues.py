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
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    false,
    literal_column,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from app.models.cases import Case, CaseAssignment, CaseExcludedMember, CaseKeyGrant, CaseStatus, Department
from app.models.staff import StaffUser, Team, TeamMembership
from app.sql_replay import StatementReplay

MAX_PER_PAGE = 200


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


class QueueRow(NamedTuple):
    """One line of a queue: plaintext columns and the deadline flags as of ``today``.

    A named tuple rather than a frozen dataclass: fifty are built per page,
    and a frozen dataclass sets each field through ``object.__setattr__``.
    """

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
    """A page of a queue, and whether another follows.

    Nothing is counted: counting what a user may see means probing the grants
    and exclusions of every matching case (tens of thousands in a team's
    queue), where a page of 50 needs 51 probes. The 51st row tells whether
    there is a next page; on the last page the total is exact all the same.
    """

    rows: list[QueueRow]
    page: int
    per_page: int
    has_next: bool

    @property
    def first(self) -> int:
        """Position (1-based) of the first row shown, 0 on an empty page."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        """Position of the last row shown, 0 on an empty page."""
        return (self.page - 1) * self.per_page + len(self.rows)

    @property
    def past_end(self) -> bool:
        """An empty page after the first: the queue ends before it (an old link, a typed URL)."""
        return not self.rows and self.page > 1

    @property
    def total(self) -> int | None:
        """How many cases the queue holds, when this page is its last (``None`` when more follow).

        Unknown on a page past the end as well: its position says nothing of where the queue ends.
        """
        return None if self.has_next or self.past_end else self.last


_CONFIRMED_TEAM_IDS = (
    select(TeamMembership.team_id)
    .where(
        TeamMembership.user_id == bindparam("user_id", type_=Integer, literal_execute=True),
        TeamMembership.sealed_team_key_ct.is_not(None),
    )
    .order_by(TeamMembership.team_id)
)


# The queue's two statements are replayed through the driver once SQLAlchemy has
# sent them for the same values (see app.sql_replay for why and what that skips).
REPLAY = StatementReplay()


def confirmed_team_ids(db: Session, user: StaffUser) -> list[int]:
    """Teams whose key has been sealed to this user: only those open cases for them.

    One prebuilt statement run on the session's connection: every queue page
    asks this, and building the query anew cost more than running it (the
    user id is rendered into the SQL, as in the page statement below).
    """
    return _confirmed_team_ids(db.connection(), user.id)


def _confirmed_team_ids(conn: Connection, user_id: int) -> list[int]:
    return [row[0] for row in REPLAY.rows(conn, _CONFIRMED_TEAM_IDS, {"user_id": user_id})]


_CLOSED = CaseStatus.CLOSED.value
_new_row = tuple.__new__  # QueueRow's own __new__ is a Python lambda around this
_from_iso = dt.date.fromisoformat


def _rows(fetched: Sequence[Sequence[Any]], today: dt.date, soon: dt.date) -> list[QueueRow]:
    """Queue rows of the page statement's columns, with their deadline flags as of ``today``.

    Dates come as dates from SQLAlchemy and psycopg, as ISO text from sqlite3
    on a replay. One loop without calls per row: it runs for every row of
    every queue page.
    """
    rows = []
    for cid, ref, kind, status, severity, category, dep_ko, dep_en, received, due, waiting in fetched:
        if received.__class__ is str:
            received = _from_iso(received)
        if due is None:
            overdue = due_soon = False
        else:
            if due.__class__ is str:
                due = _from_iso(due)
            open_ = status != _CLOSED
            overdue, due_soon = open_ and due < today, open_ and today <= due <= soon
        rows.append(
            _new_row(
                QueueRow,
                (
                    cid,
                    ref,
                    kind,
                    status,
                    severity,
                    category,
                    dep_ko,
                    dep_en,
                    received,
                    due,
                    bool(waiting),
                    overdue,
                    due_soon,
                ),
            )
        )
    return rows


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
        select(literal_column("1"))
        .where(CaseKeyGrant.case_id == Case.id, CaseKeyGrant.revoked_at.is_(None), *conditions)
        .correlate(Case)
    )


# Every value of a queue statement is a named parameter, so one statement
# object per *shape* of query (which filters are set, which sort) is built
# once and reused: building and hashing the SQLAlchemy construct took longer
# than running it.
#
# The integers (user, teams, page size and offset) are rendered into the SQL
# at execution (``literal_execute``), not sent as parameters: PostgreSQL plans
# a parameterised queue statement anew at every execution (about 0.8 ms, as
# long as running it), and its generic plan for ``LIMIT $n`` walks every case
# (20 ms). With the integers in the text, psycopg prepares a statement an
# officer reloads and PostgreSQL keeps its plan. Integers only: text filters
# stay parameters.
_USER = bindparam("user_id", type_=Integer, literal_execute=True)
_TEAMS = bindparam("team_ids", type_=Integer, expanding=True, literal_execute=True)
_TEAM = bindparam("team_id", type_=Integer, literal_execute=True)
_TODAY = bindparam("today", type_=Date)
_SOON = bindparam("soon", type_=Date)


def _not_excluded() -> ColumnElement[bool]:
    return ~exists().where(CaseExcludedMember.case_id == Case.id, CaseExcludedMember.user_id == _USER)


def _visible_clause(with_teams: bool) -> ColumnElement[bool]:
    """SQL condition on ``cases``: a live grant this user can open, and no exclusion.

    Mirrors ``cases_visible_to``. Threat: a queue that listed cases by role
    alone would show a conflicted member (or another team) that a case
    exists; the listing follows the grants, as opening the case does.
    """
    return and_(_not_excluded(), _probe(*_grants_to_me(with_teams)))


def _grants_to_me(with_teams: bool) -> list[Select[Any]]:
    """The live grant probes of the current case that this user can open: to their teams, to them."""
    branches = [_live_grant(CaseKeyGrant.user_id == _USER)]
    if with_teams:
        branches.insert(0, _live_grant(CaseKeyGrant.team_id.in_(_TEAMS)))
    return branches


def _team_clause(with_teams: bool) -> ColumnElement[bool]:
    """Cases of one of the user's own teams that the user can open.

    That is: no exclusion of the user, and either a live grant to the team, or
    an assignment to the team and a live grant the user can open.

    Only for a team the user is a confirmed member of (``_Scope.TEAM``): then
    the team's own live grant already makes the case visible, and the
    visibility probe runs only for cases the team holds through an assignment
    alone (a team is often assigned a case sealed to another team). One probe
    per case instead of two, for most cases of a team's queue.
    """
    assigned: Select[Any] = (
        select(literal_column("1"))
        .where(CaseAssignment.case_id == Case.id, CaseAssignment.team_id == _TEAM, _probe(*_grants_to_me(with_teams)))
        .correlate(Case)
    )
    # After a conflict-of-interest exclusion the team's grant is revoked and each remaining
    # member holds a personal grant standing in for the team: the case is still the team's.
    stand_in = _live_grant(CaseKeyGrant.user_id == _USER, CaseKeyGrant.via_team_id == _TEAM)
    return and_(_not_excluded(), _probe(_live_grant(CaseKeyGrant.team_id == _TEAM), stand_in, assigned))


def _mine_clause() -> ColumnElement[bool]:
    """Cases assigned to the user by name, or whose key is sealed to them personally.

    A grant that only stands in for the user's team (``via_team_id``, left by
    a conflict-of-interest exclusion) does not make the case theirs: it is
    still the team's case. An ``IN`` over the (few) cases of one person lets
    the database start from them rather than walk every case looking for them.
    """
    assigned = select(CaseAssignment.case_id).where(CaseAssignment.user_id == _USER)
    granted = select(CaseKeyGrant.case_id).where(
        CaseKeyGrant.user_id == _USER, CaseKeyGrant.revoked_at.is_(None), CaseKeyGrant.via_team_id.is_(None)
    )
    return Case.id.in_(union(assigned, granted))


def _not_closed() -> ColumnElement[bool]:
    return Case.status != CaseStatus.CLOSED.value


class _Scope(enum.Enum):
    """Whose cases a query reads: every visible one, one of the user's teams, or none (not their team)."""

    ALL = "all"
    TEAM = "team"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class _Shape:
    """What decides the SQL of a queue query (its values are parameters)."""

    view: QueueView
    filters: frozenset[str]  # the optional filters that are set
    scope: _Scope
    with_teams: bool  # whether the user has confirmed teams
    sort: QueueSort


_FILTER_COLUMNS = {
    "state": Case.status,
    "kind": Case.kind,
    "category": Case.category,
    "department_id": Case.department_id,
    "source": Case.source,
}


def _where(shape: _Shape) -> list[ColumnElement[bool]]:
    """Every condition of a query of this shape: plain columns first, then the index probes of visibility."""
    where: list[ColumnElement[bool]] = []
    match shape.view:
        case QueueView.NEW:
            where.append(Case.status == CaseStatus.RECEIVED.value)
        case QueueView.MINE:
            where.append(_mine_clause())
        case QueueView.OVERDUE:
            where += [Case.next_due_on < _TODAY, _not_closed()]
        case QueueView.DUE_SOON:
            where += [Case.next_due_on >= _TODAY, Case.next_due_on <= _SOON, _not_closed()]
        case QueueView.WAITING:
            # A closed case waits on nobody, even if its last question was never answered.
            where += [Case.waiting_on_reporter.is_(True), _not_closed()]
        case QueueView.STATE:
            pass  # the state filter below does the work; without one, every visible case
    for name, column in _FILTER_COLUMNS.items():
        if name in shape.filters:
            where.append(column == bindparam(name))
    match shape.scope:
        case _Scope.ALL:
            where.append(_visible_clause(shape.with_teams))
        case _Scope.TEAM:
            where.append(_team_clause(shape.with_teams))
        case _Scope.NONE:
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


@functools.cache
def _statement(shape: _Shape) -> Select[*tuple[Any, ...]]:
    """The page statement of a shape, built once (there are a few thousand shapes at most)."""
    return (
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
        .where(*_where(shape))
        .order_by(*_order(shape.sort))
        .limit(bindparam("limit", type_=Integer, literal_execute=True))
        .offset(bindparam("offset", type_=Integer, literal_execute=True))
    )


def queue_page(
    db: Session,
    user: StaffUser,
    query: QueueQuery,
    today: dt.date,
    due_soon_days: int,
    team_ids: list[int] | None = None,
) -> Page:
    """One page of a queue for ``user``; ``today`` is the Seoul date the flags are computed for.

    ``team_ids`` are the user's confirmed teams when the caller has just read
    them (the queue view does, for its team selector); otherwise they are read here.
    """
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        raise QueueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    conn = db.connection()
    team_ids = sorted(team_ids) if team_ids is not None else _confirmed_team_ids(conn, user.id)
    page = max(1, query.page)
    values: dict[str, Any] = {
        "state": query.state.value if query.state is not None else None,
        "kind": query.kind or None,
        "category": query.category or None,
        "department_id": query.department_id,
        "source": query.source or None,
    }
    filters = {name: value for name, value in values.items() if value is not None}
    scope = _Scope.ALL
    if query.team_id is not None:
        scope = _Scope.TEAM if query.team_id in team_ids else _Scope.NONE
    shape = _Shape(query.view, frozenset(filters), scope, bool(team_ids), query.sort)
    soon = today + dt.timedelta(days=due_soon_days)
    params: dict[str, Any] = {
        **filters,
        "user_id": user.id,
        "team_ids": team_ids,
        "team_id": query.team_id,
        "today": today,
        "soon": soon,
        # One row more than the page: its presence is the "next page" link.
        "limit": query.per_page + 1,
        "offset": (page - 1) * query.per_page,
    }
    # Through the session's connection (its transaction) rather than Session.execute: the
    # statement selects columns, not entities, and the ORM's result machinery cost more
    # than the database did; replayed through the driver once sent for these values.
    fetched = REPLAY.rows(conn, _statement(shape), params)
    has_next = len(fetched) > query.per_page
    rows = _rows(fetched[: query.per_page], today, soon)
    return Page(rows=rows, page=page, per_page=query.per_page, has_next=has_next)
