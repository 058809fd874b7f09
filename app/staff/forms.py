"""Forms of the staff area (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectMultipleField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from app.models.staff import Role
from app.staff.service import EMAIL_WHOLE
from app.web.i18n import lazy_gettext as _l


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


ROLE_LABELS = {
    Role.INTAKE: _l("Intake officer"),
    Role.INVESTIGATOR: _l("Investigator"),
    Role.LEGAL: _l("Legal officer"),
    Role.PROTECTION: _l("Protection officer"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.ADMIN: _l("Administrator"),
}


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=100)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=256)], render_kw={"autocomplete": "current-password"}
    )
    submit = SubmitField(_l("Continue"))


class TotpForm(FlaskForm):
    code = StringField(
        _l("6-digit code from your authenticator app"),
        validators=[DataRequired(), Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("Enter the 6 digits."))],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField(_l("Sign in"))


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=12, max=256)],
        description=_l("At least 12 characters; a passphrase of several words is best."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Change password"))


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(r.value, str(label)) for r, label in ROLE_LABELS.items()]


class UserCreateForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(max=100),
            Regexp(r"^[A-Za-z0-9._-]+$", message=_l("Letters, digits, dot, dash, underscore.")),
        ],
    )
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        _l("E-mail (for notifications)"),
        validators=[
            Optional(),
            Length(max=200),
            Regexp(EMAIL_WHOLE, message=_l("Give one e-mail address, like name@city.example.")),
        ],
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(min=12, max=256)],
        description=_l("Give it to the person in a safe way; they can change it."),
        render_kw={"autocomplete": "new-password"},
    )
    roles = MultiCheckboxField(_l("Roles"), choices=[])
    submit = SubmitField(_l("Create user"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.roles.choices = _role_choices()


class UserEditForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        _l("E-mail (for notifications)"),
        validators=[
            Optional(),
            Length(max=200),
            Regexp(EMAIL_WHOLE, message=_l("Give one e-mail address, like name@city.example.")),
        ],
    )
    roles = MultiCheckboxField(_l("Roles"), choices=[])
    active = BooleanField(_l("Account active"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.roles.choices = _role_choices()


class ConfirmForm(FlaskForm):
    """A bare POST form (CSRF only) for buttons: confirm, remove, log out."""

    submit = SubmitField(_l("Confirm"))


class DepartmentForm(FlaskForm):
    """A new department."""

    code = StringField(
        _l("Code"), validators=[DataRequired(), Length(max=40)], description=_l("Short identifier, e.g. PERMITS.")
    )
    name_ko = StringField(_l("Name in Korean"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Add department"))
