"""Turning the service's counts into panels: a title, an accessible table, a chart, and the same as CSV.

The table is the panel: the chart draws its numeric columns and the CSV
download writes it cell for cell, so the three can never disagree.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.queue_views import KIND_LABELS, STATUS_LABELS
from app.dashboards import service
from app.dashboards.charts import Chart, grouped_bars
from app.models.cases import Department
from app.models.protection import CheckInAnswer
from app.reporting.forms import CATEGORY_LABELS
from app.support.forms import TYPE_LABELS
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as _l

Cell = int | str

# The five Cheongbaek-e linked systems (codes as monitoring_bridge.adapters.cheongbaek.SYSTEMS).
SYSTEM_LABELS = {
    "e_hojo": _l("Local finance (e-Hojo)"),
    "local_tax": _l("Local tax"),
    "non_tax": _l("Non-tax revenue"),
    "saeol": _l("Saeol permits and licences"),
    "personnel": _l("Local personnel"),
}


def system_label(code: str) -> str:
    """A linked system's name in the reader's language; alerts imported before it was kept: "(unknown)"."""
    found = SYSTEM_LABELS.get(code)
    return str(found) if found is not None else (code or _("(unknown)"))


@dataclass
class Panel:
    """One dashboard panel: ``rows`` are (row heading, cells); ``chart_columns`` says which cells are drawn."""

    panel_id: str
    title: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]]
    chart_columns: list[int] = field(default_factory=list)
    note: str = ""
    footer: tuple[str, list[Cell]] | None = None

    def chart(self) -> Chart | None:
        """The bar chart of this panel's numeric columns, or None when it has no rows."""
        if not self.rows or not self.chart_columns:
            return None
        series = [self.columns[i + 1] for i in self.chart_columns]
        data = [(label, [_number(cells[i]) for i in self.chart_columns]) for label, cells in self.rows]
        return grouped_bars(f"chart-{self.panel_id}", self.title, series, data)

    def csv(self) -> str:
        """The table as CSV (UTF-8 with a BOM so spreadsheet programs read Korean correctly)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.columns)
        for label, cells in self.rows:
            writer.writerow([_safe(label), *cells])
        if self.footer is not None:
            writer.writerow([_safe(self.footer[0]), *self.footer[1]])
        return "\ufeff" + out.getvalue()


def _number(cell: Cell) -> int:
    """A cell's bar length: a dash ("no budget set") draws as nothing."""
    return cell if isinstance(cell, int) else 0


def _safe(text: str) -> str:
    # Threat: a spreadsheet running a label that starts like a formula (labels come from admins and feeds).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def percent(bp: int | None) -> str:
    """Basis points as a percentage with two decimals ("—" when there is nothing to divide)."""
    return "—" if bp is None else f"{bp // 100}.{bp % 100:02d} %"


def _labels(table: Mapping[Any, Any]) -> Callable[[str], str]:
    def label(key: str) -> str:
        return str(table[key]) if key in table else (key or _("(none)"))

    return label


def department_label(db: Session, locale: str) -> Callable[[str], str]:
    """Department code to its name in the reader's language."""
    names = {
        code: (ko if locale == "ko" else en)
        for code, ko, en in db.execute(select(Department.code, Department.name_ko, Department.name_en)).all()
    }
    return lambda code: names.get(code, code) if code else _("(no department)")


PANEL_IDS = (
    "cases_kind",
    "cases_status",
    "cases_category",
    "cases_department",
    "deadlines",
    "alerts_system",
    "alerts_department",
    "training",
    "support",
    "protection",
)


@dataclass(frozen=True)
class Context:
    """What every panel needs: the database, scope, year, today, the alert deadline, the reader's language."""

    db: Session
    scope: service.Scope
    year: int
    today: dt.date
    explanation_days: int
    locale: str


def build(ctx: Context, panel_id: str) -> Panel:
    """One panel by id (the dashboard pages and the CSV export share this)."""
    if panel_id.startswith("cases_"):
        return _cases(ctx, panel_id.removeprefix("cases_"))
    if panel_id.startswith("alerts_"):
        return _alerts(ctx, panel_id.removeprefix("alerts_"))
    builders: dict[str, Callable[[Context], Panel]] = {
        "deadlines": _deadlines,
        "training": _training,
        "support": _support,
        "protection": _protection,
    }
    if panel_id not in builders:
        raise service.DashboardError(panel_id)
    return builders[panel_id](ctx)


def _cases(ctx: Context, dimension: str) -> Panel:
    counts = service.cases_by(ctx.db, ctx.scope, dimension)
    label = {
        "kind": _labels(KIND_LABELS),
        "status": _labels(STATUS_LABELS),
        "category": _labels(CATEGORY_LABELS),
        "department": department_label(ctx.db, ctx.locale),
    }[dimension]
    titles = {
        "kind": _("Cases by kind"),
        "status": _("Cases by state"),
        "category": _("Cases by category"),
        "department": _("Cases by department"),
    }
    heads = {"kind": _("Kind"), "status": _("State"), "category": _("Category"), "department": _("Department")}
    return Panel(
        panel_id=f"cases_{dimension}",
        title=titles[dimension],
        columns=[heads[dimension], _("Cases")],
        rows=[(label(c.key), [c.count]) for c in counts],
        chart_columns=[0],
        footer=(_("Total"), [service.total(counts)]),
    )


