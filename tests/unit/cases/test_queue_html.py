"""The queue's rows and selects written in Python: escaped like Jinja's autoescape, flags in words, one cell each."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from markupsafe import Markup
from wtforms import Form, SelectField
from wtforms.fields.choices import SelectChoice

from app.cases.queue_html import RowLabels, rows_html, select_html
from app.cases.queues import QueueRow

EVIL = '<script>alert("x")</script>&\''


class Tree(HTMLParser):
    """Start tags with their attributes and the text seen, to check structure rather than spelling."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)


def row(**changes) -> QueueRow:
    values = {
        "id": 7,
        "public_ref": "HC-2026-000007",
        "kind": "report",
        "status": "triage",
        "severity": 3,
        "category": "bribery",
        "department_ko": "감사과",
        "department_en": "Audit",
        "received_on": dt.date(2026, 3, 1),
        "next_due_on": dt.date(2026, 3, 8),
        "waiting_on_reporter": False,
        "overdue": False,
        "due_soon": False,
    }
    return QueueRow(**{**values, **changes})


LABELS = RowLabels.of(
    {"report": "Report"},
    {"triage": "Triage"},
    waiting="waiting on reporter",
    untriaged="not triaged",
    overdue="Overdue",
    due_soon="Due soon",
)


CASE_HREF = ("/staff/cases/", "")  # a case's URL before and after its id


def test_each_row_links_its_reference_to_the_case_in_eight_cells():
    tree = Tree(rows_html([row(), row(id=8, public_ref="HC-2026-000008")], LABELS, CASE_HREF, korean=False))
    assert tree.count("tr") == 2 and tree.count("th") == 2 and tree.count("td") == 14
    assert [a["href"] for tag, a in tree.tags if tag == "a"] == ["/staff/cases/7", "/staff/cases/8"]
    text = "".join(tree.text)
    for shown in ("HC-2026-000007", "Report", "Triage", "3", "bribery", "Audit", "2026-03-01", "2026-03-08"):
        assert shown in text


@pytest.mark.parametrize("column", ["public_ref", "category", "department_en", "kind", "status"])
def test_markup_in_any_free_text_column_is_escaped(column):
    markup = rows_html([row(**{column: EVIL})], LABELS, CASE_HREF, korean=False)
    assert "<script>" not in markup and EVIL not in markup
    assert "&lt;script&gt;" in markup
    assert EVIL in "".join(Tree(markup).text)  # shown as text, exactly as written


def test_markup_in_translated_labels_and_urls_is_escaped():
    labels = RowLabels.of(
        {"report": "<b>Report</b>"},
        {"triage": "<i>Triage</i>"},
        waiting="<u>w</u>",
        untriaged="<u>n</u>",
        overdue="<u>o</u>",
        due_soon="<u>d</u>",
        categories={"bribery": "<s>Bribery</s>"},
    )
    markup = rows_html(
        [row(severity=0, waiting_on_reporter=True, overdue=True)],
        labels,
        ('/x"onclick="y/', '"z'),
        korean=False,
    )
    assert "&lt;s&gt;Bribery&lt;/s&gt;" in markup
    for raw in ("<b>", "<i>", "<u>", "<s>", '"onclick="'):
        assert raw not in markup
    attrs = next(a for t, a in Tree(markup).tags if t == "a")
    assert attrs["href"] == '/x"onclick="y/7"z'


def test_the_department_is_named_in_the_page_language():
    assert "감사과" in rows_html([row()], LABELS, CASE_HREF, korean=True)
    assert "Audit" in rows_html([row()], LABELS, CASE_HREF, korean=False)
    assert "<td></td>" in rows_html([row(department_ko=None, department_en=None)], LABELS, CASE_HREF, korean=True)


