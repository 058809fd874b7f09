"""Staff case pages (minimal until the workflow issue): my cases, read one, reply, download.

Access is cryptographic: a case opens only with a grant the user can open.
Without one the answer is 404, so a URL does not even confirm a case exists.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.authz import staff_required
from app.cases import keys as case_keys
from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.models.cases import Case
from app.models.staff import Role
from app.reporting import service as reporting
from app.reporting.views import file_download
from app.staff.current import current_private_key

bp = Blueprint("staff_cases", __name__, url_prefix="/staff/cases")
CASE_ROLES = (Role.INTAKE, Role.INVESTIGATOR, Role.LEGAL, Role.PROTECTION, Role.SUPERVISOR)


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Message to the reporter"), validators=[DataRequired(), Length(max=20_000)])
    question = BooleanField(_l("This is a question the reporter should answer"))


def _open(case_id: int) -> tuple[Case, bytes]:
    db = get_session()
    case = db.get(Case, case_id)
    if case is None:
        abort(404)
    try:
        return case, case_keys.open_as_staff(db, case, current_user, current_private_key())
    except case_keys.NoAccess:
        abort(404)


@bp.route("/")
@staff_required(*CASE_ROLES)
def case_list() -> ResponseReturnValue:
    """Cases I can open, nearest acknowledgement deadline first."""
    db = get_session()
    ids = case_keys.cases_visible_to(db, current_user)
    cases = db.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.ack_due_on, Case.id)).all() if ids else []
    return render_template("staff/cases/list.html", cases=cases)


@bp.route("/<int:case_id>")
@staff_required(*CASE_ROLES)
def case_detail(case_id: int) -> ResponseReturnValue:
    """One case: the report, the conversation with the reporter and the files."""
    case, case_key = _open(case_id)
    return render_template(
        "staff/cases/detail.html", case=case, inbox=reporting.read_inbox(case, case_key), form=ReplyForm()
    )


@bp.route("/<int:case_id>/messages", methods=["POST"])
@staff_required(*CASE_ROLES)
def reply(case_id: int) -> ResponseReturnValue:
    """Write to the reporter (a message or a question)."""
    case, case_key = _open(case_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        flash(_("Write a message."), "error")
        return redirect(url_for("staff_cases.case_detail", case_id=case.id))
    now = utcnow()
    reporting.add_staff_message(
        get_session(),
        case,
        case_key,
        current_user.id,
        form.body.data or "",
        now,
        local_today(now),
        question=bool(form.question.data),
    )
    get_session().commit()
    flash(_("Sent to the reporter."), "info")
    return redirect(url_for("staff_cases.case_detail", case_id=case.id))


@bp.route("/<int:case_id>/files/<int:attachment_id>")
@staff_required(*CASE_ROLES)
def download(case_id: int, attachment_id: int) -> ResponseReturnValue:
    """A case file, decrypted as it streams, always as a download."""
    case, case_key = _open(case_id)
    att = reporting.attachment_for(case, attachment_id, for_reporter=False)
    if att is None:
        abort(404)
    name, _ctype = reporting.attachment_meta(case, case_key, att)
    return file_download(att.blob_key, case_key, name, att.size_bytes)
