"""The queue page's repeated markup — its fifty rows and its filter selects — written in Python.

Why not in the Jinja template like the rest of the page: every ``{{ value }}``
there costs an attribute lookup through the environment, an ``escape`` call
and a new ``Markup`` object, and a queue page prints about 700 of them (50
rows of 11 cells, six selects of 70 options). Profiling put them at over half
of the page's time (issue 5's ``queue.page_100k``). Here the same markup is
one f-string per row.

Escaping is as strict as Jinja's autoescape (the same five characters):
every value that is not built here from an integer
or a date is escaped, and catalogue labels are escaped once per page rather
than once per row. Tests plant markup in every free-text column
(``tests/unit/cases/test_queue_html.py``).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from markupsafe import Markup
from wtforms import SelectField

from app.cases.queues import QueueRow


def _escaped(value: object) -> str:
    """``value`` as HTML text, safe in element content and in quoted attributes ('' for None).

    ``Markup`` is kept as it is (as Jinja keeps it); everything else,
    translated labels included, goes through ``html.escape`` with quotes,
    which escapes the same five characters as ``markupsafe.escape`` at less
    than half its cost (it builds no ``Markup`` object).
    """
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    return html.escape(str(value), quote=True)


class RowLabels(NamedTuple):
    """What a page's rows print besides their own columns, translated and escaped once per page."""

    kinds: Mapping[str, str]
    statuses: Mapping[str, str]
    waiting: str
    untriaged: str
    overdue: str
    due_soon: str
    categories: Mapping[str, str] = {}

    @classmethod
    def of(
        cls,
        kinds: Mapping[str, str],
        statuses: Mapping[str, str],
        *,
        waiting: str,
        untriaged: str,
        overdue: str,
        due_soon: str,
        categories: Mapping[str, str] | None = None,
    ) -> RowLabels:
        """Labels in the current language (plain text in, escaped HTML out).

        A category without a label (an alert's scenario code, say) is shown as stored.
        """
        return cls(
            {k: _escaped(v) for k, v in kinds.items()},
            {k: _escaped(v) for k, v in statuses.items()},
            _escaped(waiting),
            _escaped(untriaged),
            _escaped(overdue),
            _escaped(due_soon),
            {k: _escaped(v) for k, v in (categories or {}).items()},
        )


def rows_html(rows: Iterable[QueueRow], labels: RowLabels, case_url: Callable[[int], str], korean: bool) -> Markup:
    """The ``<tr>`` of each row: reference linking to the case, labels, dates, deadline flags in words.

    Flags are words as well as a class, so they do not depend on colour
    (WCAG 1.4.1); the department is named in the page's language.
    """
    overdue = f' <strong class="flag flag--overdue">{labels.overdue}</strong>'
    due_soon = f' <strong class="flag flag--due-soon">{labels.due_soon}</strong>'
    waiting_flag = f' <span class="flag flag--waiting">{labels.waiting}</span>'
    departments: dict[str | None, str] = {}  # a page has a few departments, many times over
    parts = []
    for r in rows:
        if r.overdue:
            row_class, flag = ' class="row--overdue"', overdue
        elif r.due_soon:
            row_class, flag = ' class="row--due-soon"', due_soon
        else:
            row_class, flag = "", ""
        department_name = r.department_ko if korean else r.department_en
        department = departments.get(department_name)
        if department is None:
            department = departments[department_name] = _escaped(department_name)
        waiting = waiting_flag if r.waiting_on_reporter else ""
        kind = labels.kinds.get(r.kind) or _escaped(r.kind)
        status = labels.statuses.get(r.status) or _escaped(r.status)
        category = labels.categories.get(r.category or "") or _escaped(r.category)
        severity = int(r.severity) if r.severity else labels.untriaged
        due = r.next_due_on.isoformat() if r.next_due_on else ""
        parts.append(
            f"<tr{row_class}>\n"
            f'      <th scope="row"><a href="{_escaped(case_url(r.id))}">{_escaped(r.public_ref)}</a></th>\n'
            f"      <td>{kind}</td>\n"
            f"      <td>{status}{waiting}</td>\n"
            f"      <td>{severity}</td>\n"
            f"      <td>{category}</td>\n"
            f"      <td>{department}</td>\n"
            f"      <td>{r.received_on.isoformat()}</td>\n"
            f"      <td>{due}{flag}</td>\n"
            "    </tr>"
        )
    return Markup("\n    ".join(parts))  # noqa: S704 (every value above is escaped or built from an int or a date)


def select_html(field: SelectField) -> Markup:
    """A labelled ``<select>`` of ``field``'s choices with its current value selected (no JavaScript needed)."""
    current = "" if field.data is None else str(field.data)
    options = "".join(
        f'\n    <option value="{_escaped(choice.value)}"{" selected" if str(choice.value) == current else ""}>'
        f"{_escaped(choice.label)}</option>"
        for choice in field.choices
    )
    return Markup(  # noqa: S704 (id, name, values and labels escaped above)
        '<div class="field">\n'
        f'  <label class="field-label" for="{_escaped(field.id)}">{_escaped(field.label.text)}</label>\n'
        f'  <select id="{_escaped(field.id)}" name="{_escaped(field.name)}">{options}\n'
        "  </select>\n"
        "</div>"
    )
