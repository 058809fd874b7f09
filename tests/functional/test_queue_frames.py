"""The queue page is a frame rendered once per officer, language and filters: never another's, never stale.

The frame (app/web/frames.py) keeps the page's HTML around its holes. These
tests prove what its key must hold: the officer (their name is in the
header), the language, the filters and the choices offered; and what must be
fresh on every request: the rows, the counts and page links, the CSRF token,
the language switch's return address and flashed messages.
"""

from __future__ import annotations

import copy
import re

from app.db import get_session
from app.models import Department
from app.models.staff import Role, TeamKind
from app.web.frames import FrameCache, frames
from tests.functional.test_queues import add_cases
from tests.unit.web.helpers import choose_language

QUEUE = "/staff/queues/?view=state"
TOKEN = re.compile(r'(name="csrf_token" value=")[^"]+(")')


def frame_count(app) -> int:
    with app.app_context():
        return len(frames())


def without_tokens(html: str) -> str:
    return TOKEN.sub(r"\1…\2", html)


def test_a_page_from_its_frame_is_byte_for_byte_the_page_rendered_afresh(staff, client):
    member = staff.create("inv1", Role.INVESTIGATOR)
    add_cases(staff.app, staff.team("investigation", TeamKind.INVESTIGATION, member), 3)
    staff.login(member)
    first = client.get(QUEUE).get_data(as_text=True)
    framed = client.get(QUEUE).get_data(as_text=True)
    with staff.app.app_context():
        frames().clear()
    afresh = client.get(QUEUE).get_data(as_text=True)
    assert without_tokens(first) == without_tokens(framed) == without_tokens(afresh)
    assert "HC-2026-000003" in framed and "\x02" not in framed and "\x03" not in framed


def test_each_officer_sees_their_own_name_and_nav_on_the_same_queue(staff, client):
    first = staff.create("inv1", Role.INVESTIGATOR)
    second = staff.create("sup1", Role.INVESTIGATOR, Role.SUPERVISOR)
    staff.team("investigation", TeamKind.INVESTIGATION, first, second)
    staff.login(first)
    mine = client.get(QUEUE).get_data(as_text=True)
    staff.logout()
    staff.login(second)
    theirs = client.get(QUEUE).get_data(as_text=True)
    assert "Signed in as Inv1" in mine and "Sup1" not in mine
    assert "Signed in as Sup1" in theirs and "Inv1" not in theirs
    assert "/staff/audit" not in mine and "/staff/audit" in theirs  # the supervisor's nav


def test_rows_counts_and_page_links_are_this_requests(staff, client):
    member = staff.create("inv1", Role.INVESTIGATOR)
    team_id = staff.team("investigation", TeamKind.INVESTIGATION, member)
    add_cases(staff.app, team_id, 51)
    staff.login(member)
    first = client.get(QUEUE).get_data(as_text=True)
    second = client.get(f"{QUEUE}&page=2").get_data(as_text=True)  # the same frame: the page is not in its key
    assert "Cases 1 to 50" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert "51 cases" in second and "Cases 51 to 51" in second and 'rel="prev"' in second
    assert 'name="next" value="/staff/queues/?view=state"' in first
    assert 'name="next" value="/staff/queues/?view=state&amp;page=2"' in second
    add_cases(staff.app, team_id, 1, start=52)
    again = client.get(f"{QUEUE}&page=2").get_data(as_text=True)
    assert "52 cases · Cases 51 to 52" in again


def test_the_csrf_token_is_the_sessions_own_on_a_framed_page(staff, client):
    member = staff.create("inv1", Role.INVESTIGATOR)
    staff.team("investigation", TeamKind.INVESTIGATION, member)
    staff.login(member)
    client.get(QUEUE)
    framed = client.get(QUEUE).get_data(as_text=True)
    token = TOKEN.search(framed)
    assert token is not None
    value = re.search(r'name="csrf_token" value="([^"]+)"', framed).group(1)
    # The framed page's token works: the language switch accepts it.
    r = client.post("/language", data={"csrf_token": value, "lang": "ko", "next": QUEUE})
    assert r.status_code in (302, 303)


