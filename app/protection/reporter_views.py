"""The reporter's protection pages (through the receipt): answer check-ins, report retaliation.

Same rules as the inbox: no JavaScript, nothing from outside, no time finer
than the day. Forms are multipart like every reporter form, so the CSRF
check runs once the inbox session is known (a visitor without one is sent to
the receipt page, whatever they post).
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.authz import reporter
from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.protection import checkins, retaliation
from app.protection.errors import ProtectionError
from app.protection.forms import TREATMENT_LABELS, CheckInForm, ComplaintForm
from app.reporting.errors import NotReady
from app.reporting.views import ReporterCase, _with_session, open_reporter_case
from app.runtime import get_settings
from app.uploads import accepts_uploads
from app.web.i18n import gettext as _
from app.web.params import small_int

bp = Blueprint("reporter_protection", __name__, url_prefix="/receipt")


@bp.route("/check-ins", methods=["GET", "POST"])
@reporter
@accepts_uploads
def check_ins() -> ResponseReturnValue:
    """Check-ins due: has the reporter been treated worse since reporting? Answered to the day only."""
    opened = open_reporter_case()
    if not isinstance(opened, ReporterCase):
        return opened
    db = get_session()
    form = CheckInForm()
    posted: int | None = None
    status = 200
    if request.method == "POST":
        posted = small_int(form.check_in.data)
        if form.validate_on_submit() and posted is not None:
            given = checkins.Answer(
                answer=form.answer.data or "", kinds=tuple(form.kinds.data or ()), text=form.text.data or ""
            )
            try:
                checkins.answer(db, opened.case, posted, given, local_today(utcnow()))
                db.commit()
            except ProtectionError as exc:
                db.rollback()
                form.answer.errors = [str(exc)]
            except NotReady:
                db.rollback()
                form.answer.errors = [_("This cannot be received right now. Please try again later.")]
            else:
                flash(_("Thank you. Your answer was sent to the team that protects you."), "info")
                return _with_session(redirect(url_for("reporting.inbox"), code=303), opened.session)
        if posted is None or any(f.errors for f in form if f.type in ("HiddenField", "CSRFTokenField")):
            # The summary lists visible fields only: without this the reporter would see no reason at all.
            form.form_errors.append(_("This form could not be checked. Please reload the page and try again."))
        status = 400
    due = checkins.open_for_reporter(db, opened.case, local_today(utcnow()))
    # One form per check-in, each carrying its own id in its single hidden field; only the one
    # just sent shows what was entered and what went wrong.
    cards = [(c, form if c.id == posted else CheckInForm(formdata=None, check_in=c.id)) for c in due]
    for c, card_form in cards:
        # Several forms on one page: each field's id (and its labels' targets) names the check-in.
        for card_field in card_form:
            card_field.id = f"{card_field.id}-ci{c.id}"
    if status == 400 and all(c.id != posted for c in due):
        for message in [*form.form_errors, *form.answer.errors]:
            flash(str(message), "error")
    resp = Response(
        render_template("protection/reporter_check_ins.html", public_ref=opened.case.public_ref, cards=cards),
        status=status,
    )
    return _with_session(resp, opened.session)


@bp.route("/retaliation", methods=["GET", "POST"])
@reporter
@accepts_uploads
def report_retaliation() -> ResponseReturnValue:
    """Report retaliation for the report: it becomes a linked, urgent case for the protection team."""
    opened = open_reporter_case()
    if not isinstance(opened, ReporterCase):
        return opened
    db = get_session()
    form = ComplaintForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            complaint = retaliation.Complaint(
                what=form.what.data or "", measure_type=form.measure_type.data or None, measure_on=form.measure_on.data
            )
            try:
                made = retaliation.report_from_inbox(
                    db, get_settings(), opened.case, opened.session.private_key, complaint, utcnow()
                )
                db.commit()
            except ProtectionError as exc:
                db.rollback()
                form.what.errors = [str(exc)]
            except NotReady:
                db.rollback()
                form.what.errors = [_("This cannot be received right now. Please try again later.")]
            else:
                flash(_("Your report of retaliation was received as %(ref)s.", ref=made.public_ref), "info")
                return _with_session(redirect(url_for("reporting.inbox"), code=303), opened.session)
        status = 400
    resp = Response(
        render_template(
            "protection/reporter_retaliation.html",
            public_ref=opened.case.public_ref,
            form=form,
            labels=TREATMENT_LABELS,
        ),
        status=status,
    )
    return _with_session(resp, opened.session)