def _month_name(month: int) -> str:
    return str(_("Month %(m)d", m=month))


def _deadlines(ctx: Context) -> Panel:
    months = service.deadlines_by_month(ctx.db, ctx.scope, ctx.year, ctx.today)
    return Panel(
        panel_id="deadlines",
        title=_("Deadlines met and missed per month, %(year)d", year=ctx.year),
        columns=[
            _("Month due"),
            _("Acknowledgement met"),
            _("Acknowledgement missed"),
            _("Acknowledgement not yet due"),
            _("Feedback met"),
            _("Feedback missed"),
            _("Feedback not yet due"),
        ],
        rows=[
            (
                _month_name(m.month),
                [m.ack_met, m.ack_missed, m.ack_open, m.feedback_met, m.feedback_missed, m.feedback_open],
            )
            for m in months
        ],
        chart_columns=[0, 1, 3, 4],
        note=_(
            "Acknowledgement is due 7 days after receipt and feedback 3 months after acknowledgement "
            "(per kind of case as configured); a deadline is met when the act falls on or before its day (Seoul)."
        ),
    )


def _alerts(ctx: Context, dimension: str) -> Panel:
    groups = service.alerts_by(ctx.db, ctx.scope, dimension, ctx.today, ctx.explanation_days)
    label = system_label if dimension == "system" else department_label(ctx.db, ctx.locale)
    return Panel(
        panel_id=f"alerts_{dimension}",
        title=_("Alerts per linked system") if dimension == "system" else _("Alerts per department"),
        columns=[
            _("Linked system") if dimension == "system" else _("Department"),
            _("Open"),
            _("Answered on time"),
            _("Answered late"),
            _("Overdue, unanswered"),
            _("All alerts"),
            _("Share answered on time"),
        ],
        rows=[
            (
                label(g.key),
                [g.open, g.answered_on_time, g.answered_late, g.overdue_unanswered, g.total, percent(g.on_time_bp)],
            )
            for g in groups
        ],
        chart_columns=[0, 1, 3],
        note=_(
            "A department must explain or act within %(days)d days of an alert; the share counts alerts "
            "answered or past that deadline.",
            days=ctx.explanation_days,
        ),
    )


def _training(ctx: Context) -> Panel:
    lines = service.training_by_department(ctx.db)
    label = department_label(ctx.db, ctx.locale)
    return Panel(
        panel_id="training",
        title=_("Mandatory transparency training per department"),
        columns=[_("Department"), _("Completed"), _("Not completed"), _("Enrolled"), _("Completion")],
        rows=[
            (label(t.department), [t.completed, t.total - t.completed, t.total, percent(t.basis_points)]) for t in lines
        ],
        chart_columns=[0, 1],
        note=_("Across the whole organisation, from the training records of the monitoring bridge."),
    )


def _support(ctx: Context) -> Panel:
    lines = service.support_against_budget(ctx.db, ctx.scope, ctx.year)
    label = _labels(TYPE_LABELS)
    return Panel(
        panel_id="support",
        title=_("Support paid against budget, %(year)d (won)", year=ctx.year),
        columns=[_("Kind of support"), _("Budget"), _("Paid"), _("Share of budget paid")],
        rows=[
            (label(s.support_type), [s.budget if s.budget is not None else "—", s.paid, percent(s.used_bp)])
            for s in lines
        ],
        chart_columns=[0, 1],
        note=_("Budgets are set on the support ledger page by legal officers and supervisors."),
    )


def _protection(ctx: Context) -> Panel:
    data = service.protection(ctx.db, ctx.scope, ctx.year, ctx.today)
    answer_labels = {
        CheckInAnswer.ALL_WELL.value: _("all well"),
        CheckInAnswer.CONCERN.value: _("a concern"),
        CheckInAnswer.RETALIATION.value: _("retaliation"),
    }
    answers = ", ".join(f"{answer_labels.get(k, k)}: {n}" for k, n in data.answers.items())
    return Panel(
        panel_id="protection",
        title=_("Retaliation alerts and check-ins, %(year)d", year=ctx.year),
        columns=[
            _("Month"),
            _("Alerts open"),
            _("Alerts acknowledged"),
            _("Alerts closed"),
            _("Check-ins answered"),
            _("Check-ins missed"),
            _("Check-ins not yet due"),
        ],
        rows=[
            (
                _month_name(m.month),
                [
                    m.alerts_open,
                    m.alerts_acknowledged,
                    m.alerts_closed,
                    m.checkins_answered,
                    m.checkins_missed,
                    m.checkins_pending,
                ],
            )
            for m in data.months
        ],
        chart_columns=[0, 4],
        note=_("Check-in answers this year: %(answers)s.", answers=answers),
    )
