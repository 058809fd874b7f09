"""Forms of the protection pages: reporter check-ins and complaints, staff protection, alerts and checks."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.protection.checkins import MAX_TEXT, TREATMENT_KINDS
from app.protection.retaliation import MEASURE_TYPES
from app.web.i18n import lazy_gettext as _l

TREATMENT_LABELS = {
    "transfer": _l("Transfer to another post"),
    "demotion": _l("Demotion"),
    "disciplinary_action": _l("Disciplinary action"),
    "suspension": _l("Suspension"),
    "pay_cut": _l("Pay cut"),
    "performance_rating": _l("Bad performance rating"),
    "promotion_refused": _l("Promotion refused"),
    "duties_removed": _l("Duties taken away"),
    "contract_not_renewed": _l("Contract not renewed"),
    "dismissal": _l("Dismissal"),
    "harassment": _l("Harassment, exclusion or threats"),
    "other": _l("Something else"),
    "promotion": _l("Promotion"),
}
ANSWER_LABELS = {
    "all_well": _l("All is well: I have not been treated worse for reporting"),
    "concern": _l("Something worries me"),
    "retaliation": _l("I have been treated worse because I reported"),
}
COMPLIANCE_LABELS = {
    "complied": _l("Complied with"),
    "partly_complied": _l("Partly complied with"),
    "not_complied": _l("Not complied with"),
}


class CheckInForm(FlaskForm):
    """A protected reporter's answer to one check-in."""

    check_in = HiddenField(validators=[DataRequired()])
    answer = RadioField(
        _l("Since you reported, have you been treated worse at work?"),
        choices=[SelectChoice(k, v) for k, v in ANSWER_LABELS.items()],
        validators=[DataRequired(message=_l("Choose one answer."))],
    )
    kinds = SelectMultipleField(
        _l("What happened? Tick all that apply."),
        choices=[SelectChoice(k, TREATMENT_LABELS[k]) for k in TREATMENT_KINDS],
        validators=[Optional()],
    )
    text = TextAreaField(
        _l("Tell us more (optional)"),
        description=_l("Only the team that protects you reads this. It is stored encrypted."),
        validators=[Optional(), Length(max=MAX_TEXT)],
    )


class ComplaintForm(FlaskForm):
    """A retaliation complaint from the reporter's inbox."""

    what = TextAreaField(
        _l("What was done to you, by whom, and why do you think it is because you reported?"),
        validators=[DataRequired(message=_l("Describe what happened.")), Length(max=MAX_TEXT)],
    )
    measure_type = SelectField(
        _l("What kind of treatment was it?"),
        choices=[SelectChoice("", _l("Choose if one fits"))]
        + [SelectChoice(k, TREATMENT_LABELS[k]) for k in MEASURE_TYPES],
        validators=[Optional()],
    )
    measure_on = DateField(
        _l("When was it done to you? (if you know)"),
        description=_l("You can ask for protective measures up to one year after that day."),
        validators=[Optional()],
    )


class ProtectForm(FlaskForm):
    """A custodian protects the reporter of a case from its identity record."""

    public_ref = StringField(_l("Case reference"), validators=[DataRequired(), Length(max=20)])
    employee_number = StringField(
        _l("Employee number (leave empty to use the one in the identity record)"),
        validators=[Optional(), Length(max=40)],
    )


class ExtendForm(FlaskForm):
    """Extend a protection period."""

    until = DateField(_l("Protected until"), validators=[DataRequired()])


class AlertStatusForm(FlaskForm):
    """Acknowledge or close an alert."""

    status = HiddenField(validators=[DataRequired()])


class ButtonForm(FlaskForm):
    """Only the CSRF token: the action takes no input."""


class ComplianceForm(FlaskForm):
    """Record one compliance check."""

    result = RadioField(
        _l("What did the check find?"),
        choices=[SelectChoice(k, v) for k, v in COMPLIANCE_LABELS.items()],
        validators=[DataRequired()],
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_TEXT)])


STATE_LABELS = {
    "received": _l("Received"),
    "assessing": _l("Assessing"),
    "measure_requested": _l("Protective measure requested"),
    "measure_decided": _l("Measure decided"),
    "compliance_monitoring": _l("Compliance monitoring"),
    "closed": _l("Closed"),
}
ALERT_LABELS = {"open": _l("Open"), "acknowledged": _l("Being looked at"), "closed": _l("Closed")}
# What a reporter reads about their retaliation report (the internal states stay internal).
REPORTER_STATE_WORDS = {
    "received": _l("Received. The protection team will take it up within 3 days."),
    "assessing": _l("The protection team is assessing what happened to you."),
    "measure_requested": _l("Protective measures have been requested for you."),
    "measure_decided": _l("A decision on protective measures has been taken; the team will tell you in a message."),
    "compliance_monitoring": _l("The team checks that the protective measures are respected."),
    "closed": _l("Closed."),
}
