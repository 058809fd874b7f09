"""The support ledger across cases: entries, budgets per year and type with what remains, CSV export.

For legal officers and supervisors. No free text and no identity appears
here: only case references, types, amounts, dates and payment references.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.authz import staff_required
from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.models.staff import Role
from app.support import service
from app.support.errors import SupportError
from app.support.forms import TYPE_LABELS, BudgetForm, ExportForm
from app.web.i18n import gettext as _
from app.web.params import small_int

bp = Blueprint("ledger", __name__, url_prefix="/staff/ledger")
MONEY_ROLES = (Role.LEGAL, Role.SUPERVISOR)


def _year() -> int:
    year = small_int(request.args.get("year", ""), 4)
    return year if year is not None and 2000 <= year <= 2200 else local_today(utcnow()).year


@bp.route("/")
@staff_required(*MONEY_ROLES)
def ledger() -> ResponseReturnValue:
    """This year's ledger entries (or another year's) and the budgets with their remaining balance."""
    year = _year()
    db = get_session()
    return render_template(
        "staff/support/ledger.html",
        year=year,
        ledger=service.ledger(db, year, visible_to=current_user),
        budgets=service.budget_lines(db, year),
        type_labels=TYPE_LABELS,
        budget_form=BudgetForm(year=year),
        export_form=ExportForm(year=year),
    )


@bp.route("/budgets", methods=["POST"])
@staff_required(*MONEY_ROLES)
def set_budget() -> ResponseReturnValue:
    """Set a year's budget for one type of support."""
    form = BudgetForm()
    db = get_session()
    if not form.validate_on_submit():
        flash(_("Check the budget: a year, a kind of support and an amount in won."), "error")
        return redirect(url_for("ledger.ledger")), 400
    try:
        year, kind = form.year.data or 0, form.support_type.data or ""
        service.set_budget(db, current_user, year, kind, form.amount.data, utcnow())
        db.commit()
    except SupportError as exc:
        db.rollback()
        flash(_("Not possible: %(why)s", why=str(exc)), "error")
        return redirect(url_for("ledger.ledger", year=form.year.data)), 400
    flash(_("The budget was saved."), "info")
    return redirect(url_for("ledger.ledger", year=form.year.data))


@bp.route("/export", methods=["POST"])
@staff_required(*MONEY_ROLES)
def export() -> ResponseReturnValue:
    """Download the ledger as CSV for accounting (a POST: each export is audited)."""
    form = ExportForm()
    if not form.validate_on_submit():
        flash(_("Give a year such as 2026, or leave it empty."), "error")
        return redirect(url_for("ledger.ledger")), 400
    db = get_session()
    body = service.export_csv(db, current_user, form.year.data, utcnow())
    db.commit()
    name = f"haechi-ledger-{form.year.data or 'all'}.csv"
    resp = Response(body, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp
