"""The dashboards' forms: the year and team chooser (a GET, no CSRF) and the CSV export (a POST, audited)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField
from wtforms.validators import AnyOf, InputRequired, NumberRange, Optional

from app.dashboards.panels import PANEL_IDS
from app.web.i18n import lazy_gettext as _l


class FilterForm(FlaskForm):
    """Which year (and on the team page, which team) the panels count; read from the query string."""

    class Meta:
        csrf = False

    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(min=2000, max=2200)])
    team = SelectField(_l("Team"), choices=[], validators=[Optional()], validate_choice=False)


class ExportForm(FlaskForm):
    """Download one panel as CSV: a POST so that each export is audited (the CSRF token comes with it)."""

    panel = HiddenField(validators=[InputRequired(), AnyOf(PANEL_IDS)])
    year = HiddenField(validators=[InputRequired()])
    team = HiddenField()