def test_a_flashed_message_is_shown_once_and_its_page_never_framed(staff, client):
    member = staff.create("inv1", Role.INVESTIGATOR)
    staff.team("investigation", TeamKind.INVESTIGATION, member)
    staff.login(member)
    client.get(QUEUE)  # the frame of this queue is kept
    kept = frame_count(staff.app)
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "FLASH-CANARY saved")]
    flashed = client.get(QUEUE).get_data(as_text=True)
    after = client.get(QUEUE).get_data(as_text=True)
    assert "FLASH-CANARY saved" in flashed and "FLASH-CANARY" not in after
    assert frame_count(staff.app) == kept


def test_korean_and_english_pages_come_from_their_own_frames(staff, client):
    member = staff.create("inv1", Role.INVESTIGATOR)
    staff.team("investigation", TeamKind.INVESTIGATION, member)
    staff.login(member)
    en = client.get(QUEUE).get_data(as_text=True)
    choose_language(client, "ko", QUEUE)
    ko = client.get(QUEUE).get_data(as_text=True)
    assert '<html lang="en">' in en and "<h1>Queues</h1>" in en
    assert '<html lang="ko">' in ko and "<h1>업무 목록</h1>" in ko


def test_a_renamed_department_and_a_new_filter_show_at_once(staff, client):
    member = staff.create("inv1", Role.INVESTIGATOR)
    staff.team("investigation", TeamKind.INVESTIGATION, member)
    with staff.app.app_context():
        db = get_session()
        department = Department(code="AUD", name_ko="감사과", name_en="Audit")
        db.add(department)
        db.commit()
        department_id = department.id
    staff.login(member)
    assert "Audit / 감사과" in client.get(QUEUE).get_data(as_text=True)
    with staff.app.app_context():
        db = get_session()
        db.get(Department, department_id).name_en = "Internal audit"
        db.commit()
    renamed = client.get(QUEUE).get_data(as_text=True)
    assert "Internal audit / 감사과" in renamed and "Audit / 감사과" not in renamed
    filtered = client.get(f"{QUEUE}&department={department_id}").get_data(as_text=True)
    assert re.search(rf'<option value="{department_id}" selected>', filtered)
    assert not re.search(rf'<option value="{department_id}" selected>', renamed)


def test_the_frame_cache_keeps_only_the_most_recently_used(app):
    cache = FrameCache(maxsize=2)
    with app.test_request_context("/"):
        for n in range(3):
            cache.render("web/index.html", ("page", n), {}, {})
    assert len(cache) == 2


def test_frames_are_kept_per_language_even_under_the_same_key(app):
    from flask_babel import force_locale

    cache = FrameCache()
    with app.test_request_context("/"):
        with force_locale("en"):
            en = cache.render("web/index.html", "one key", {}, {})
        with force_locale("ko"):
            ko = cache.render("web/index.html", "one key", {}, {})
    assert len(cache) == 2 and '<html lang="en">' in en and '<html lang="ko">' in ko


def test_a_case_changed_since_the_last_view_shows_as_it_is_now(staff, client):
    from app.models import Case

    member = staff.create("inv1", Role.INVESTIGATOR)
    (case_id,) = add_cases(staff.app, staff.team("investigation", TeamKind.INVESTIGATION, member), 1)
    staff.login(member)
    before = client.get(QUEUE).get_data(as_text=True)
    with staff.app.app_context():
        db = get_session()
        case = db.get(Case, case_id)
        case.status, case.severity, case.category = "legal_review", 4, "procurement"
        db.commit()
    after = client.get(QUEUE).get_data(as_text=True)
    assert "<td>Investigating</td>" in before and "<td>Investigating</td>" not in after
    assert "<td>Legal review</td>" in after and "<td>4</td>" in after


def test_a_page_that_prints_its_own_csrf_field_cannot_be_framed(app):
    import pytest
    from flask_wtf.csrf import generate_csrf
    from jinja2 import ChoiceLoader, DictLoader

    own_form = '<form method="post"><input type="hidden" name="csrf_token" value="{{ token }}"></form>'
    app.jinja_env.loader = ChoiceLoader([DictLoader({"own_form.html": own_form}), app.jinja_env.loader])
    with app.test_request_context("/"), pytest.raises(RuntimeError, match="CSRF"):
        FrameCache().render("own_form.html", "key", {"token": generate_csrf()}, {})


