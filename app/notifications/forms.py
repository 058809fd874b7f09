"""The notification settings form: one radio group per event (CSRF like every form)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app.notifications.models import Delivery, NotificationEvent
from app.web.i18n import lazy_gettext as _l

EVENT_LABELS: dict[NotificationEvent, Any] = {
    NotificationEvent.NEW_CASE: _l("A new case arrives in my team's queue"),
    NotificationEvent.DEADLINE_DUE_SOON: _l("A deadline of my cases is due soon"),
    NotificationEvent.DEADLINE_OVERDUE: _l("A deadline of my cases has passed"),
    NotificationEvent.REPORTER_REPLIED: _l("A reporter replied on my case"),
    NotificationEvent.SUPPORT_AWAITING_APPROVAL: _l("A support approval awaits a second approver (supervisors)"),
    NotificationEvent.RETALIATION_ALERT: _l("A retaliation alert is raised (protection team)"),
    NotificationEvent.IDENTITY_REQUEST: _l("Someone asks to see a reporter's identity (supervisors)"),
}
DELIVERY_CHOICES = [
    SelectChoice(Delivery.IMMEDIATE.value, _l("E-mail at once")),
    SelectChoice(Delivery.DIGEST.value, _l("In the daily summary")),
    SelectChoice(Delivery.OFF.value, _l("Never")),
]


class PreferencesForm(FlaskForm):
    """Filled in with one field per event by :func:`preferences_form`."""


def preferences_form(current: dict[NotificationEvent, Delivery] | None = None) -> PreferencesForm:
    """A form class with a radio group per event, pre-set to the person's current choices."""

    class _Form(PreferencesForm):
        pass

    for event in NotificationEvent:
        setattr(
            _Form,
            event.value,
            RadioField(
                EVENT_LABELS[event],
                choices=DELIVERY_CHOICES,
                validators=[InputRequired(message=_l("Choose how you want to hear about this."))],
                default=(current or {}).get(event, Delivery.IMMEDIATE).value,
            ),
        )
    return _Form()
