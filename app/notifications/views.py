"""The staff member's own notification settings page (any signed-in staff member, for themselves only)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.authz import staff_required
from app.db import get_session, utcnow
from app.notifications import service
from app.notifications.forms import EVENT_LABELS, preferences_form
from app.notifications.models import NotificationEvent
from app.runtime import get_settings
from app.web.i18n import gettext as _

bp = Blueprint("notifications", __name__, url_prefix="/staff/notifications")


@bp.route("/", methods=["GET", "POST"])
@staff_required()
def settings_page() -> ResponseReturnValue:
    """Choose, per kind of event, e-mail at once, the daily summary, or nothing."""
    db = get_session()
    form = preferences_form(service.preferences(db, current_user.id))
    status = 200
    if form.is_submitted():
        if form.validate():
            choices = {e.value: getattr(form, e.value).data for e in NotificationEvent}
            service.set_preferences(db, current_user, choices, utcnow())
            db.commit()
            flash(_("Your notification settings were saved."), "info")
            return redirect(url_for("notifications.settings_page"), code=303)
        status = 400
    return (
        render_template(
            "notifications/settings.html",
            form=form,
            fields=[getattr(form, e.value) for e in NotificationEvent],
            labels=EVENT_LABELS,
            email=current_user.email,
            mail_enabled=get_settings().mail_enabled,
        ),
        status,
    )
