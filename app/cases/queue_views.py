"""The queue page: one GET form of filters, tabs for the views, sortable columns, pages.

Everything is a link or a GET form, so the page works without JavaScript and
every state of it has a URL an officer can bookmark or send a colleague.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping
from typing import Any
from urllib.parse import quote_plus

from flask import Blueprint, abort, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from app.authz import staff_required
from app.cases import queue_html, queues
from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.models.bridge import BridgeSource
from app.models.cases import CaseKind, CaseStatus, Department
from app.models.staff import Role
from app.reporting.forms import CATEGORY_LABELS
from app.runtime import get_settings
from app.web.frames import frames
from app.web.i18n import current_locale
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as _l
from app.web.urls import route_url, url_parts

bp = Blueprint("queues", __name__, url_prefix="/staff/queues")
CASE_ROLES = (Role.INTAKE, Role.INVESTIGATOR, Role.LEGAL, Role.PROTECTION, Role.SUPERVISOR)

VIEW_LABELS = {
    queues.QueueView.NEW: _l("New"),
    queues.QueueView.MINE: _l("Mine"),
    queues.QueueView.OVERDUE: _l("Overdue"),
    queues.QueueView.DUE_SOON: _l("Due soon"),
    queues.QueueView.WAITING: _l("Waiting on reporter"),
    queues.QueueView.STATE: _l("By state"),
}
STATUS_LABELS = {
    CaseStatus.RECEIVED: _l("Received"),
    CaseStatus.ACKNOWLEDGED: _l("Acknowledged"),
    CaseStatus.TRIAGE: _l("Triage"),
    CaseStatus.INVESTIGATING: _l("Investigating"),
    CaseStatus.LEGAL_REVIEW: _l("Legal review"),
    CaseStatus.RESOLVED: _l("Resolved"),
    CaseStatus.CLOSED: _l("Closed"),
    CaseStatus.RAISED: _l("Raised"),
    CaseStatus.EXPLANATION_REQUESTED: _l("Explanation requested"),
    CaseStatus.EXPLAINED: _l("Explained"),
    CaseStatus.ACTION_TAKEN: _l("Action taken"),
    CaseStatus.ACCEPTED: _l("Accepted"),
    CaseStatus.ESCALATED: _l("Escalated"),
    CaseStatus.UNDER_REVIEW: _l("Under review"),
    CaseStatus.ADOPTED: _l("Adopted"),
    CaseStatus.NOT_ADOPTED: _l("Not adopted"),
    CaseStatus.ASSESSING: _l("Assessing"),
    CaseStatus.MEASURE_REQUESTED: _l("Protective measure requested"),
    CaseStatus.MEASURE_DECIDED: _l("Measure decided"),
    CaseStatus.COMPLIANCE_MONITORING: _l("Compliance monitoring"),
}
KIND_LABELS = {
    CaseKind.REPORT: _l("Report"),
    CaseKind.ALERT: _l("Alert"),
    CaseKind.TRAINING: _l("Training"),
    CaseKind.SUPPORTER: _l("Supporter"),
    CaseKind.IDEA: _l("Idea"),
    CaseKind.RETALIATION: _l("Retaliation"),
}
SORT_LABELS = {
    queues.QueueSort.DUE: _l("Nearest deadline"),
    queues.QueueSort.SEVERITY: _l("Severity"),
    queues.QueueSort.AGE: _l("Age"),
}
ANY = SelectChoice("", _l("Any"))


class QueueFilterForm(FlaskForm):
    """The queue's filters, read from the query string (no CSRF: a GET changes nothing)."""

    class Meta:
        csrf = False

    view = SelectField(
        _l("View"), choices=[SelectChoice(v.value, label) for v, label in VIEW_LABELS.items()], default="new"
    )
    team = SelectField(_l("Team"), choices=[], default="")
    state = SelectField(
        _l("State"), choices=[ANY, *(SelectChoice(s.value, label) for s, label in STATUS_LABELS.items())], default=""
    )
    kind = SelectField(
        _l("Kind"), choices=[ANY, *(SelectChoice(k.value, label) for k, label in KIND_LABELS.items())], default=""
    )
    category = SelectField(
        _l("Category"),
        choices=[ANY, *(SelectChoice(c, label) for c, label in CATEGORY_LABELS.items())],
        validate_choice=False,  # an alert's category is its scenario code (at most 40 characters)
        validators=[Length(max=40)],
        default="",
    )
    department = SelectField(_l("Department"), choices=[], default="")
    source = SelectField(_l("Source"), choices=[], default="")
    sort = SelectField(
        _l("Sort by"), choices=[SelectChoice(s.value, label) for s, label in SORT_LABELS.items()], default="due"
    )
    page = IntegerField(_l("Page"), default=1, validators=[Optional(), NumberRange(min=1, max=1_000_000)])


def _query_of(form: QueueFilterForm) -> queues.QueueQuery:
    """The service query of a validated form."""
    return queues.QueueQuery(
        view=queues.QueueView(form.view.data),
        team_id=int(form.team.data) if form.team.data else None,
        state=CaseStatus(form.state.data) if form.state.data else None,
        kind=form.kind.data or None,
        category=form.category.data or None,
        department_id=int(form.department.data) if form.department.data else None,
        source=form.source.data or None,
        sort=queues.QueueSort(form.sort.data),
        page=form.page.data or 1,
    )


def _params(form: QueueFilterForm) -> dict[str, str]:
    """The non-empty parameters of the current page, for links that change one of them."""
    return {
        name: str(form[name].data)
        for name in ("view", "team", "state", "kind", "category", "department", "source", "sort")
        if form[name].data
    }