@pytest.mark.parametrize(
    ("flags", "row_class", "word"),
    [({"overdue": True}, "row--overdue", "Overdue"), ({"due_soon": True}, "row--due-soon", "Due soon")],
)
def test_deadline_flags_are_a_row_class_and_a_word(flags, row_class, word):
    tree = Tree(rows_html([row(**flags)], LABELS, CASE_HREF, korean=False))
    assert ("tr", {"class": row_class}) in tree.tags
    assert word in tree.text


def test_a_row_without_flags_has_no_class_and_no_flag_words():
    markup = rows_html([row()], LABELS, CASE_HREF, korean=False)
    assert "<tr>" in markup and "flag" not in markup


def test_waiting_and_untriaged_are_said_in_words():
    text = Tree(rows_html([row(severity=0, waiting_on_reporter=True)], LABELS, CASE_HREF, korean=False)).text
    assert "waiting on reporter" in text and "not triaged" in text


def test_no_rows_is_empty_markup():
    assert rows_html([], LABELS, CASE_HREF, korean=False) == Markup("")


class Filters(Form):
    state = SelectField("State <b>", choices=[SelectChoice("", "Any"), SelectChoice("triage", "Triage & more")])
    department = SelectField("Department", choices=[SelectChoice("1", EVIL), SelectChoice('2"x', "Two")])


def test_a_select_marks_the_current_value_and_labels_its_field():
    form = Filters(data={"state": "triage"})
    tree = Tree(select_html(form.state))
    assert ("label", {"class": "field-label", "for": "state"}) in tree.tags
    assert ("select", {"id": "state", "name": "state"}) in tree.tags
    options = [a for t, a in tree.tags if t == "option"]
    assert options == [{"value": ""}, {"value": "triage", "selected": None}]
    assert "Triage & more" in tree.text and "State <b>" in tree.text


def test_with_no_value_the_empty_choice_is_selected():
    options = [a for t, a in Tree(select_html(Filters().state)).tags if t == "option"]
    assert options[0] == {"value": "", "selected": None}


def test_select_values_and_labels_are_escaped():
    markup = select_html(Filters(data={"department": '2"x'}).department)
    assert "<script>" not in markup and 'value="2"x"' not in markup
    options = [a for t, a in Tree(markup).tags if t == "option"]
    assert options == [{"value": "1"}, {"value": '2"x', "selected": None}]
    assert EVIL in Tree(markup).text


def test_the_row_cache_writes_each_row_once_and_a_changed_row_anew():
    from app.cases.queue_html import RowCache

    cache, written = RowCache(), []

    def write(rows):
        written.extend(rows)
        return [f"<tr>{r.status}</tr>" for r in rows]

    first, second = row(), row(id=8, public_ref="HC-2026-000008")
    assert cache.written([first, second], write) == ["<tr>triage</tr>", "<tr>triage</tr>"]
    assert cache.written([second, first], write) == ["<tr>triage</tr>", "<tr>triage</tr>"]
    assert written == [first, second]  # the second page was read from the cache
    moved = row(status="investigating")  # the same case, changed: another key
    assert cache.written([moved, second], write) == ["<tr>investigating</tr>", "<tr>triage</tr>"]
    assert written == [first, second, moved]


def test_the_row_cache_is_bounded():
    from app.cases.queue_html import RowCache

    cache = RowCache(maxsize=2)
    for n in range(5):
        cache.written([row(id=n)], lambda rows: ["x" for _ in rows])
    assert len(cache) <= 2


def test_rows_from_the_cache_are_the_rows_written_afresh():
    from app.cases.queue_html import RowCache

    cache = RowCache()
    rows = [row(), row(id=8, public_ref=EVIL, overdue=True), row(id=9, waiting_on_reporter=True, severity=0)]
    fresh = rows_html(rows, LABELS, CASE_HREF, korean=False)
    assert rows_html(rows, LABELS, CASE_HREF, korean=False, cache=cache) == fresh
    assert rows_html(rows[::-1], LABELS, CASE_HREF, korean=False, cache=cache) == rows_html(
        rows[::-1], LABELS, CASE_HREF, korean=False
    )
    assert len(cache) == 3
