"""Queues: each view, filter, order and page; visibility follows the grants; deadline flags at their edges."""

from __future__ import annotations

import datetime as dt
import itertools
import os

import pytest

from app.cases import queues
from app.cases.queues import QueueQuery, QueueSort, QueueView
from app.models import (
    Case,
    CaseAssignment,
    CaseExcludedMember,
    CaseKeyGrant,
    CaseStatus,
    Department,
    StaffUser,
    Team,
    TeamMembership,
)

TODAY = dt.date(2026, 3, 10)
SOON = 3
_refs = itertools.count(1)


class World:
    """Users, teams and cases built straight in the database (queues never open a key)."""

    def __init__(self, db) -> None:
        self.db = db

    def user(self, name: str) -> StaffUser:
        user = StaffUser(
            username=name, display_name=name, public_key=os.urandom(32), wrapped_private_key_ct=os.urandom(64)
        )
        self.db.add(user)
        self.db.flush()
        return user

    def team(self, name: str, *members: StaffUser, proposed: tuple[StaffUser, ...] = ()) -> Team:
        team = Team(name=name, kind="investigation", public_key=os.urandom(32), recovery_sealed_key_ct=os.urandom(64))
        self.db.add(team)
        self.db.flush()
        for m in members:
            self.db.add(TeamMembership(team_id=team.id, user_id=m.id, sealed_team_key_ct=os.urandom(64), key_version=1))
        for m in proposed:  # proposed by an admin, key not yet sealed to them
            self.db.add(TeamMembership(team_id=team.id, user_id=m.id))
        self.db.flush()
        return team

    def case(
        self,
        *,
        team: Team | None = None,
        user: StaffUser | None = None,
        status: str = "investigating",
        due: dt.date | None = None,
        overdue: bool = False,
        revoked: bool = False,
        **columns,
    ) -> Case:
        """A case granted to ``team`` and/or ``user``; ``overdue=True`` puts its deadline yesterday."""
        if overdue:
            due = TODAY - dt.timedelta(days=1)
        values = {
            "kind": "report",
            "source": "web",
            "received_on": TODAY - dt.timedelta(days=20),
            "severity": 0,
            "version": 1,
            **columns,
        }
        case = Case(public_ref=f"HC-2026-{next(_refs):06}", status=status, next_due_on=due, **values)
        self.db.add(case)
        self.db.flush()
        revoked_at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC) if revoked else None
        if team is not None:
            self.grant(case, team=team, revoked_at=revoked_at)
        if user is not None:
            self.grant(case, user=user, revoked_at=revoked_at)
        return case

    def grant(self, case: Case, team: Team | None = None, user: StaffUser | None = None, revoked_at=None) -> None:
        self.db.add(
            CaseKeyGrant(
                case_id=case.id,
                grantee_kind="team" if team is not None else "user",
                team_id=team.id if team is not None else None,
                user_id=user.id if user is not None else None,
                sealed_key_ct=os.urandom(48),
                revoked_at=revoked_at,
            )
        )
        self.db.flush()

    def assign(self, case: Case, team: Team | None = None, user: StaffUser | None = None) -> None:
        self.db.add(
            CaseAssignment(case_id=case.id, team_id=team.id if team else None, user_id=user.id if user else None)
        )
        self.db.flush()

    def stand_in(self, case: Case, team: Team, *members: StaffUser) -> None:
        """What an exclusion leaves: personal grants standing in for the team (its own grant revoked)."""
        for m in members:
            self.db.add(
                CaseKeyGrant(
                    case_id=case.id,
                    grantee_kind="user",
                    user_id=m.id,
                    via_team_id=team.id,
                    sealed_key_ct=os.urandom(48),
                )
            )
        self.db.flush()

    def exclude(self, case: Case, user: StaffUser) -> None:
        self.db.add(CaseExcludedMember(case_id=case.id, user_id=user.id))
        self.db.flush()


@pytest.fixture
def world(db_session) -> World:
    return World(db_session)


@pytest.fixture
def alice(world):
    return world.user("alice")


@pytest.fixture
def team_a(world, alice):
    return world.team("team-a", alice)


def refs(world, user, **query) -> list[str]:
    page = queues.queue_page(world.db, user, QueueQuery(**query), TODAY, SOON)
    return [r.public_ref for r in page.rows]


def test_new_lists_received_cases_only(world, alice, team_a):
    new = world.case(team=team_a, status="received")
    world.case(team=team_a, status="triage")
    assert refs(world, alice, view=QueueView.NEW) == [new.public_ref]