_quoted = functools.lru_cache(maxsize=1024)(quote_plus)


def queue_linker() -> Callable[..., str]:
    """``link(params, **changes)``: this queue's URL with ``changes`` applied (None drops a parameter).

    The route is resolved once per page and the query string appended per
    link (a page has a dozen: tabs, sort headers, pages), as ``url_for``
    would append it.
    """
    base = route_url("queues.index")

    def link(params: Mapping[str, str], **changes: object) -> str:
        merged: dict[str, Any] = {**params, **changes}
        # As urlencode writes it, each name and value quoted once per process rather than per link.
        query = "&".join(f"{_quoted(k)}={_quoted(str(v))}" for k, v in merged.items() if v not in (None, ""))
        return f"{base}?{query}" if query else base

    return link


@functools.lru_cache(maxsize=8)
def _labels_in(locale: str) -> dict[str, dict[str, str]]:
    """The page's labels, translated once per language (keyed by the locale current when called)."""
    return {
        "view_labels": {k.value: str(v) for k, v in VIEW_LABELS.items()},
        "sort_labels": {k.value: str(v) for k, v in SORT_LABELS.items()},
        "status_labels": {k.value: str(v) for k, v in STATUS_LABELS.items()},
        "kind_labels": {k.value: str(v) for k, v in KIND_LABELS.items()},
    }


@functools.lru_cache(maxsize=8)
def _row_labels_in(locale: str) -> queue_html.RowLabels:
    page_labels = _labels_in(locale)
    return queue_html.RowLabels.of(
        page_labels["kind_labels"],
        page_labels["status_labels"],
        waiting=_("waiting on reporter"),
        untriaged=_("not triaged"),
        overdue=_("Overdue"),
        due_soon=_("Due soon"),
        categories={code: str(label) for code, label in CATEGORY_LABELS.items()},
    )


@functools.lru_cache(maxsize=8)
def _texts_in(locale: str) -> queue_html.PageTexts:
    return queue_html.PageTexts.translated()


@functools.lru_cache(maxsize=16)
def _row_cache(locale: str, case_href: tuple[str, str]) -> queue_html.RowCache:
    """The HTML of rows already written in this language with this case URL (content-keyed, so never stale)."""
    return queue_html.RowCache()


def forget_kept_pages() -> None:
    """Forget the queue's kept frames, replayed statements and written rows (the first-view benchmark)."""
    frames().clear()
    queues.REPLAY.clear()
    _row_cache.cache_clear()


# What the page's frame shows besides the layout: the filters as chosen and the choices offered.
_FRAME_FIELDS = ("view", "team", "state", "kind", "category", "department", "source", "sort")


def _frame_key(form: QueueFilterForm) -> Hashable:
    offered = tuple(
        tuple((choice.value, str(choice.label)) for choice in form[name].choices)
        for name in ("team", "department", "source")
    )
    return (tuple(form[name].data for name in _FRAME_FIELDS), offered)


def render_queue(form: QueueFilterForm, page: queues.Page) -> str:
    """The queue page's HTML (the view and ``make bench`` both render through here).

    The page is a frame (:mod:`app.web.frames`) keyed by the filters and the
    choices offered; its rows, counts and page links are filled in per request.
    """
    locale = current_locale()
    params = _params(form)
    link = queue_linker()
    texts = _texts_in(locale)
    # Rows in Python, not Jinja: see app.cases.queue_html.
    case_href = url_parts("staff_cases.case_detail", "case_id")
    rows = queue_html.rows_html(
        page.rows, _row_labels_in(locale), case_href, korean=locale == "ko", cache=_row_cache(locale, case_href)
    )
    holes = {
        "count_html": queue_html.count_html(page),
        "tbody_html": queue_html.tbody_html(page, rows, texts, link(params, page=None) if page.past_end else ""),
        "pagination_html": queue_html.pagination_html(page, texts, link, params),
    }
    context = {
        "form": form,
        "select_html": queue_html.select_html,
        "params": params,
        "queue_link": link,
        **_labels_in(locale),
    }
    # A category the selector does not offer (an alert's scenario code, typed into the URL)
    # is shown, but its frame not kept: any text is accepted there, and must not push
    # the officers' usual pages out of the cache.
    offered = not form.category.data or form.category.data in CATEGORY_LABELS
    return frames().render("staff/queues/index.html", _frame_key(form), context, holes, keep=offered)


@bp.route("/")
@staff_required(*CASE_ROLES)
def index() -> ResponseReturnValue:
    """A queue of cases the user can open: new, mine, overdue, due soon, waiting, by state."""
    db = get_session()
    settings = get_settings()
    teams = queues.confirmed_teams(db, current_user)
    form = QueueFilterForm(formdata=request.args)
    form.team.choices = [SelectChoice("", _l("All my teams")), *(SelectChoice(str(t.id), t.name) for t in teams)]
    departments = db.scalars(select(Department).order_by(Department.code))
    form.department.choices = [ANY, *(SelectChoice(str(d.id), f"{d.name_en} / {d.name_ko}") for d in departments)]
    sources = db.scalars(select(BridgeSource.name).order_by(BridgeSource.name))
    form.source.choices = [ANY, SelectChoice("web", _l("Web")), *(SelectChoice(name, name) for name in sources)]
    if not form.validate():
        abort(400)
    page = queues.queue_page(
        db,
        current_user,
        _query_of(form),
        local_today(utcnow()),
        settings.due_soon_days,
        team_ids=[t.id for t in teams],
    )
    return render_queue(form, page)
