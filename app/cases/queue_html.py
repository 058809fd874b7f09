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
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from markupsafe import Markup
from wtforms import SelectField

from app.cases.queues import Page, QueueRow
from app.web.i18n import gettext, ngettext

# The five characters autoescape replaces: text without any of them is its own HTML.
_SPECIAL = re.compile("[&<>\"']")


def _escaped(value: object) -> str:
    """``value`` as HTML text, safe in element content and in quoted attributes ('' for None).

    ``Markup`` is kept as it is (as Jinja keeps it); everything else,
    translated labels included, goes through ``html.escape`` with quotes,
    which escapes the same five characters as ``markupsafe.escape`` at less
    than half its cost (it builds no ``Markup`` object). Text with none of
    the five (references, URLs, most names) is returned after one search.
    """
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    text = str(value)
    return html.escape(text, quote=True) if _SPECIAL.search(text) else text


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


class RowCache:
    """Rows' HTML by their content, for one language and one case URL: a row seen before is not written again.

    The key is the whole row (every column and both deadline flags as of
    the day), so an entry can never be stale: a changed row is another key.
    Bounded: emptied when it reaches ``maxsize`` rows.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self._html: dict[QueueRow, str] = {}
        self._maxsize = maxsize

    def __len__(self) -> int:
        return len(self._html)

    def written(self, rows: Sequence[QueueRow], write: Callable[[Sequence[QueueRow]], list[str]]) -> list[str]:
        """The HTML of each of ``rows``, ``write`` called once for those not seen before."""
        known = self._html
        found = [known.get(row) for row in rows]
        missing = [row for row, html_row in zip(rows, found, strict=True) if html_row is None]
        if not missing:
            return found  # type: ignore[return-value]
        if len(known) + len(missing) > self._maxsize:
            known.clear()
        fresh = iter(write(missing))
        out = []
        for row, html_row in zip(rows, found, strict=True):
            if html_row is None:
                html_row = known[row] = next(fresh)
            out.append(html_row)
        return out


def rows_html(
    rows: Sequence[QueueRow],
    labels: RowLabels,
    case_href: tuple[str, str],
    korean: bool,
    cache: RowCache | None = None,
) -> Markup:
    """The ``<tr>`` of each row: reference linking to the case, labels, dates, deadline flags in words.

    ``case_href`` is a case's URL as the text before and after its id
    (:func:`app.web.urls.url_parts`). Flags are words as well as a class, so
    they do not depend on colour (WCAG 1.4.1); the department is named in the
    page's language. With a ``cache`` (one per language and case URL), rows
    written before are taken from it.
    """

    def write(some: Sequence[QueueRow]) -> list[str]:
        return _written(some, labels, case_href, korean)

    parts = write(rows) if cache is None else cache.written(rows, write)
    return Markup("\n    ".join(parts))  # noqa: S704 (every value is escaped or built from an int or a date)


def _written(rows: Iterable[QueueRow], labels: RowLabels, case_href: tuple[str, str], korean: bool) -> list[str]:
    """The ``<tr>`` of each row (see :func:`rows_html`)."""
    href_head, href_tail = _escaped(case_href[0]), _escaped(case_href[1])
    overdue = f' <strong class="flag flag--overdue">{labels.overdue}</strong>'
    due_soon = f' <strong class="flag flag--due-soon">{labels.due_soon}</strong>'
    waiting_flag = f' <span class="flag flag--waiting">{labels.waiting}</span>'
    # A page has a few departments and categories, many times over: each is escaped once.
    departments: dict[str | None, str] = {}
    categories: dict[str | None, str] = {None: ""}
    categories.update(labels.categories)
    kinds, statuses, escaped, special, untriaged = (
        labels.kinds,
        labels.statuses,
        _escaped,
        _SPECIAL.search,
        labels.untriaged,
    )
    parts = []
    # Unpacked by position (QueueRow's field order): cheaper than an attribute per cell.
    for cid, ref, kind, status, severity, category, dep_ko, dep_en, received, due, waiting, late, soon in rows:
        if late:
            row_class, flag = ' class="row--overdue"', overdue
        elif soon:
            row_class, flag = ' class="row--due-soon"', due_soon
        else:
            row_class, flag = "", ""
        department_name = dep_ko if korean else dep_en
        department = departments.get(department_name)
        if department is None:
            department = departments[department_name] = escaped(department_name)
        category_label = categories.get(category)
        if category_label is None:
            category_label = categories[category] = escaped(category)
        if special(ref):
            ref = escaped(ref)
        parts.append(
            f"<tr{row_class}>\n"
            f'      <th scope="row"><a href="{href_head}{cid:d}{href_tail}">{ref}</a></th>\n'
            f"      <td>{kinds.get(kind) or escaped(kind)}</td>\n"
            f"      <td>{statuses.get(status) or escaped(status)}{waiting_flag if waiting else ''}</td>\n"
            f"      <td>{int(severity) if severity else untriaged}</td>\n"
            f"      <td>{category_label}</td>\n"
            f"      <td>{department}</td>\n"
            f"      <td>{received.isoformat()}</td>\n"
            f"      <td>{due.isoformat() if due else ''}{flag}</td>\n"
            "    </tr>"
        )
    return parts


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


def count_html(page: Page) -> Markup:
    """The line above the table: the total when this is the last page, and which cases are shown."""
    parts = []
    if page.total is not None:
        parts.append(ngettext("%(num)d case", "%(num)d cases", page.total))
    if page.rows:
        parts.append(gettext("Cases %(first)d to %(last)d", first=page.first, last=page.last))
    return Markup(_escaped(" · ".join(parts)))  # noqa: S704 (escaped)


class PageTexts(NamedTuple):
    """The words around a page of rows, in the current language, escaped: built once per language."""

    first_page: str
    previous_page: str
    next_page: str
    pages: str
    page_number: str  # "Page %(page)d", escaped, to be filled with an int
    past_end: str
    no_cases: str

    @classmethod
    def translated(cls) -> PageTexts:
        """The texts in the current language."""
        return cls(
            *(
                _escaped(gettext(text))
                for text in (
                    "First page",
                    "Previous page",
                    "Next page",
                    "Pages",
                    "Page %(page)d",
                    "This page is past the end of the queue.",
                    "No cases in this queue.",
                )
            )
        )


def tbody_html(page: Page, rows: Markup, texts: PageTexts, first_page_url: str) -> Markup:
    """The table's body: the rows, or why there are none (past the end, with a way back; or an empty queue)."""
    if page.rows:
        return rows
    if page.past_end:
        return Markup(  # noqa: S704 (texts and URL escaped)
            f'<tr><td colspan="8">{texts.past_end}'
            f' <a href="{_escaped(first_page_url)}">{texts.first_page}</a></td></tr>'
        )
    return Markup(f'<tr><td colspan="8">{texts.no_cases}</td></tr>')  # noqa: S704 (escaped text)


def pagination_html(page: Page, texts: PageTexts, link: Callable[..., str], params: Mapping[str, str]) -> Markup:
    """Links to the first, previous and next pages around the current page's number (nothing on a lone page)."""
    if not (page.page > 1 or page.has_next):
        return Markup("")
    items = []
    if page.page > 2:
        items.append(f'<a href="{_escaped(link(params, page=None))}">{texts.first_page}</a>')
    if page.page > 1 and not page.past_end:
        items.append(f'<a href="{_escaped(link(params, page=page.page - 1))}" rel="prev">{texts.previous_page}</a>')
    items.append(f'<span aria-current="page">{texts.page_number % {"page": page.page}}</span>')
    if page.has_next:
        items.append(f'<a href="{_escaped(link(params, page=page.page + 1))}" rel="next">{texts.next_page}</a>')
    listed = "".join(f"\n    <li>{item}</li>" for item in items)
    return Markup(  # noqa: S704 (texts and URLs escaped above)
        f'<nav class="pagination" aria-label="{texts.pages}">\n  <ul>{listed}\n  </ul>\n</nav>'
    )
