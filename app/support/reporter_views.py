"""The reporter's support page (through the receipt): ask for support with receipts, see where requests stand.

No JavaScript, nothing from outside, no time finer than the day: the same
rules as the inbox. Statuses are put in words a citizen understands; amounts
are the reporter's own, the decision's reasons stay with the office (the
team explains a refusal in a message).
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.authz import reporter
from app.db import get_session, utcnow
from app.models.support import SupportRequest, SupportStatus
from app.reporting.views import ReporterCase, _stored_files, _with_session, flash_files_not_kept, open_reporter_case
from app.runtime import get_settings
from app.support import service
from app.support.errors import SupportError
from app.support.forms import TYPE_LABELS, ReporterRequestForm
from app.uploads import accepts_uploads
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as _l

bp = Blueprint("reporter_support", __name__, url_prefix="/receipt/support")


def status_words(req: SupportRequest, awaiting_confirmation: bool) -> str:
    """Where a request stands, in plain words (the internal states stay internal)."""
    status = req.status
    approved = f"{req.amount_approved or 0:,}"
    if status == SupportStatus.REQUESTED.value:
        return str(_l("Received. A legal officer will look at your request."))
    if status == SupportStatus.UNDER_REVIEW.value:
        return str(_l("A legal officer is examining your request."))
    if status in (SupportStatus.APPROVED.value, SupportStatus.PARTLY_APPROVED.value):
        if status == SupportStatus.APPROVED.value:
            words = str(_("Approved: %(amount)s won will be paid to you.", amount=approved))
        else:
            words = str(
                _(
                    "Partly approved: %(amount)s won of the %(requested)s won you asked for will be paid to you.",
                    amount=approved,
                    requested=f"{req.amount_requested:,}",
                )
            )
        if awaiting_confirmation:
            words += " " + _("A second person must still sign the approval before payment.")
        return words
    if status == SupportStatus.REFUSED.value:
        return str(_l("Not approved. The team will explain the reasons in a message to you."))
    if status == SupportStatus.PAID.value:
        paid = f"{req.paid_total:,}"
        return str(_("Paid: %(paid)s won so far, of %(amount)s won approved.", paid=paid, amount=approved))
    return str(_l("Finished. Nothing more will be paid on this request."))


@bp.route("/", methods=["GET", "POST"])
@reporter
@accepts_uploads
def support() -> ResponseReturnValue:
    """My support requests and where they stand; ask for support, with receipts."""
    opened = open_reporter_case()
    if not isinstance(opened, ReporterCase):
        return opened
    db, settings = get_session(), get_settings()
    session, case, case_key, sink, storages = (
        opened.session,
        opened.case,
        opened.case_key,
        opened.sink,
        opened.storages,
    )
    form = ReporterRequestForm()
    status = 200
    if request.method == "POST":
        valid = form.validate_on_submit()
        if len(storages) > settings.max_files:  # after validation, which would clear this error
            form.files.errors = [_("Attach at most %(n)d files.", n=settings.max_files)]
            valid = False
        if valid:
            data = service.NewRequest(
                type=form.type.data or "",
                amount_requested=form.amount_requested.data,
                details=form.details.data or "",
            )
            try:
                service.request_support(
                    db, settings, case, case_key, data, _stored_files(sink, storages), utcnow(), staff=None
                )
                db.commit()
            except SupportError as exc:
                db.rollback()
                sink.forget_claimed()
                form.type.errors = [str(exc)]
            except BaseException:
                db.rollback()
                sink.forget_claimed()
                raise
            else:
                flash(_("Your request for support was sent."), "info")
                return _with_session(redirect(url_for("reporter_support.support"), code=303), session)
        if storages:  # none is kept: release_uploads deletes them after the request
            flash_files_not_kept()
        status = 400
    mine = [
        (r, status_words(r, service.awaiting_confirmation(settings, r)), service.receipts_of(db, case, case_key, r))
        for r in service.requests_of(db, case)
    ]
    resp = Response(
        render_template(
            "reporter/support/support.html",
            public_ref=case.public_ref,
            requests=mine,
            type_labels=TYPE_LABELS,
            form=form,
            max_files=settings.max_files,
        ),
        status=status,
    )
    return _with_session(resp, session)
