"""A protected reporter answers check-ins with the page's own forms, sent as a browser sends them.

The check-in form once carried two ``check_in`` fields, the first empty: a
browser sent both, the form read the first, and every answer failed with a
400 that showed no reason, so the check-in later counted as missed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.models.protection import CheckIn

from .browser_forms import form_posting_to, forms_in


def _officer_with_due_check_ins(app, reporter, due: int = 1) -> list[int]:
    """A public officer's report whose first ``due`` check-ins are due (today, and missed before); their ids."""
    receipt = reporter.submit_ok(public_officer="yes", name="Kim", employee_number="EMP-1")
    with app.app_context():
        db = get_session()
        checks = list(db.scalars(select(CheckIn).order_by(CheckIn.due_on)))[:due]
        for n, c in enumerate(checks):
            c.due_on = local_today(utcnow()) - dt.timedelta(days=due - 1 - n)
        db.commit()
        ids = [c.id for c in checks]
    reporter.login(receipt)
    return ids


def _answered(app, check_in_id: int):
    with app.app_context():
        return get_session().get(CheckIn, check_in_id)


def test_a_check_in_answered_with_the_page_form_as_a_browser_sends_it_is_recorded(app, office, reporter):
    (check_in_id,) = _officer_with_due_check_ins(app, reporter)
    page = reporter.client.get("/receipt/check-ins").get_data(as_text=True)
    form = form_posting_to(page, "/receipt/check-ins").fill(answer="all_well")
    assert form.values("check_in") == [str(check_in_id)]  # one field, carrying the id, first in page order too
    r = form.send(reporter.client)
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    done = _answered(app, check_in_id)
    assert done.answer == "all_well" and done.answered_on == local_today(utcnow())


def test_each_of_several_due_check_ins_has_a_form_that_answers_that_one(app, office, reporter):
    ids = _officer_with_due_check_ins(app, reporter, due=2)
    page = reporter.client.get("/receipt/check-ins").get_data(as_text=True)
    forms = [f for f in forms_in(page) if f.action.endswith("/receipt/check-ins")]
    assert [f.values("check_in") for f in forms] == [[str(i)] for i in ids]
    second = forms[1].fill(answer="concern", kinds="transfer", text="moved to another post")
    assert second.send(reporter.client).status_code == 303
    assert _answered(app, ids[1]).answer == "concern"
    assert _answered(app, ids[0]).answered_on is None


def test_a_refused_answer_shows_its_reason_on_the_form_that_was_sent(app, office, reporter):
    ids = _officer_with_due_check_ins(app, reporter, due=2)
    page = reporter.client.get("/receipt/check-ins").get_data(as_text=True)
    forms = [f for f in forms_in(page) if f.action.endswith("/receipt/check-ins")]
    r = forms[1].send(reporter.client)  # no answer chosen
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and html.count("Choose one answer.") == 2  # summary and field, once
    again = [f for f in forms_in(html) if f.action.endswith("/receipt/check-ins")]
    assert [f.values("check_in") for f in again] == [[str(i)] for i in ids]


def test_a_check_in_sent_without_its_id_says_the_form_could_not_be_checked(app, office, reporter):
    _officer_with_due_check_ins(app, reporter)
    page = reporter.client.get("/receipt/check-ins").get_data(as_text=True)
    form = form_posting_to(page, "/receipt/check-ins").fill(answer="all_well", check_in="")
    r = form.send(reporter.client)
    assert r.status_code == 400
    assert "This form could not be checked. Please reload the page and try again." in r.get_data(as_text=True)


def test_answering_a_check_in_twice_from_an_old_page_says_why_it_was_refused(app, office, reporter):
    (check_in_id,) = _officer_with_due_check_ins(app, reporter)
    page = reporter.client.get("/receipt/check-ins").get_data(as_text=True)
    assert form_posting_to(page, "/receipt/check-ins").fill(answer="all_well").send(reporter.client).status_code == 303
    r = form_posting_to(page, "/receipt/check-ins").fill(answer="concern", text="x").send(reporter.client)
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and 'role="alert"' in html and "answered already" in html
    assert _answered(app, check_in_id).answer == "all_well"


def test_no_reporter_form_sends_a_hidden_field_twice(app, office, reporter):
    _officer_with_due_check_ins(app, reporter)
    anonymous = app.test_client()
    pages = {url: anonymous.get(url).get_data(as_text=True) for url in ("/report", "/receipt")}
    for url in ("/receipt/inbox", "/receipt/support/", "/receipt/check-ins", "/receipt/retaliation"):
        pages[url] = reporter.client.get(url).get_data(as_text=True)
    for url, page in pages.items():
        forms = [f for f in forms_in(page) if f.method == "post"]
        assert forms, url
        for form in forms:
            hidden = form.names("hidden")
            assert len(hidden) == len(set(hidden)), (url, form.action, hidden)


def test_a_refused_answer_is_explained_in_korean_on_the_korean_page(app, office, reporter):
    """The service's reasons are translated: a Korean reporter is not shown an English sentence."""
    from tests.unit.web.helpers import choose_language

    _officer_with_due_check_ins(app, reporter)
    choose_language(reporter.client, "ko")
    page = reporter.client.get("/receipt/check-ins").get_data(as_text=True)
    assert form_posting_to(page, "/receipt/check-ins").fill(answer="all_well").send(reporter.client).status_code == 303
    r = form_posting_to(page, "/receipt/check-ins").fill(answer="concern", text="x").send(reporter.client)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "이 확인 요청에는 이미 답하셨습니다" in html and "answered already" not in html


def test_two_check_in_forms_on_one_page_share_no_element_id(app, office, reporter):
    """Screen readers follow label-for/id pairs: each form's fields must be told apart."""
    import re

    ids = _officer_with_due_check_ins(app, reporter, due=2)
    assert len(ids) == 2
    page = reporter.client.get("/receipt/check-ins").get_data(as_text=True)
    element_ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(element_ids) == len(set(element_ids)), sorted(i for i in element_ids if element_ids.count(i) > 1)
    for label_target in re.findall(r'\bfor="([^"]+)"', page):
        assert label_target in element_ids
