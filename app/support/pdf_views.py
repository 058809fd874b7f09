"""Staff pages of the PDF support file: choose the language (and the identity), download the PDF.

Thin: open the case (404 without a grant the user can open), decide whether
the identity may go in, call :mod:`app.support.pdf`, audit, stream. The PDF
goes from memory straight into the response: nothing is written to disk.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from app.audit import record
from app.authz import staff_required
from app.cases import identity
from app.cases.views import _open
from app.db import get_session, utcnow
from app.models.staff import Role
from app.staff.current import current_private_key
from app.support import pdf
from app.uploads import content_disposition
from app.web.i18n import LANGUAGE_NAMES
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as _l

bp = Blueprint("support_file", __name__, url_prefix="/staff/cases/<int:case_id>/support-file")
ROLES = (Role.LEGAL, Role.SUPERVISOR)
# Neutral: a downloads folder or a mail attachment shows the name without opening the file.
FILENAME = "haechi-support-file.pdf"


class SupportFileForm(FlaskForm):
    language = RadioField(
        _l("Language of the file"),
        choices=[SelectChoice(code, LANGUAGE_NAMES[code]) for code in pdf.LOCALES],
        validators=[DataRequired()],
    )
    include_identity = BooleanField(
        _l("Include the reporter's identity"),
        description=_l("Only if the support file needs it. Opening the identity is recorded."),
    )


def _form_page(case_id: int) -> ResponseReturnValue:
    return redirect(url_for("support_file.form", case_id=case_id), code=303)


@bp.route("")
@staff_required(*ROLES)
def form(case_id: int) -> ResponseReturnValue:
    """Choose the language of the support file, and whether the identity goes in (if this user may open it)."""
    case, _case_key = _open(case_id)
    current = str(get_locale() or "ko")
    form = SupportFileForm(language=current if current in pdf.LOCALES else "ko")
    can_identity = identity.can_view_identity(get_session(), case, current_user, current_private_key())
    return render_template("staff/support_file/form.html", case=case, form=form, can_identity=can_identity)


@bp.route("", methods=["POST"])
@staff_required(*ROLES)
def generate(case_id: int) -> ResponseReturnValue:
    """Make the support file in memory, audit it, and send it as a download."""
    case, case_key = _open(case_id)
    form = SupportFileForm()
    if not form.validate_on_submit():
        flash(_("Choose the language of the file."), "error")
        return _form_page(case_id)
    db, now, private = get_session(), utcnow(), current_private_key()
    locale = form.language.data or "ko"
    # Both conditions, checked here and not trusted from the form: the officer asked, and may open it.
    include = bool(form.include_identity.data) and identity.can_view_identity(db, case, current_user, private)
    fields = identity.view_identity(db, case.id, current_user, private, now) if include else None
    body = pdf.build(
        db, case, case_key, locale=locale, generated_by=current_user.display_name, generated_at=now, identity=fields
    )
    # What was made, never what it says: the language and whether the identity is in it.
    target = f"locale:{locale};identity:{'yes' if include else 'no'}"
    record(db, "support_file.generated", actor_user_id=current_user.id, case_id=case.id, target=target, now=now)
    db.commit()
    resp = Response(body, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = content_disposition(FILENAME)
    resp.headers["Cache-Control"] = "no-store"
    return resp