def test_mine_is_what_is_assigned_to_me_or_sealed_to_me_personally(world, alice, team_a):
    bob = world.user("bob")
    assigned = world.case(team=team_a)
    world.assign(assigned, user=alice)
    personal = world.case(user=alice)
    world.case(team=team_a)  # the team's, not mine
    other = world.case(team=team_a)
    world.assign(other, user=bob)
    assert sorted(refs(world, alice, view=QueueView.MINE)) == sorted([assigned.public_ref, personal.public_ref])


def test_mine_never_shows_a_case_assigned_to_me_that_i_cannot_open(world, alice):
    other_team = world.team("team-b", world.user("bob"))
    case = world.case(team=other_team)
    world.assign(case, user=alice)
    assert refs(world, alice, view=QueueView.MINE) == []


def test_a_deadline_today_is_due_soon_not_overdue(world, alice, team_a):
    today = world.case(team=team_a, due=TODAY)
    page = queues.queue_page(world.db, alice, QueueQuery(view=QueueView.STATE), TODAY, SOON)
    (row,) = page.rows
    assert (row.overdue, row.due_soon) == (False, True)
    assert refs(world, alice, view=QueueView.OVERDUE) == []
    assert refs(world, alice, view=QueueView.DUE_SOON) == [today.public_ref]


def test_a_deadline_yesterday_is_overdue(world, alice, team_a):
    late = world.case(team=team_a, overdue=True)
    (row,) = queues.queue_page(world.db, alice, QueueQuery(view=QueueView.STATE), TODAY, SOON).rows
    assert (row.overdue, row.due_soon) == (True, False)
    assert refs(world, alice, view=QueueView.OVERDUE) == [late.public_ref]


def test_a_closed_case_is_never_overdue(world, alice, team_a):
    world.case(team=team_a, status=CaseStatus.CLOSED.value, overdue=True)
    (row,) = queues.queue_page(world.db, alice, QueueQuery(view=QueueView.STATE), TODAY, SOON).rows
    assert not row.overdue
    assert refs(world, alice, view=QueueView.OVERDUE) == []


def test_due_soon_ends_with_the_last_day_of_the_window(world, alice, team_a):
    last = world.case(team=team_a, due=TODAY + dt.timedelta(days=SOON))
    world.case(team=team_a, due=TODAY + dt.timedelta(days=SOON + 1))
    assert refs(world, alice, view=QueueView.DUE_SOON) == [last.public_ref]


def test_waiting_never_lists_a_closed_case(world, alice, team_a):
    world.case(team=team_a, status="closed", waiting_on_reporter=True)
    open_ = world.case(team=team_a, status="investigating", waiting_on_reporter=True)
    assert refs(world, alice, view=QueueView.WAITING) == [open_.public_ref]


def test_waiting_lists_cases_waiting_on_the_reporter(world, alice, team_a):
    waiting = world.case(team=team_a, waiting_on_reporter=True)
    world.case(team=team_a)
    assert refs(world, alice, view=QueueView.WAITING) == [waiting.public_ref]


def test_by_state_filters_on_the_chosen_state_or_shows_all(world, alice, team_a):
    triage = world.case(team=team_a, status="triage")
    legal = world.case(team=team_a, status="legal_review")
    assert refs(world, alice, view=QueueView.STATE, state=CaseStatus.TRIAGE) == [triage.public_ref]
    assert sorted(refs(world, alice, view=QueueView.STATE)) == sorted([triage.public_ref, legal.public_ref])


def test_filters_on_kind_category_department_and_source(world, alice, team_a):
    dept = Department(code="FIN", name_ko="재정과", name_en="Finance")
    world.db.add(dept)
    world.db.flush()
    alert = world.case(team=team_a, kind="alert", source="cheongbaek", category="procurement", department_id=dept.id)
    world.case(team=team_a, kind="report", source="web", category="bribery")
    state = {"view": QueueView.STATE}
    assert refs(world, alice, **state, kind="alert") == [alert.public_ref]
    assert refs(world, alice, **state, category="procurement") == [alert.public_ref]
    assert refs(world, alice, **state, department_id=dept.id) == [alert.public_ref]
    assert refs(world, alice, **state, source="cheongbaek") == [alert.public_ref]
    (row,) = queues.queue_page(world.db, alice, QueueQuery(**state, kind="alert"), TODAY, SOON).rows
    assert (row.department_en, row.department_ko) == ("Finance", "재정과")


