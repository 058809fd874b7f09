"""The queue page through the web: who may see it, what the filters and pages show."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from sqlalchemy import insert

from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.models import Case, CaseKeyGrant
from app.models.staff import Role, TeamKind
from tests.unit.web.helpers import choose_language

CASE_ROLES = (Role.INTAKE, Role.INVESTIGATOR, Role.LEGAL, Role.PROTECTION, Role.SUPERVISOR)


def add_cases(app, team_id: int, n: int, start: int = 1, **columns) -> list[int]:
    """``n`` cases sealed (with stand-in bytes) to ``team_id``; deadlines a day apart from yesterday."""
    today = local_today(utcnow())
    with app.app_context():
        db = get_session()
        rows = [
            {
                "public_ref": f"HC-2026-{i:06}",
                "kind": "report",
                "source": "web",
                "status": "investigating",
                "received_on": today - dt.timedelta(days=30),
                "next_due_on": today + dt.timedelta(days=i - start - 1),
                "severity": 0,
                "version": 1,
                **columns,
            }
            for i in range(start, start + n)
        ]
        ids = list(db.scalars(insert(Case).returning(Case.id, sort_by_parameter_order=True), rows))
        db.execute(
            insert(CaseKeyGrant),
            [{"case_id": c, "grantee_kind": "team", "team_id": team_id, "sealed_key_ct": os.urandom(48)} for c in ids],
        )
        db.commit()
        return ids


@pytest.fixture
def investigator(staff):
    member = staff.create("inv1", Role.INVESTIGATOR)
    team_id = staff.team("investigation", TeamKind.INVESTIGATION, member)
    return member, team_id


@pytest.mark.parametrize("role", CASE_ROLES)
def test_every_case_role_gets_the_queue_page(staff, client, role):
    member = staff.create(f"user-{role.value}", role)
    staff.login(member)
    r = client.get("/staff/queues/")
    assert r.status_code == 200
    assert "<caption>" in r.get_data(as_text=True)


def test_an_admin_without_a_case_role_is_refused(staff, client):
    admin = staff.create("root", Role.ADMIN)
    staff.login(admin)
    assert client.get("/staff/queues/").status_code == 403


def test_anonymous_visitors_are_sent_to_the_login(client):
    r = client.get("/staff/queues/")
    assert r.status_code == 302 and "/staff/login" in r.location


def test_rows_link_to_the_case_and_flag_what_is_overdue_in_words(staff, client, investigator):
    member, team_id = investigator
    late, soon = add_cases(staff.app, team_id, 2)
    staff.login(member)
    html = client.get("/staff/queues/?view=state&lang=en").get_data(as_text=True)
    assert f'href="/staff/cases/{late}"' in html and f'href="/staff/cases/{soon}"' in html
    assert re.search(r'class="flag flag--overdue">[^<]+<', html)
    assert re.search(r'class="flag flag--due-soon">[^<]+<', html)
    assert 'class="row--overdue"' in html


def test_another_teams_cases_are_not_listed(staff, client, investigator):
    member, _team = investigator
    other = staff.create("inv2", Role.INVESTIGATOR)
    other_team = staff.team("other", TeamKind.INVESTIGATION, other)
    add_cases(staff.app, other_team, 1)
    staff.login(member)
    assert "HC-2026-000001" not in client.get("/staff/queues/?view=state").get_data(as_text=True)


def test_filters_and_view_are_reflected_in_the_page(staff, client, investigator):
    member, team_id = investigator
    add_cases(staff.app, team_id, 1, status="triage", kind="alert")
    add_cases(staff.app, team_id, 1, start=2, status="triage", kind="report")
    staff.login(member)
    html = client.get(f"/staff/queues/?view=state&state=triage&kind=alert&team={team_id}&sort=severity").get_data(
        as_text=True
    )
    assert "HC-2026-000001" in html and "HC-2026-000002" not in html
    assert re.search(r'<option selected value="triage">|<option value="triage" selected>', html)
    assert re.search(rf'<option selected value="{team_id}">|<option value="{team_id}" selected>', html)
    assert re.search(r'aria-current="page" class="tab tab--current"[^>]*>|class="tab tab--current"', html)
    assert 'aria-sort="descending"' in html
    # Links that change the order or the page keep the filters.
    assert re.search(r'href="/staff/queues/\?[^"]*sort=due[^"]*"', html)
    assert "kind=alert" in re.search(r'href="(/staff/queues/\?[^"]*sort=due[^"]*)"', html).group(1)
    # Clearing the filters keeps the view and the order: neither is a filter.
    clear = re.search(r'<a href="([^"]*)">Clear filters</a>', html).group(1)
    assert clear == "/staff/queues/?view=state&amp;sort=severity"


def test_the_team_selector_offers_only_my_confirmed_teams(staff, client, investigator):
    member, team_id = investigator
    other_team = staff.team("other", TeamKind.INVESTIGATION, staff.create("inv2", Role.INVESTIGATOR))
    staff.login(member)
    html = client.get("/staff/queues/").get_data(as_text=True)
    assert f'value="{team_id}"' in html
    assert client.get(f"/staff/queues/?team={other_team}").status_code == 400


def test_pages_of_fifty_with_links_between_them(staff, client, investigator):
    member, team_id = investigator
    add_cases(staff.app, team_id, 55)
    staff.login(member)
    first = client.get("/staff/queues/?view=state").get_data(as_text=True)
    assert len(re.findall(r'href="/staff/cases/\d+', first)) == 50
    assert re.search(r'href="/staff/queues/\?[^"]*page=2[^"]*" rel="next"', first)
    second = client.get("/staff/queues/?view=state&page=2").get_data(as_text=True)
    assert len(re.findall(r'href="/staff/cases/\d+', second)) == 5
    assert "HC-2026-000055" in second and "HC-2026-000055" not in first
    assert 'rel="prev"' in second and 'rel="next"' not in second
    # Nothing is counted until the last page, where the total is exact.
    assert "55 cases" not in first and "Cases 1 to 50" in first
    assert "55 cases" in second and "Cases 51 to 55" in second


@pytest.mark.parametrize("query", ["view=everything", "sort=name", "page=0", "page=x", "state=lost"])
def test_a_malformed_query_is_a_bad_request(staff, client, investigator, query):
    member, _team = investigator
    staff.login(member)
    assert client.get(f"/staff/queues/?{query}").status_code == 400


def test_a_team_i_am_only_proposed_for_shows_nothing_and_is_not_offered(staff, client, investigator):
    """The view hands the queue the teams it read for the selector: confirmed ones only, as the service reads them."""
    from app.models.staff import TeamMembership

    member, _team = investigator
    other_team = staff.team("other", TeamKind.INVESTIGATION, staff.create("inv2", Role.INVESTIGATOR))
    with staff.app.app_context():
        db = get_session()
        db.add(TeamMembership(team_id=other_team, user_id=member.id, sealed_team_key_ct=None))
        db.commit()
    add_cases(staff.app, other_team, 1)
    staff.login(member)
    html = client.get("/staff/queues/?view=state").get_data(as_text=True)
    assert "HC-2026-000001" not in html and f'value="{other_team}"' not in html
    assert client.get(f"/staff/queues/?view=state&team={other_team}").status_code == 400


def test_a_page_past_the_end_says_so_and_links_to_the_first_page(staff, client, investigator):
    member, team_id = investigator
    add_cases(staff.app, team_id, 3)
    staff.login(member)
    html = client.get("/staff/queues/?view=state&page=5").get_data(as_text=True)
    assert "This page is past the end of the queue." in html
    assert not re.search(r"\d+ cases?\b", html)  # no total made up from the page number
    assert 'rel="prev"' not in html  # page 4 is past the end too
    assert re.search(r'href="/staff/queues/\?view=state[^"]*">First page</a>', html)
    choose_language(client, "ko", "/staff/queues/")
    ko = client.get("/staff/queues/?view=state&page=5").get_data(as_text=True)
    assert "이 페이지는 업무 목록의 끝을 지났습니다." in ko


def test_every_state_and_kind_has_a_label_and_can_be_filtered_on(staff, client, investigator):
    from app.cases.queue_views import KIND_LABELS, STATUS_LABELS
    from app.models.cases import CaseKind, CaseStatus

    assert set(STATUS_LABELS) == set(CaseStatus) and set(KIND_LABELS) == set(CaseKind)
    member, team_id = investigator
    add_cases(staff.app, team_id, 1, status="assessing", kind="retaliation")
    staff.login(member)
    choose_language(client, "ko", "/staff/queues/")
    r = client.get("/staff/queues/?view=state&state=assessing")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "HC-2026-000001" in html
    assert "<td>검토 중</td>" in html and "<td>assessing</td>" not in html


def test_the_category_column_names_the_category_in_the_page_language(staff, client, investigator):
    member, team_id = investigator
    add_cases(staff.app, team_id, 1, category="bribery")
    add_cases(staff.app, team_id, 1, start=2, kind="alert", category="EH-017")  # a scenario code: shown as stored
    staff.login(member)
    en = client.get("/staff/queues/?view=state").get_data(as_text=True)
    assert "<td>Bribery of any kind (money, gifts, entertainment, favours)</td>" in en
    assert "<td>EH-017</td>" in en and "<td>bribery</td>" not in en
