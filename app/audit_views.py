"""The audit page for supervisors: the log newest first, with filters, and the chain's state on top."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from app import audit
from app.authz import staff_required
from app.cases.deadlines import SEOUL, day_start
from app.db import get_session
from app.models.audit import ActorKind, AuditEvent
from app.models.staff import Role
from app.runtime import get_secrets
from app.web.converters import MAX_ROW_ID
from app.web.i18n import lazy_gettext as _l
from app.web.params import small_int
from crypto.signing import signing_key_from_private

bp = Blueprint("audit", __name__, url_prefix="/staff/audit")
PAGE_SIZE = 50
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(9998, 12, 31)


def _in_calendar(form: FlaskForm, field: DateField) -> None:
    """A filter date the audit log can hold (its rows are from 2000 on; 9999 leaves no next day)."""
    if field.data is not None and not FIRST_DAY <= field.data <= LAST_DAY:
        raise ValidationError(_l("Choose a date between 2000-01-01 and 9998-12-31."))


class AuditFilterForm(FlaskForm):
    """The filters, sent by GET (nothing changes, so no CSRF token; bookmarkable, no JavaScript)."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), choices=[], validators=[Optional()], validate_choice=False)
    # Bounded as the columns are: a larger id or a date at the ends of the calendar used to reach the
    # database driver or the Seoul-to-UTC conversion and overflow there (a 500); now it is a form error.
    actor = IntegerField(_l("Staff user id"), validators=[Optional(), NumberRange(min=1, max=MAX_ROW_ID)])
    case = IntegerField(_l("Case id"), validators=[Optional(), NumberRange(min=1, max=MAX_ROW_ID)])
    date_from = DateField(_l("From (date)"), validators=[Optional(), _in_calendar])
    date_to = DateField(_l("To (date, inclusive)"), validators=[Optional(), _in_calendar])


def _int_arg(name: str) -> int | None:
    return small_int(request.args.get(name, ""))


@bp.route("/")
@staff_required(Role.SUPERVISOR)
def event_list() -> tuple[str, int]:
    """Audit rows newest first (50 a page), filtered by action, actor, case and dates."""
    db = get_session()
    form = AuditFilterForm(formdata=request.args)
    form.action.choices = [SelectChoice("", str(_l("Any action")))] + [
        SelectChoice(a, a) for a in audit.known_actions(db)
    ]
    flt = audit.EventFilter()
    status = 200
    if request.args and not form.validate():
        status = 400
    elif request.args:
        flt = audit.EventFilter(
            action=form.action.data or None,
            actor_user_id=form.actor.data,
            case_id=form.case.data,
            since=day_start(form.date_from.data) if form.date_from.data else None,
            until=day_start(form.date_to.data + dt.timedelta(days=1)) if form.date_to.data else None,
        )
    page = audit.find_events(db, flt, before=_int_arg("before"), after=_int_arg("after"), limit=PAGE_SIZE)
    public = signing_key_from_private(get_secrets().audit_signing_key).public
    # The quick check (from the newest signed checkpoint on) keeps the page fast at any size;
    # the full walk is `flask audit verify`.
    chain = audit.verify(db, public, since_last_checkpoint=True)
    keep = {k: v for k, v in request.args.items() if k not in ("before", "after")}
    return (
        render_template(
            "staff/audit/list.html",
            form=form,
            page=page,
            chain=chain,
            keep=keep,
            shown_at=_shown_at,
            actor_labels=ACTOR_LABELS,
        ),
        status,
    )


ACTOR_LABELS = {
    ActorKind.STAFF.value: _l("staff (not signed in)"),
    ActorKind.REPORTER.value: _l("reporter"),
    ActorKind.SYSTEM.value: _l("system (command line)"),
    ActorKind.BRIDGE.value: _l("bridge source"),
}


def _shown_at(event: AuditEvent) -> str:
    """Korea time to the minute; a reporter's row only to the day, as it is stored."""
    local = event.at.astimezone(SEOUL)
    if event.actor_kind == ActorKind.REPORTER.value:
        return local.date().isoformat()
    return local.strftime("%Y-%m-%d %H:%M")
