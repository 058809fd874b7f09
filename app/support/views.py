"""Staff support pages of one case: requests, decisions, confirmation, payments, reversals.

Whoever can open the case (any case role) sees its support panel; legal
officers and supervisors act. The services hold the rules (who decides, the
four-eyes threshold, never paying past the approved amount).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response as WerkzeugResponse

from app.audit import record
from app.authz import staff_required
from app.cases.deadlines import local_today
from app.cases.views import CASE_ROLES, _open
from app.db import get_session, utcnow
from app.models.staff import Role
from app.models.support import Disbursement, SupportRequest
from app.notifications import service as notifications
from app.reporting.views import _stored_files
from app.runtime import get_blobs, get_settings
from app.support import service
from app.support.errors import ChangedMeanwhile, InvalidInput, SupportError
from app.support.forms import TYPE_LABELS, DecisionForm, PaymentForm, ReversalForm, StaffRequestForm, VersionForm
from app.uploads import UploadSink, accepts_uploads, expect_uploads, files_from
from app.web.i18n import gettext as _
from app.web.params import form_version

bp = Blueprint("support", __name__, url_prefix="/staff/cases/<int:case_id>/support")
MONEY_ROLES = (Role.LEGAL, Role.SUPERVISOR)


def _panel(case_id: int) -> WerkzeugResponse:
    return redirect(url_for("support.panel", case_id=case_id))


def support_action(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Commit the action, or roll it back and say why (changed meanwhile, or the rule that refused it)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        db = get_session()
        try:
            result = view(*args, **kwargs)
            db.commit()
            return result
        except (ChangedMeanwhile, StaleDataError):
            db.rollback()
            flash(
                _("This request was changed by someone else meanwhile, so your change was not saved. Look again."),
                "error",
            )
            return _panel(kwargs["case_id"]), 409
        except SupportError as exc:
            db.rollback()
            flash(_("Not possible: %(why)s", why=str(exc)), "error")
            return _panel(kwargs["case_id"]), 400

    return wrapper


def _request(case_id: int, request_id: int) -> tuple[Any, bytes, SupportRequest]:
    case, case_key = _open(case_id)
    req = service.request_of(get_session(), case, request_id)
    if req is None:
        abort(404)
    return case, case_key, req


@bp.route("/")
@staff_required(*CASE_ROLES)
def panel(case_id: int) -> ResponseReturnValue:
    """The case's support requests with decisions, receipts and ledger entries."""
    case, case_key = _open(case_id)
    db, settings = get_session(), get_settings()
    views = [service.read_request(db, settings, case, case_key, r) for r in service.requests_of(db, case)]
    record(db, "support.viewed", actor_user_id=current_user.id, case_id=case.id)  # decrypted details and reasons
    db.commit()
    return render_template(
        "staff/support/panel.html",
        case=case,
        requests=views,
        type_labels=TYPE_LABELS,
        new_form=StaffRequestForm(),
        button=VersionForm(),
        decision_form=DecisionForm(),
        payment_form=PaymentForm(),
        reversal_form=ReversalForm(),
        can_enter=current_user.has_role(Role.LEGAL),
        can_decide=current_user.has_role(Role.LEGAL),
        can_confirm=current_user.has_role(Role.SUPERVISOR),
        can_pay=current_user.has_role(*MONEY_ROLES),
        threshold=settings.support_four_eyes_won,
        reward_rate_bp=settings.reward_rate_bp,
    )


@bp.route("/new", methods=["POST"])
@staff_required(Role.LEGAL)
@accepts_uploads
def new(case_id: int) -> ResponseReturnValue:
    """A legal officer enters a request, with receipts (encrypted as they stream in)."""
    if request.mimetype != "multipart/form-data":
        abort(400)  # before opening the case: a forged or malformed post learns nothing
    case, case_key = _open(case_id)
    db, settings = get_session(), get_settings()
    sink = UploadSink(get_blobs(), case_key)
    expect_uploads(sink)
    storages = files_from("files")
    form = StaffRequestForm()
    if not form.validate() or len(storages) > settings.max_files:
        flash(_("Check the form: %(errors)s", errors="; ".join(_errors(form)) or _("too many files")), "error")
        return _panel(case_id), 400
    data = service.NewRequest(
        type=form.type.data or "",
        amount_requested=form.amount_requested.data,
        details=form.details.data or "",
        recovered_amount=form.recovered_amount.data,
        final_decision_on=form.final_decision_on.data,
    )
    try:
        service.request_support(
            db, settings, case, case_key, data, _stored_files(sink, storages), utcnow(), staff=current_user
        )
        db.commit()
    except SupportError as exc:
        db.rollback()
        sink.forget_claimed()
        flash(_("Not possible: %(why)s", why=str(exc)), "error")
        return _panel(case_id), 400
    except BaseException:
        db.rollback()
        sink.forget_claimed()
        raise
    flash(_("The support request was entered."), "info")
    return _panel(case_id)


