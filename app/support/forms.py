"""Forms of the support pages (CSRF on every one; ``version`` carries the optimistic lock)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.models.support import SupportType
from app.reporting.forms import parse_won
from app.support.service import MAX_TEXT, REPORTER_TYPES
from app.web.i18n import lazy_gettext as _l

TYPE_LABELS = {
    SupportType.LEGAL_COUNSEL: _l("Legal counsel"),
    SupportType.LITIGATION_COSTS: _l("Litigation costs (including a suit brought against you because of the report)"),
    SupportType.RELIEF_MEDICAL: _l("Relief: medical costs"),
    SupportType.RELIEF_RELOCATION: _l("Relief: relocation costs"),
    SupportType.RELIEF_LOST_WAGES: _l("Relief: lost wages"),
    SupportType.RELIEF_LEGAL_COSTS: _l("Relief: legal costs"),
    SupportType.REWARD: _l("Reward (internal reporter)"),
    SupportType.COMPENSATION: _l("Compensation (external reporter)"),
}


class WonField(StringField):
    """An amount in whole won, typed as '1,500,000' or '1500000원'; ``data`` is an int or None."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw = valuelist[0] if valuelist else ""
        try:
            self.data = parse_won(self.raw)
        except ValueError:
            self.data = None
            raise ValueError(_l("Give a whole number of won, such as 1,500,000.")) from None

    def _value(self) -> str:
        raw = getattr(self, "raw", None)
        if raw is not None:
            return str(raw)
        return "" if self.data is None else f"{self.data:,}"


def _type_choices(types: tuple[SupportType, ...] | list[SupportType]) -> list[SelectChoice]:
    return [SelectChoice(t.value, TYPE_LABELS[t]) for t in types]


class StaffRequestForm(FlaskForm):
    """A legal officer enters a request (for example one the reporter made through an attorney)."""

    type = SelectField(_l("Kind of support"), choices=_type_choices(list(SupportType)))
    amount_requested = WonField(_l("Amount requested (won)"), validators=[Optional()])
    recovered_amount = WonField(_l("Public money recovered (won), for a reward"), validators=[Optional()])
    final_decision_on = DateField(_l("Date of the final decision, for a reward"), validators=[Optional()])
    details = TextAreaField(_l("Details"), validators=[Optional(), Length(max=MAX_TEXT)])
    files = MultipleFileField(_l("Receipts"))


class ReporterRequestForm(FlaskForm):
    """The reporter asks for support through their inbox."""

    type = RadioField(_l("What do you need?"), choices=_type_choices(REPORTER_TYPES), validators=[InputRequired()])
    amount_requested = WonField(_l("Amount you ask for (won)"), validators=[InputRequired()])
    details = TextAreaField(
        _l("Explain what happened and what the money is for"), validators=[Optional(), Length(max=MAX_TEXT)]
    )
    files = MultipleFileField(_l("Receipts or invoices"))

    def validate_amount_requested(self, field: WonField) -> None:
        if not field.data:
            raise ValidationError(_l("Give the amount in won, above zero."))


class VersionForm(FlaskForm):
    """A button that changes a request (review, confirm, close)."""

    version = HiddenField()


class DecisionForm(FlaskForm):
    version = HiddenField()
    decision = SelectField(
        _l("Decision"), choices=[SelectChoice("approve", _l("Approve")), SelectChoice("refuse", _l("Refuse"))]
    )
    amount = WonField(_l("Amount approved (won)"), validators=[Optional()])
    reasons = TextAreaField(
        _l("Reasons (needed for a refusal or a partial approval)"), validators=[Optional(), Length(max=MAX_TEXT)]
    )


class PaymentForm(FlaskForm):
    version = HiddenField()
    amount = WonField(_l("Amount paid (won)"), validators=[InputRequired()])
    paid_on = DateField(_l("Paid on"), validators=[Optional()])
    payment_ref = StringField(_l("Payment reference"), validators=[InputRequired(), Length(max=100)])


class ReversalForm(FlaskForm):
    paid_on = DateField(_l("Reversed on"), validators=[Optional()])
    payment_ref = StringField(_l("Reference of the reversal"), validators=[InputRequired(), Length(max=100)])


class BudgetForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(2000, 2200)])
    support_type = SelectField(_l("Kind of support"), choices=_type_choices(list(SupportType)))
    amount = WonField(_l("Budget (won)"), validators=[InputRequired()])


class ExportForm(FlaskForm):
    year = IntegerField(_l("Year (empty for every year)"), validators=[Optional(), NumberRange(2000, 2200)])
