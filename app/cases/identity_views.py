"""Staff pages of identity disclosure: status and history, request, decide, release, view.

Thin: parse the form, call :mod:`app.cases.identity`, turn its errors into a
message or a 404 (``NoAccess``: a URL never confirms that a case, a request
or an identity exists to someone who may not see it).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.audit import record
from app.authz import staff_required
from app.cases import identity
from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.models.staff import Role
from app.notifications import service as notifications
from app.runtime import get_settings
from app.staff.current import current_private_key
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as _l

bp = Blueprint("case_identity", __name__, url_prefix="/staff/cases/<int:case_id>/identity")
PAGE_ROLES = (Role.INTAKE, Role.INVESTIGATOR, Role.LEGAL, Role.PROTECTION, Role.SUPERVISOR)
MAX_REASON = 5_000


class RequestForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you need to know who the reporter is?"),
        description=_l(
            "A supervisor decides. If they approve, this reason is sent to the reporter, unless telling them "
            "would jeopardise the investigation."
        ),
        validators=[DataRequired(), Length(max=MAX_REASON)],
    )


class DecideForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice("approve", _l("Approve")), SelectChoice("refuse", _l("Refuse"))],
        validators=[DataRequired()],
    )
    reason = TextAreaField(
        _l("Reason for the decision"),
        description=_l("On approval this reason is sent to the reporter with the request's reason."),
        validators=[DataRequired(), Length(max=MAX_REASON)],
    )
    jeopardy = TextAreaField(
        _l("Why telling the reporter would jeopardise the investigation (optional)"),
        description=_l(
            "Only on approval, and only if telling the reporter would jeopardise the investigation or judicial "
            "proceedings. If you fill this in, the reporter is not told."
        ),
        validators=[Optional(), Length(max=MAX_REASON)],
    )


class ReleaseForm(FlaskForm):
    """Only the CSRF token: releasing takes no input."""


def _decide_form(req_id: int) -> DecideForm:
    # A prefix per request keeps field ids unique when several requests are pending.
    return DecideForm(prefix=f"r{req_id}")


def _back(case_id: int) -> ResponseReturnValue:
    return redirect(url_for("case_identity.status", case_id=case_id), code=303)


@bp.route("")
@staff_required(*PAGE_ROLES)
def status(case_id: int) -> ResponseReturnValue:
    """Requests for this case's reporter identity, their history, and what the user may do."""
    try:
        view = identity.overview(get_session(), case_id, current_user, current_private_key())
    except identity.NoAccess:
        abort(404)
    db = get_session()
    record(db, "case.identity_page_viewed", actor_user_id=current_user.id, case_id=case_id)  # reasons are decrypted
    db.commit()
    return render_template(
        "staff/identity/status.html",
        view=view,
        request_form=RequestForm(),
        decide_forms={r.id: _decide_form(r.id) for r in view.requests if r.can_decide},
        release_form=ReleaseForm(),
    )


@bp.route("/request", methods=["POST"])
@staff_required(*identity.REQUEST_ROLES)
def request_access(case_id: int) -> ResponseReturnValue:
    """Ask for the reporter's identity, with a reason."""
    form = RequestForm()
    if not form.validate_on_submit():
        flash(_("Say why you need to know who the reporter is."), "error")
        return _back(case_id)
    db = get_session()
    try:
        req = identity.request_access(
            db, case_id, current_user, current_private_key(), form.reason.data or "", utcnow()
        )
    except identity.NoAccess:
        abort(404)
    except identity.NoIdentity:
        flash(_("The reporter gave no identity for this case."), "error")
        return _back(case_id)
    except identity.AlreadyRequested:
        flash(_("You already have a request for this identity."), "error")
        return _back(case_id)
    except identity.EmptyReason:
        flash(_("Say why you need to know who the reporter is."), "error")
        return _back(case_id)
    notifications.identity_requested(db, get_settings(), req, local_today(utcnow()))
    db.commit()
    flash(_("Your request was sent to the supervisors."), "info")
    return _back(case_id)


@bp.route("/<int:req_id>/decide", methods=["POST"])
@staff_required(Role.SUPERVISOR)
def decide(case_id: int, req_id: int) -> ResponseReturnValue:
    """Approve or refuse a request, and decide whether the reporter is told."""
    form = _decide_form(req_id)
    if not form.validate_on_submit():
        flash(_("Choose a decision and give its reason."), "error")
        return _back(case_id)
    approve = form.decision.data == "approve"
    if not approve and (form.jeopardy.data or "").strip():
        flash(_("A reason not to tell the reporter applies only to an approval."), "error")
        return _back(case_id)
    db = get_session()
    try:
        identity.decide(
            db,
            case_id,
            req_id,
            current_user,
            current_private_key(),
            approve=approve,
            reason=form.reason.data or "",
            jeopardy_reason=form.jeopardy.data,
            now=utcnow(),
        )
    except identity.NoAccess:
        abort(404)
    except identity.OwnRequest:
        flash(_("You cannot decide your own request."), "error")
        return _back(case_id)
    except identity.NotPending:
        flash(_("This request was decided already."), "error")
        return _back(case_id)
    except identity.EmptyReason:
        flash(_("Choose a decision and give its reason."), "error")
        return _back(case_id)
    db.commit()
    flash(_("Approved.") if approve else _("Refused."), "info")
    return _back(case_id)


@bp.route("/<int:req_id>/release", methods=["POST"])
@staff_required(Role.PROTECTION)
def release(case_id: int, req_id: int) -> ResponseReturnValue:
    """A custodian releases the identity to the investigator whose request was approved."""
    if not ReleaseForm().validate_on_submit():
        abort(400)
    db = get_session()
    try:
        identity.release(db, case_id, req_id, current_user, current_private_key(), utcnow())
    except identity.NoAccess:
        abort(404)
    except (identity.NotReleasable, identity.OwnRequest):
        flash(_("This request cannot be released: it is not approved, or was released already."), "error")
        return _back(case_id)
    db.commit()
    flash(_("Released to the requester."), "info")
    return _back(case_id)


@bp.route("/view")
@staff_required(*PAGE_ROLES)
def view(case_id: int) -> ResponseReturnValue:
    """The reporter's identity, for a custodian or an investigator it was released to (audited)."""
    db = get_session()
    try:
        fields = identity.view_identity(db, case_id, current_user, current_private_key(), utcnow())
    except identity.NoAccess:
        abort(404)
    db.commit()  # the audit row of this view
    return render_template("staff/identity/view.html", case_id=case_id, fields=fields)
