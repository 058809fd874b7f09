"""Staff page of the officials and contracts a case concerns, and the training flag on the case page.

Thin: parse the form, call :mod:`monitoring_bridge.subjects` (which keeps the
value under the case key and matches only blind indexes), answer 404 for a
case the user cannot open, so a URL never confirms that a case exists.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.audit import record
from app.authz import staff_required
from app.cases import keys as case_keys
from app.db import get_session, utcnow
from app.models.cases import Case
from app.models.staff import Role
from app.models.subjects import SubjectKind
from app.runtime import get_secrets
from app.staff.current import current_private_key
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as _l
from monitoring_bridge import subjects

bp = Blueprint("case_subjects", __name__, url_prefix="/staff/cases/<int:case_id>/subjects")
PAGE_ROLES = (Role.INTAKE, Role.INVESTIGATOR, Role.LEGAL, Role.PROTECTION, Role.SUPERVISOR)
WORKING_ROLES = (Role.INTAKE, Role.INVESTIGATOR, Role.SUPERVISOR)
KIND_LABELS = {SubjectKind.OFFICIAL.value: _l("Official"), SubjectKind.CONTRACT.value: _l("Contract number")}


class SubjectForm(FlaskForm):
    kind = SelectField(
        _l("What it is"),
        choices=[SelectChoice(k, label) for k, label in KIND_LABELS.items()],
        validators=[DataRequired()],
    )
    value = StringField(
        _l("Name or number"),
        description=_l("Stored encrypted; only a keyed fingerprint is compared with alerts and training records."),
        validators=[DataRequired(), Length(max=subjects.MAX_VALUE)],
    )


class RemoveForm(FlaskForm):
    """Only the CSRF token: removing takes no input."""


def _open(case_id: int) -> tuple[Case, bytes]:
    db = get_session()
    case = db.get(Case, case_id)
    if case is None:
        abort(404)
    try:
        return case, case_keys.open_as_staff(db, case, current_user, current_private_key())
    except case_keys.NoAccess:
        abort(404)


def _back(case_id: int) -> ResponseReturnValue:
    return redirect(url_for("case_subjects.page", case_id=case_id), code=303)


@bp.app_context_processor
def _training_flag() -> dict[str, Any]:
    # The case page's include asks for the flag; computed from blind indexes only, no key needed.
    return {"case_training_flag": lambda case: subjects.training_flag(get_session(), case)}


@bp.route("")
@staff_required(*PAGE_ROLES)
def page(case_id: int) -> ResponseReturnValue:
    """The case's officials and contracts (decrypted), which officials lack mandatory training, and the form."""
    case, case_key = _open(case_id)
    db = get_session()
    listed = subjects.read_subjects(db, case, case_key)
    untrained = subjects.untrained(db, subjects.officials_of(db, case.id))
    bridge_key = get_secrets().bridge_key
    flagged = {
        s.id
        for s in listed
        if s.kind == SubjectKind.OFFICIAL.value and subjects.official_index(bridge_key, s.value) in untrained
    }
    record(db, "case.subjects_viewed", actor_user_id=current_user.id, case_id=case.id)  # values were decrypted
    db.commit()
    return render_template(
        "staff/cases/subjects.html",
        case=case,
        listed=listed,
        flagged=flagged,
        flag=subjects.training_flag(db, case),
        kind_labels=KIND_LABELS,
        form=SubjectForm(),
        remove_form=RemoveForm(),
        can_work=current_user.has_role(*WORKING_ROLES),
    )


@bp.route("", methods=["POST"])
@staff_required(*WORKING_ROLES)
def add(case_id: int) -> ResponseReturnValue:
    """Name an official or a contract on the case."""
    form = SubjectForm()
    if not form.validate_on_submit():
        flash(_("Choose what it is and give a name or number."), "error")
        return _back(case_id)
    case, case_key = _open(case_id)
    db = get_session()
    try:
        added = subjects.add_subject(
            db,
            case,
            case_key,
            get_secrets().bridge_key,
            SubjectKind(form.kind.data),
            form.value.data or "",
            current_user,
            utcnow(),
        )
    except subjects.SubjectError:
        flash(_("Choose what it is and give a name or number."), "error")
        return _back(case_id)
    db.commit()
    flash(_("Added.") if added is not None else _("This case names it already."), "info")
    return _back(case_id)


@bp.route("/<int:subject_id>/delete", methods=["POST"])
@staff_required(*WORKING_ROLES)
def remove(case_id: int, subject_id: int) -> ResponseReturnValue:
    """Remove an official or a contract from the case."""
    if not RemoveForm().validate_on_submit():
        abort(400)
    case, _key = _open(case_id)
    db = get_session()
    if not subjects.remove_subject(db, case, subject_id, current_user, utcnow()):
        abort(404)
    db.commit()
    flash(_("Removed."), "info")
    return _back(case_id)
