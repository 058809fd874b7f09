"""Reporter forms. Every field has a specific error; what was typed is re-shown when one is rejected."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from app.reporting.service import CATEGORIES
from app.web.i18n import lazy_gettext as _l

MAX_TEXT = 20_000
MAX_AMOUNT = 10**15  # a quadrillion won is beyond any municipal budget

CATEGORY_LABELS = {
    "bribery": _l("Bribery of any kind (money, gifts, entertainment, favours)"),
    "embezzlement": _l("Embezzlement or misuse of public funds"),
    "abuse_of_authority": _l("Abuse of authority"),
    "subsidy_fraud": _l("Subsidy or private-consignment fraud"),
    "procurement": _l("Procurement and contracts"),
    "passive_administration": _l("Passive administration (failing to act)"),
    "other": _l("Other"),
}
HOW_KNOWN_LABELS = {
    "witnessed": _l("I saw or took part in it myself"),
    "documents": _l("I have seen documents or records"),
    "told": _l("Someone told me"),
    "other": _l("Other"),
}
OFFICER_LABELS = {
    "yes": _l("Yes, I work for the city"),
    "no": _l("No"),
    "undisclosed": _l("I prefer not to say"),
}


def parse_won(raw: str) -> int | None:
    """Read an amount typed as '1,500,000', '1500000원', '₩1,500,000' or with full-width digits."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return None
    text = re.sub(r"[\s,₩]|원$|KRW$", "", text, flags=re.IGNORECASE)
    if not text.isascii() or not text.isdigit():
        raise ValueError("not a whole number of won")
    value = int(text)
    if value > MAX_AMOUNT:
        raise ValueError("too large")
    return value


class ReportForm(FlaskForm):
    """The anonymous report."""

    ticket = HiddenField()
    category = RadioField(
        _l("What kind of wrongdoing is it?"),
        choices=[SelectChoice(c, CATEGORY_LABELS[c]) for c in CATEGORIES],
        validators=[InputRequired(message=_l("Choose the kind of wrongdoing."))],
    )
    department_id = SelectField(
        _l("Department concerned"),
        choices=[],
        validate_choice=False,
        description=_l('Choose "I don\'t know" if you are not sure.'),
    )
    what = TextAreaField(
        _l("What happened?"),
        validators=[
            DataRequired(message=_l("Describe what happened.")),
            Length(
                min=20, max=MAX_TEXT, message=_l("Write between 20 and 20,000 characters so the team can act on it.")
            ),
        ],
        description=_l("Facts help most: what was done, by whom, and what it cost the city."),
    )
    when_where = TextAreaField(
        _l("When and where did it happen?"),
        validators=[Optional(), Length(max=2000, message=_l("At most 2,000 characters."))],
    )
    who = TextAreaField(
        _l("Who was involved?"),
        validators=[Optional(), Length(max=2000, message=_l("At most 2,000 characters."))],
        description=_l("Names, positions or departments, as far as you know them."),
    )
    amount = StringField(
        _l("Amount involved, in won (optional)"),
        validators=[Optional()],
        description=_l("For example 1,500,000. Leave empty if there is none or you do not know."),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    how_known = RadioField(
        _l("How do you know this?"),
        choices=[SelectChoice(k, v) for k, v in HOW_KNOWN_LABELS.items()],
        validators=[InputRequired(message=_l("Tell us how you know."))],
    )
    public_officer = RadioField(
        _l("Are you a public officer of the city?"),
        choices=[SelectChoice(k, v) for k, v in OFFICER_LABELS.items()],
        validators=[InputRequired(message=_l("Choose one answer."))],
        description=_l("Officers who report are protected against retaliation."),
    )
    name = StringField(
        _l("Your name (optional)"), validators=[Optional(), Length(max=100)], render_kw={"autocomplete": "off"}
    )
    employee_number = StringField(
        _l("Employee number (optional)"),
        validators=[Optional(), Length(max=20)],
        description=_l(
            "Only if you are a city officer: it lets the protection team watch for retaliation against you."
        ),
        render_kw={"autocomplete": "off"},
    )
    contact = StringField(
        _l("Phone or e-mail (optional)"), validators=[Optional(), Length(max=200)], render_kw={"autocomplete": "off"}
    )
    files = MultipleFileField(
        _l("Files (optional)"),
        description=_l(
            "Documents, photos or recordings. Remove names and locations from file details if they could identify you."
        ),
    )

    def validate_department_id(self, field: Any) -> None:
        allowed = {choice.value for choice in field.choices}
        if field.data not in allowed:
            raise ValidationError(_l("Choose a department from the list."))

    def validate_amount(self, field: Any) -> None:
        try:
            self.amount_won = parse_won(field.data or "")
        except ValueError:
            raise ValidationError(_l("Write the amount as a whole number of won, e.g. 1,500,000.")) from None

    def validate_employee_number(self, field: Any) -> None:
        if field.data and not re.fullmatch(r"[A-Za-z0-9-]{3,20}", field.data.strip()):
            raise ValidationError(_l("An employee number has 3 to 20 letters, digits or dashes."))

    def validate_contact(self, field: Any) -> None:
        value = (field.data or "").strip()
        if not value:
            return
        is_email = re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value)
        is_phone = re.fullmatch(r"\+?[0-9][0-9 ()-]{6,20}", value)
        if not (is_email or is_phone):
            raise ValidationError(_l("Give a phone number (e.g. 010-1234-5678) or an e-mail address."))


class ReceiptForm(FlaskForm):
    """The receipt login."""

    ticket = HiddenField()
    receipt = StringField(
        _l("Receipt code"),
        validators=[DataRequired(message=_l("Enter your receipt code."))],
        description=_l("24 digits. Spaces and dashes do not matter."),
        render_kw={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"},
    )


class MessageForm(FlaskForm):
    """A message (with optional files) from the reporter to the team."""

    body = TextAreaField(
        _l("Your message"),
        validators=[
            DataRequired(message=_l("Write a message.")),
            Length(max=MAX_TEXT, message=_l("At most 20,000 characters.")),
        ],
    )
    files = MultipleFileField(_l("Add files (optional)"))