def test_team_filter_keeps_cases_granted_or_assigned_to_that_team(world, alice, team_a):
    team_c = world.team("team-c", alice)
    of_a = world.case(team=team_a)
    of_c = world.case(team=team_c)
    assigned_to_c = world.case(user=alice)  # visible through a personal grant
    world.assign(assigned_to_c, team=team_c)
    state = {"view": QueueView.STATE}
    assert refs(world, alice, **state, team_id=team_a.id) == [of_a.public_ref]
    assert sorted(refs(world, alice, **state, team_id=team_c.id)) == sorted([of_c.public_ref, assigned_to_c.public_ref])


def test_team_filter_shows_a_case_assigned_to_that_team_but_sealed_to_another_of_mine(world, alice, team_a):
    """A team's queue holds the cases assigned to it that the user can open through any of their grants."""
    team_b = world.team("team-b", world.user("bob"))
    team_c = world.team("team-c", alice)
    sealed_to_a = world.case(team=team_a)
    world.assign(sealed_to_a, team=team_c)
    sealed_to_b = world.case(team=team_b)
    world.assign(sealed_to_b, team=team_c)  # assigned to my team, but sealed to a team I am not in
    excluded = world.case(team=team_a)
    world.assign(excluded, team=team_c)
    world.exclude(excluded, alice)
    assert refs(world, alice, view=QueueView.STATE, team_id=team_c.id) == [sealed_to_a.public_ref]


def test_after_an_exclusion_the_case_stays_in_its_teams_queue_and_is_nobodys_own(world, alice, team_a):
    """The team's grant is replaced by stand-in grants: still the team's case, not "mine" for each member."""
    bob, carol = world.user("bob"), world.user("carol")
    intake = world.team("intake", alice, bob, carol)
    case = world.case(team=intake, status="received", revoked=True)
    world.exclude(case, carol)
    world.stand_in(case, intake, alice, bob)
    for member in (alice, bob):
        assert refs(world, member, view=QueueView.NEW, team_id=intake.id) == [case.public_ref]
        assert refs(world, member, view=QueueView.NEW) == [case.public_ref]
        assert refs(world, member, view=QueueView.MINE) == []
    assert refs(world, carol, view=QueueView.NEW, team_id=intake.id) == []
    other = world.team("other", alice)
    assert refs(world, alice, view=QueueView.NEW, team_id=other.id) == []  # stands in for intake only


def test_a_personal_grant_of_my_own_still_makes_a_case_mine(world, alice, team_a):
    personal = world.case(user=alice)
    assert refs(world, alice, view=QueueView.MINE) == [personal.public_ref]


def test_team_filter_on_a_team_i_am_not_in_shows_nothing(world, alice, team_a):
    team_b = world.team("team-b", world.user("bob"))
    world.case(team=team_a)
    both = world.case(team=team_b, user=alice)
    assert both.id
    assert refs(world, alice, view=QueueView.STATE, team_id=team_b.id) == []


def test_a_case_of_another_team_never_appears(world, alice, team_a):
    team_b = world.team("team-b", world.user("bob"))
    world.case(team=team_b, status="received", overdue=True, waiting_on_reporter=True)
    for view in QueueView:
        assert refs(world, alice, view=view) == [], view
    assigned_only = world.case(team=team_b)
    world.assign(assigned_only, team=team_a)  # assigned to my team, but the key was sealed to theirs only
    assert refs(world, alice, view=QueueView.STATE, team_id=team_a.id) == []


def test_an_excluded_member_never_sees_the_case(world, alice, team_a):
    case = world.case(team=team_a, status="received", user=alice, waiting_on_reporter=True, overdue=True)
    world.assign(case, user=alice)
    world.exclude(case, alice)
    for view in QueueView:
        assert refs(world, alice, view=view) == [], view
    assert refs(world, alice, view=QueueView.STATE, team_id=team_a.id) == []


def test_revoked_grants_and_unconfirmed_memberships_open_nothing(world, alice, team_a):
    carol = world.user("carol")
    team_d = world.team("team-d", proposed=(carol,))
    world.case(team=team_a, revoked=True)
    world.case(user=alice, revoked=True)
    assert refs(world, alice, view=QueueView.STATE) == []
    world.case(team=team_d)
    assert refs(world, carol, view=QueueView.STATE) == []


