"""The dashboards: the supervisors' over every case, and a team's over the cases sealed to that team.

Pages work without JavaScript: the year and team are a GET form, each panel
is a table with a server-drawn SVG chart beside it, and its CSV is a small
POST form (audited, like the ledger export).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.audit import record
from app.authz import staff_required
from app.cases.deadlines import local_today
from app.cases.queues import confirmed_teams
from app.dashboards import panels
from app.dashboards.forms import ExportForm, FilterForm
from app.dashboards.service import DashboardError, Scope
from app.db import get_session, utcnow
from app.models.staff import Role, Team, TeamKind
from app.runtime import get_settings
from app.web.params import small_int

bp = Blueprint("dashboards", __name__, url_prefix="/staff/dashboards")
TEAM_ROLES = (Role.INTAKE, Role.INVESTIGATOR, Role.LEGAL, Role.PROTECTION, Role.SUPERVISOR)
SUPERVISOR_PANELS = panels.PANEL_IDS
# A team sees what concerns its own cases; training is organisation-wide and naming no one, so everyone sees it.
# The protection panel (retaliation alerts, check-in answers) tells that a case's reporter is protected and how
# they answered: that is for the custodians (the protection team) and the supervisors, not for a team that merely
# holds the case key.
TEAM_PANELS = tuple(p for p in panels.PANEL_IDS if p != "protection")
CUSTODIAN_PANELS = panels.PANEL_IDS
MAX_ID_DIGITS = 9  # ids and years fit in nine digits; longer input is refused before int() ever sees it


def _year(raw: object) -> int:
    today = local_today(utcnow())
    year = raw if isinstance(raw, int) else today.year
    return year if 2000 <= year <= 2200 else today.year


def _context(scope: Scope, year: int) -> panels.Context:
    locale = get_locale()
    return panels.Context(
        db=get_session(),
        scope=scope,
        year=year,
        today=local_today(utcnow()),
        explanation_days=get_settings().bridge_explanation_days,
        locale=str(locale) if locale is not None else get_settings().default_locale,
    )


def _team_scope(team_id: int | None) -> tuple[Scope, Team] | None:
    """The scope of one of the viewer's confirmed teams (the first when none is chosen), or None."""
    teams = confirmed_teams(get_session(), current_user)
    if not teams:
        return None
    chosen = next((t for t in teams if t.id == team_id), None) if team_id is not None else teams[0]
    if chosen is None:
        abort(404)  # not a team of theirs: the same answer as a team that does not exist
    scope = Scope(viewer_id=current_user.id, team_ids=(chosen.id,), custodian=chosen.kind == TeamKind.PROTECTION.value)
    return scope, chosen


def _team_panels(scope: Scope) -> tuple[str, ...]:
    return CUSTODIAN_PANELS if scope.custodian else TEAM_PANELS


def _int(raw: str | None, malformed: int) -> int | None:
    """None when absent; up to nine ASCII digits as a number; anything else aborts with ``malformed``.

    ``str.isdigit`` alone accepts "²" and other Unicode digits that ``int``
    refuses (a 500), so the check is ASCII digits of bounded length.
    """
    if not raw:
        return None
    number = small_int(raw, MAX_ID_DIGITS)
    if number is None:
        abort(malformed)
    return number


@bp.route("/")
@staff_required(Role.SUPERVISOR)
def overview() -> ResponseReturnValue:
    """The supervisors' dashboard: every panel over every case."""
    form = FilterForm(request.args)
    year = _year(form.year.data if form.validate() else None)
    ctx = _context(Scope(viewer_id=current_user.id), year)
    return render_template(
        "dashboards/dashboard.html",
        heading="supervisor",
        panels=[panels.build(ctx, p) for p in SUPERVISOR_PANELS],
        year=year,
        form=form,
        team=None,
        teams=[],
    )


@bp.route("/team")
@staff_required(*TEAM_ROLES)
def team() -> ResponseReturnValue:
    """A team's dashboard: the panels over the cases sealed to that team."""
    teams = confirmed_teams(get_session(), current_user)
    form = FilterForm(request.args)
    form.team.choices = [SelectChoice(str(t.id), t.name) for t in teams]
    valid = form.validate()
    year = _year(form.year.data if valid else None)
    scoped = _team_scope(_int(request.args.get("team"), 404))
    if scoped is None:
        return render_template(
            "dashboards/dashboard.html", heading="team", panels=[], year=year, form=form, team=None, teams=[]
        )
    scope, chosen = scoped
    form.team.data = str(chosen.id)
    ctx = _context(scope, year)
    return render_template(
        "dashboards/dashboard.html",
        heading="team",
        panels=[panels.build(ctx, p) for p in _team_panels(scope)],
        year=year,
        form=form,
        team=chosen,
        teams=teams,
    )


@bp.route("/export", methods=["POST"])
@staff_required(*TEAM_ROLES)
def export() -> ResponseReturnValue:
    """One panel as CSV; the whole-office scope is for supervisors, a team's for its members."""
    form = ExportForm()
    if not form.validate_on_submit():
        abort(400)
    year = _year(_int(form.year.data, 400))
    team_id = _int(form.team.data, 400)
    if team_id is None:
        if not current_user.has_role(Role.SUPERVISOR):
            abort(403)
        scope = Scope(viewer_id=current_user.id)
        label = "all"
    else:
        scoped = _team_scope(team_id)
        if scoped is None:
            abort(404)
        scope, _chosen = scoped
        label = f"team{team_id}"
        if form.panel.data in panels.PANEL_IDS and form.panel.data not in _team_panels(scope):
            abort(403)
    try:
        panel = panels.build(_context(scope, year), form.panel.data or "")
    except DashboardError:
        abort(400)
    db = get_session()
    record(db, "dashboard.exported", actor_user_id=current_user.id, target=f"{panel.panel_id}:{label}:{year}")
    db.commit()
    resp = Response(panel.csv(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="haechi-{panel.panel_id}-{label}-{year}.csv"'
    resp.headers["Cache-Control"] = "no-store"
    return resp