def test_a_category_the_selector_does_not_offer_is_shown_without_keeping_its_frame(staff, client):
    member = staff.create("inv1", Role.INVESTIGATOR)
    team_id = staff.team("investigation", TeamKind.INVESTIGATION, member)
    add_cases(staff.app, team_id, 1, kind="alert", category="EH-017")
    staff.login(member)
    client.get(QUEUE)
    kept = frame_count(staff.app)
    html = client.get(f"{QUEUE}&category=EH-017").get_data(as_text=True)
    assert "HC-2026-000001" in html and frame_count(staff.app) == kept
    client.get(f"{QUEUE}&category=bribery")
    assert frame_count(staff.app) == kept + 1
    assert client.get(f"{QUEUE}&category={'x' * 41}").status_code == 400


def test_a_hole_is_named_in_lower_case_letters_and_underscores(app):
    import pytest

    with app.test_request_context("/"), pytest.raises(ValueError, match="hole"):
        FrameCache().render("web/index.html", "key", {}, {"rows2": "<tr></tr>"})


def test_the_language_switch_returns_under_the_script_root(app):
    from app.web import here

    with app.test_request_context("/staff/queues/?view=state", base_url="http://localhost/haechi"):
        assert here() == "/haechi/staff/queues/?view=state"
    with app.test_request_context("/staff/queues/"):
        assert here() == "/staff/queues/"


def test_forgetting_kept_pages_empties_every_queue_cache(staff, client):
    from app.cases import queues
    from app.cases.queue_views import _row_cache, forget_kept_pages

    member = staff.create("inv1", Role.INVESTIGATOR)
    add_cases(staff.app, staff.team("investigation", TeamKind.INVESTIGATION, member), 2)
    staff.login(member)
    client.get(QUEUE)
    assert frame_count(staff.app) and len(queues.REPLAY) and _row_cache.cache_info().currsize
    with staff.app.test_request_context("/"):
        forget_kept_pages()
    assert frame_count(staff.app) == 0 and len(queues.REPLAY) == 0 and _row_cache.cache_info().currsize == 0


def test_two_sessions_of_one_officer_each_get_their_own_csrf_token_from_one_frame(app, staff, client):
    """The frame is kept per officer, not per session: the token must be each session's own hole."""
    member = staff.create("inv1", Role.INVESTIGATOR)
    staff.team("investigation", TeamKind.INVESTIGATION, member)
    staff.login(member)
    first = client.get(QUEUE).get_data(as_text=True)
    kept = frame_count(app)
    other_client = app.test_client()
    other = copy.copy(staff)  # the same office, its used one-time codes shared: a second browser
    other.client = other_client
    other.english()
    other.login(member)
    second = other_client.get(QUEUE).get_data(as_text=True)
    assert frame_count(app) == kept  # the second session was served the first one's frame
    token_of = re.compile(r'name="csrf_token" value="([^"]+)"')
    mine, theirs = token_of.search(first).group(1), token_of.search(second).group(1)
    assert mine != theirs
    # Each token works in its own session only.
    assert other_client.post("/language", data={"csrf_token": theirs, "lang": "ko", "next": QUEUE}).status_code == 303
    assert other_client.post("/language", data={"csrf_token": mine, "lang": "ko", "next": QUEUE}).status_code == 400


def test_a_frame_is_kept_per_script_root(app):
    cache = FrameCache()
    with app.test_request_context("/", base_url="http://localhost/haechi"):
        prefixed = cache.render("web/index.html", "one key", {}, {})
    with app.test_request_context("/"):
        plain = cache.render("web/index.html", "one key", {}, {})
    assert len(cache) == 2
    assert 'href="/haechi/' in prefixed and "/haechi/" not in plain


def test_a_marker_the_split_does_not_know_is_refused_rather_than_printed(app):
    import pytest
    from jinja2 import ChoiceLoader, DictLoader
    from markupsafe import Markup

    from app.web import frames as frames_module

    app.jinja_env.loader = ChoiceLoader([DictLoader({"marked.html": "<p>{{ v }}</p>"}), app.jinja_env.loader])
    forged = Markup(f"\x02{frames_module._TOKEN}:Not_A_Hole\x03")
    with app.test_request_context("/"), pytest.raises(RuntimeError, match="unsplit"):
        FrameCache().render("marked.html", "key", {"v": forged}, {})


def test_the_frame_cache_drops_the_least_recently_used_first(app):
    cache = FrameCache(maxsize=2)
    with app.test_request_context("/"):
        cache.render("web/index.html", "a", {}, {})
        cache.render("web/index.html", "b", {}, {})
        cache.render("web/index.html", "a", {}, {})  # a is used again: b is now the oldest
        cache.render("web/index.html", "c", {}, {})
        kept = {key[1] for key in cache._frames}
    assert kept == {"a", "c"}