def test_sort_by_due_puts_the_nearest_first_and_cases_without_a_deadline_last(world, alice, team_a):
    none = world.case(team=team_a, due=None)
    later = world.case(team=team_a, due=TODAY + dt.timedelta(days=9))
    first = world.case(team=team_a, due=TODAY - dt.timedelta(days=2))
    tie = world.case(team=team_a, due=TODAY + dt.timedelta(days=9))
    assert refs(world, alice, view=QueueView.STATE, sort=QueueSort.DUE) == [
        first.public_ref,
        later.public_ref,
        tie.public_ref,
        none.public_ref,
    ]


def test_sort_by_severity_puts_the_most_severe_first(world, alice, team_a):
    low = world.case(team=team_a, severity=1)
    high = world.case(team=team_a, severity=5)
    mid = world.case(team=team_a, severity=3)
    got = refs(world, alice, view=QueueView.STATE, sort=QueueSort.SEVERITY)
    assert got == [high.public_ref, mid.public_ref, low.public_ref]


def test_sort_by_age_puts_the_oldest_first(world, alice, team_a):
    young = world.case(team=team_a, received_on=TODAY)
    old = world.case(team=team_a, received_on=TODAY - dt.timedelta(days=100))
    assert refs(world, alice, view=QueueView.STATE, sort=QueueSort.AGE) == [old.public_ref, young.public_ref]


def test_pages_split_the_queue_without_overlap(world, alice, team_a):
    made = [world.case(team=team_a, due=TODAY + dt.timedelta(days=i)).public_ref for i in range(5)]
    pages = [
        queues.queue_page(world.db, alice, QueueQuery(view=QueueView.STATE, page=n, per_page=2), TODAY, SOON)
        for n in (1, 2, 3)
    ]
    assert [p.has_next for p in pages] == [True, True, False]
    assert [(p.first, p.last) for p in pages] == [(1, 2), (3, 4), (5, 5)]
    assert [r.public_ref for p in pages for r in p.rows] == made


def test_the_total_is_known_on_the_last_page_only(world, alice, team_a):
    for _ in range(3):
        world.case(team=team_a)
    first = queues.queue_page(world.db, alice, QueueQuery(view=QueueView.STATE, per_page=2), TODAY, SOON)
    last = queues.queue_page(world.db, alice, QueueQuery(view=QueueView.STATE, per_page=2, page=2), TODAY, SOON)
    assert (first.total, last.total) == (None, 3)


def test_a_page_exactly_full_has_no_next_page(world, alice, team_a):
    for _ in range(2):
        world.case(team=team_a)
    page = queues.queue_page(world.db, alice, QueueQuery(view=QueueView.STATE, per_page=2), TODAY, SOON)
    assert (len(page.rows), page.has_next, page.total) == (2, False, 2)


def test_a_page_past_the_end_is_empty_offers_no_next_and_claims_no_total(world, alice, team_a):
    world.case(team=team_a)
    page = queues.queue_page(world.db, alice, QueueQuery(view=QueueView.STATE, page=9, per_page=2), TODAY, SOON)
    assert (page.page, page.rows, page.has_next, page.first) == (9, [], False, 0)
    assert page.past_end and page.total is None  # not "16 cases": the position says nothing of the end


def test_an_empty_queue_has_one_empty_page(world, alice, team_a):
    page = queues.queue_page(world.db, alice, QueueQuery(), TODAY, SOON)
    assert (page.rows, page.total, page.page, page.has_next) == ([], 0, 1, False)


def test_the_same_query_shape_reuses_one_statement_with_other_values(world, alice, team_a):
    # The statement cache is keyed by shape only: values must come from the parameters,
    # or a second user (or team, or filter value) would be served the first one's rows.
    bob = world.user("bob")
    team_b = world.team("team-b", bob)
    mine = world.case(team=team_a, kind="report")
    theirs = world.case(team=team_b, kind="report")
    idea = world.case(team=team_b, kind="idea")
    assert refs(world, alice, view=QueueView.STATE, kind="report") == [mine.public_ref]
    assert refs(world, bob, view=QueueView.STATE, kind="report") == [theirs.public_ref]
    assert refs(world, bob, view=QueueView.STATE, kind="idea") == [idea.public_ref]
    assert refs(world, bob, view=QueueView.STATE, team_id=team_b.id, kind="idea") == [idea.public_ref]
    assert refs(world, alice, view=QueueView.STATE, team_id=team_b.id, kind="idea") == []


