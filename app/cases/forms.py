"""Forms of the staff case pages (CSRF on every one; ``version`` carries the optimistic lock)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.models.cases import CaseOutcome, EntryKind, GranteeKind, LinkRelation
from app.web.i18n import lazy_gettext as _l

OUTCOME_LABELS = {
    CaseOutcome.SUBSTANTIATED: _l("Substantiated"),
    CaseOutcome.UNSUBSTANTIATED: _l("Unsubstantiated"),
    CaseOutcome.REFERRED_POLICE: _l("Referred to the police"),
    CaseOutcome.REFERRED_PROSECUTION: _l("Referred to the prosecution"),
    CaseOutcome.REFERRED_ACRC: _l("Referred to the Anti-Corruption and Civil Rights Commission"),
    CaseOutcome.WITHDRAWN: _l("Withdrawn"),
}
RELATION_LABELS = {
    LinkRelation.RELATED: _l("is related to"),
    LinkRelation.DUPLICATE_OF: _l("is a duplicate of"),
    LinkRelation.RETALIATION_OF: _l("is retaliation for"),
    LinkRelation.ALERT_FOR: _l("is an alert for"),
    LinkRelation.FOLLOW_UP_OF: _l("is a follow-up of"),
}
# A link read from either of its cases (``app.cases.service.links_of``): the case that made it
# reads the relation, the other its inverse. Keyed by those codes so the page never shows one raw.
LINK_LABELS = {
    **{relation.value: label for relation, label in RELATION_LABELS.items()},
    "has_duplicate": _l("has a duplicate"),
    "has_retaliation": _l("has a retaliation complaint"),
    "has_alert": _l("has an alert"),
    "has_follow_up": _l("has a follow-up"),
}
GRANTEE_LABELS = {
    GranteeKind.TEAM: _l("Team"),
    GranteeKind.USER: _l("Person"),
    GranteeKind.REPORTER: _l("Reporter"),
    GranteeKind.RECOVERY: _l("Recovery key"),
}
ENTRY_LABELS = {
    EntryKind.REPORT: _l("Report received"),
    EntryKind.MESSAGE_IN: _l("Message from the reporter"),
    EntryKind.MESSAGE_OUT: _l("Message sent to the reporter"),
    EntryKind.NOTE: _l("Internal note"),
    EntryKind.QUESTION: _l("Question to the reporter"),
    EntryKind.ANSWER: _l("Answer from the reporter"),
    EntryKind.STATUS_CHANGE: _l("Status changed"),
    EntryKind.FILE: _l("File"),
}


class TransitionForm(FlaskForm):
    version = HiddenField()
    target = SelectField(_l("Move to"), choices=[], validate_choice=False)
    outcome = SelectField(
        _l("Outcome"),
        choices=[SelectChoice("", "—")] + [SelectChoice(o.value, label) for o, label in OUTCOME_LABELS.items()],
        validators=[Optional()],
    )
    reasons = TextAreaField(_l("Reasons (written record)"), validators=[Optional(), Length(max=20_000)])
    reporter_informed_on = DateField(_l("Reporter told on"), validators=[Optional()])


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("Internal note (never shown to the reporter)"), validators=[DataRequired(), Length(max=20_000)]
    )


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Message to the reporter"), validators=[DataRequired(), Length(max=20_000)])
    question = BooleanField(_l("This is a question the reporter should answer"))


class SeverityForm(FlaskForm):
    version = HiddenField()
    severity = IntegerField(_l("Severity (1 low to 5 most severe)"), validators=[InputRequired(), NumberRange(0, 5)])


class LabelsForm(FlaskForm):
    version = HiddenField()
    labels = StringField(_l("Labels (separated by commas)"), validators=[Optional(), Length(max=900)])


class LinkForm(FlaskForm):
    relation = SelectField(
        _l("This case"), choices=[SelectChoice(r.value, label) for r, label in RELATION_LABELS.items()]
    )
    other_ref = StringField(_l("Reference of the other case"), validators=[DataRequired(), Length(max=20)])


class AssignForm(FlaskForm):
    team_id = SelectField(_l("Team"), choices=[], validate_choice=False, validators=[Optional()])
    user_id = SelectField(_l("Person"), choices=[], validate_choice=False, validators=[Optional()])


class ExcludeForm(FlaskForm):
    user_id = SelectField(_l("Person with a conflict of interest"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class ButtonForm(FlaskForm):
    """A bare POST (CSRF only)."""