def _errors(form: Any) -> list[str]:
    return [f"{form[name].label.text}: {' '.join(str(e) for e in errs)}" for name, errs in form.errors.items()]


@bp.route("/<int:request_id>/review", methods=["POST"])
@staff_required(Role.LEGAL)
@support_action
def review(case_id: int, request_id: int) -> ResponseReturnValue:
    """Take the request up for examination."""
    _case, _key, req = _request(case_id, request_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    service.start_review(get_session(), req, current_user, form_version(form.version.data), utcnow())
    return _panel(case_id)


@bp.route("/<int:request_id>/decide", methods=["POST"])
@staff_required(Role.LEGAL)
@support_action
def decide(case_id: int, request_id: int) -> ResponseReturnValue:
    """Approve (fully or partly) or refuse, with reasons."""
    case, case_key, req = _request(case_id, request_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        raise InvalidInput("; ".join(_errors(form)))
    service.decide(
        get_session(),
        case,
        case_key,
        req,
        current_user,
        approve=form.decision.data == "approve",
        amount=form.amount.data,
        reasons=form.reasons.data or "",
        expected_version=form_version(form.version.data),
        now=utcnow(),
    )
    notifications.support_decided(get_session(), get_settings(), req, local_today(utcnow()))
    return _panel(case_id)


@bp.route("/<int:request_id>/confirm", methods=["POST"])
@staff_required(Role.SUPERVISOR)
@support_action
def confirm(case_id: int, request_id: int) -> ResponseReturnValue:
    """The second approver confirms an approval above the threshold."""
    _case, _key, req = _request(case_id, request_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    service.confirm(get_session(), get_settings(), req, current_user, form_version(form.version.data), utcnow())
    return _panel(case_id)


@bp.route("/<int:request_id>/pay", methods=["POST"])
@staff_required(*MONEY_ROLES)
@support_action
def pay(case_id: int, request_id: int) -> ResponseReturnValue:
    """Record a payment in the ledger."""
    _case, _key, req = _request(case_id, request_id)
    form = PaymentForm()
    if not form.validate_on_submit():
        raise InvalidInput("; ".join(_errors(form)))
    service.pay(
        get_session(),
        get_settings(),
        req,
        current_user,
        amount=form.amount.data,
        paid_on=form.paid_on.data,
        payment_ref=form.payment_ref.data or "",
        expected_version=form_version(form.version.data),
        now=utcnow(),
    )
    flash(_("The payment was recorded."), "info")
    return _panel(case_id)


@bp.route("/<int:request_id>/entries/<int:entry_id>/reverse", methods=["POST"])
@staff_required(*MONEY_ROLES)
@support_action
def reverse(case_id: int, request_id: int, entry_id: int) -> ResponseReturnValue:
    """Correct a payment with a reversing entry."""
    _case, _key, req = _request(case_id, request_id)
    form = ReversalForm()
    if not form.validate_on_submit():
        raise InvalidInput("; ".join(_errors(form)))
    entry = get_session().get(Disbursement, entry_id)
    if entry is None or entry.support_request_id != req.id:
        abort(404)
    service.reverse(
        get_session(),
        req,
        entry,
        current_user,
        paid_on=form.paid_on.data,
        payment_ref=form.payment_ref.data or "",
        now=utcnow(),
    )
    return _panel(case_id)


@bp.route("/<int:request_id>/close", methods=["POST"])
@staff_required(*MONEY_ROLES)
@support_action
def close(case_id: int, request_id: int) -> ResponseReturnValue:
    """Close a paid or refused request."""
    _case, _key, req = _request(case_id, request_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    service.close(get_session(), req, current_user, form_version(form.version.data), utcnow())
    return _panel(case_id)