@pytest.mark.parametrize("per_page", [0, queues.MAX_PER_PAGE + 1])
def test_a_page_size_out_of_range_is_refused(world, alice, per_page):
    with pytest.raises(queues.QueueError):
        queues.queue_page(world.db, alice, QueueQuery(per_page=per_page), TODAY, SOON)


def test_the_queue_lists_exactly_what_cases_visible_to_returns(world, alice, team_a):
    from app.cases.keys import cases_visible_to

    team_b = world.team("team-b", world.user("bob"))
    world.case(team=team_a)
    world.case(team=team_b)
    world.case(user=alice)
    world.case(team=team_a, revoked=True)
    excluded = world.case(team=team_a)
    world.exclude(excluded, alice)
    page = queues.queue_page(world.db, alice, QueueQuery(view=QueueView.STATE), TODAY, SOON)
    world.db.refresh(alice)
    assert sorted(r.id for r in page.rows) == sorted(cases_visible_to(world.db, alice))


def test_the_queue_statements_carry_their_integers_in_the_sql_so_postgresql_keeps_one_plan(world, alice, team_a):
    """User, teams, page size and offset are rendered into the SQL; only text filters stay parameters.

    Why it matters: PostgreSQL re-plans a parameterised queue statement at
    every execution (as long as running it) and its generic plan for a
    ``LIMIT $n`` walks every case; a statement whose integers are in its text
    is prepared once by psycopg and keeps its plan.
    """
    from sqlalchemy import event

    world.case(team=team_a, status="triage")
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    engine = world.db.get_bind()
    queues.REPLAY.clear()  # SQLAlchemy sends what the replay has not seen yet
    event.listen(engine, "before_cursor_execute", capture)
    try:
        query = QueueQuery(view=QueueView.STATE, team_id=team_a.id, page=2, per_page=7)
        queues.queue_page(world.db, alice, query, TODAY, SOON)
        queues.queue_page(world.db, alice, QueueQuery(view=QueueView.STATE, state=CaseStatus.TRIAGE), TODAY, SOON)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    # The second page's team-id lookup is a replay of the first's, past SQLAlchemy.
    team_ids, page, filtered = seen
    assert not team_ids[1] and f"= {alice.id}" in team_ids[0]
    assert not page[1], page[1]
    assert "LIMIT 8 OFFSET 7" in page[0] and f"IN ({team_a.id})" in page[0]
    assert filtered[1] and "triage" not in filtered[0]  # a text filter is still a parameter


def test_a_repeated_queue_page_reads_the_database_anew_in_the_sessions_transaction(world, alice, team_a):
    """The replay keeps the SQL, never the rows: a case added since (not yet committed) shows."""
    queues.REPLAY.clear()
    first = world.case(team=team_a, status="triage", received_on=TODAY - dt.timedelta(days=3))
    query = QueueQuery(view=QueueView.STATE)
    before = queues.queue_page(world.db, alice, query, TODAY, SOON)
    replayed = len(queues.REPLAY)
    second = world.case(team=team_a, status="triage", received_on=TODAY - dt.timedelta(days=2))
    after = queues.queue_page(world.db, alice, query, TODAY, SOON)
    assert len(queues.REPLAY) == replayed  # the second page was a replay
    assert [r.id for r in before.rows] == [first.id]
    assert sorted(r.id for r in after.rows) == sorted([first.id, second.id])


def test_a_replayed_queue_page_gives_the_rows_sqlalchemy_gave(world, alice, team_a):
    """Same values and types either way: dates as dates, the waiting flag as a bool, the deadline flags."""
    queues.REPLAY.clear()
    world.case(team=team_a, status="triage", overdue=True, waiting_on_reporter=True)
    world.case(team=team_a, status="investigating", due=TODAY + dt.timedelta(days=SOON))
    world.case(team=team_a, status="closed")
    query = QueueQuery(view=QueueView.STATE)
    through_sqlalchemy = queues.queue_page(world.db, alice, query, TODAY, SOON)
    replayed = queues.queue_page(world.db, alice, query, TODAY, SOON)
    assert replayed == through_sqlalchemy
    for row in replayed.rows:
        assert type(row.received_on) is dt.date and type(row.waiting_on_reporter) is bool
        assert row.next_due_on is None or type(row.next_due_on) is dt.date
    assert sorted((r.overdue, r.due_soon, r.waiting_on_reporter) for r in replayed.rows) == [
        (False, False, False),
        (False, True, False),
        (True, False, True),
    ]
