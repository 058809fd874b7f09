"""Reporter pages: /report, /receipt and the inbox. No JavaScript, nothing from outside, no logs of who.

Every view here is public (there is no account), and nothing here reads the
client's address, user agent or the exact time into storage: submissions and
messages are dated to the day in Seoul.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms.fields.choices import SelectChoice

from app.authz import public, reporter
from app.cases.deadlines import local_today
from app.cases.keys import new_case_key
from app.db import get_session, utcnow
from app.models.cases import Case
from app.notifications import service as notifications
from app.protection.inbox import for_inbox as protection_for_inbox
from app.protection.persons import protect_on_submission
from app.reporting import abuse, service
from app.reporting import session as reporter_session
from app.reporting.errors import NotReady, SessionEnded, WrongReceipt
from app.reporting.forms import MessageForm, ReceiptForm, ReportForm
from app.reporting.limits import count_this_request, used_tickets
from app.runtime import get_blobs, get_secrets, get_settings
from app.uploads import (
    UploadSink,
    accepts_uploads,
    clean_filename,
    content_disposition,
    expect_uploads,
    file_stream_aad,
    file_stream_key,
    files_from,
)
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as _l
from crypto.errors import ReceiptChecksumError, ReceiptFormatError
from crypto.receipts import format_receipt
from crypto.stream import DecryptingReader

bp = Blueprint("reporting", __name__)

# A case's state in words a citizen understands (the internal states stay internal).
STATUS_WORDS = {
    "received": _l("Received. The team will confirm within 7 days that it is being handled."),
    "acknowledged": _l("Confirmed. The team is assessing your report."),
    "triage": _l("Confirmed. The team is assessing your report."),
    "investigating": _l("Under investigation."),
    "legal_review": _l("Under legal review."),
    "resolved": _l("Concluded. See the team's message below."),
    "closed": _l("Closed."),
}


def _now_epoch() -> int:
    return int(time.time())


def _ticket() -> str:
    return abuse.issue(get_secrets().session_secret, _now_epoch())


def _check_ticket(raw: str | None) -> str | None:
    """None if the form ticket is fine, else the message to show."""
    settings = get_settings()
    max_age = settings.form_max_hours * 3600
    now = _now_epoch()
    try:
        nonce = abuse.check(get_secrets().session_secret, raw, now, settings.form_min_seconds, max_age)
        if not used_tickets().first_use(nonce, max_age, now):
            raise abuse.TicketError("used")
        count_this_request()
    except abuse.TicketError as exc:
        if exc.reason == "too_fast":
            return str(_("That was very fast. Please check your entries and send again."))
        if exc.reason == "expired":
            return str(_("This form was open for a long time. Please send it again."))
        if exc.reason == "used":
            return str(_("This form was already sent. If you reloaded the page, your report was received once."))
        return str(_("This form could not be checked. Please reload the page and try again."))
    return None


def flash_files_not_kept() -> None:
    """Tell the reporter that the files of a refused form were deleted, so they attach them again."""
    flash(_("For your safety, files are not kept when the form has an error: please attach them again."), "info")


def _department_choices() -> list[SelectChoice]:
    lang_en = str(get_locale()) == "en"
    choices = [SelectChoice("", _("I don't know"))]
    for d in service.active_departments(get_session()):
        choices.append(SelectChoice(str(d.id), d.name_en if lang_en else d.name_ko))
    return choices


def _stored_files(sink: UploadSink, storages: list) -> list[service.StoredFile]:  # type: ignore[type-arg]
    stored = []
    for storage in storages:
        upload = sink.claim(storage)
        if upload is not None:
            stored.append(
                service.StoredFile(
                    blob_key=upload.blob_key,
                    size=upload.size,
                    filename=clean_filename(storage.filename),
                    content_type=storage.mimetype or "",
                )
            )
    return stored


@bp.route("/report", methods=["GET", "POST"])
@public
@accepts_uploads
def report() -> ResponseReturnValue:
    """The report form; a valid submission answers with the receipt page (shown this once only)."""
    db, settings = get_session(), get_settings()
    case_key = new_case_key()
    sink = UploadSink(get_blobs(), case_key)
    storages = []
    if request.method == "POST":
        expect_uploads(sink)  # files are encrypted under this case key as they arrive
        storages = files_from("files")  # before anything reads a field another part may impersonate
    form = ReportForm()
    form.department_id.choices = _department_choices()
    if request.method == "GET":
        form.ticket.data = _ticket()
        return render_template(
            "reporter/report.html", form=form, max_mib=settings.max_upload_bytes // 2**20, max_files=settings.max_files
        )
    problem = _check_ticket(form.ticket.data)
    valid = form.validate_on_submit()
    if len(storages) > settings.max_files:
        form.files.errors = [_("Attach at most %(n)d files.", n=settings.max_files)]
        valid = False
    if problem or not valid:
        if problem:
            flash(problem, "error")
        if storages:
            flash_files_not_kept()
        form.ticket.data = _ticket()
        return render_template(
            "reporter/report.html", form=form, max_mib=settings.max_upload_bytes // 2**20, max_files=settings.max_files
        ), 400
    data = service.ReportInput(
        category=form.category.data or "",
        department_id=int(form.department_id.data) if form.department_id.data else None,
        what=form.what.data or "",
        when_where=form.when_where.data or "",
        who=form.who.data or "",
        amount_won=getattr(form, "amount_won", None),
        how_known=form.how_known.data or "",
        public_officer=form.public_officer.data or "",
    )
    identity = service.IdentityInput(
        name=(form.name.data or "").strip(),
        employee_number=(form.employee_number.data or "").strip(),
        contact=(form.contact.data or "").strip(),
    )
    try:
        files = _stored_files(sink, storages)
        submitted = service.submit_report(
            db, settings, get_secrets().receipt_salt, data, identity, files, case_key, local_today(utcnow())
        )
        # A public officer who gave their employee number is protected from now on (issue 8): the
        # number becomes a blind index here, in the same transaction, and is kept nowhere in plaintext.
        protect_on_submission(
            db,
            settings,
            get_secrets().protection_key,
            submitted.case_id,
            data.public_officer,
            identity.employee_number,
            utcnow(),
        )
        db.commit()
    except NotReady:
        db.rollback()
        sink.forget_claimed()
        abort(503)
    except BaseException:
        db.rollback()
        sink.forget_claimed()
        raise
    return render_template(
        "reporter/receipt_shown.html", receipt=format_receipt(submitted.receipt), public_ref=submitted.public_ref
    )


@bp.route("/receipt", methods=["GET", "POST"])
@public
def receipt() -> ResponseReturnValue:
    """Receipt login: a typo gets a helpful message at once; a wrong receipt one uniform error."""
    form = ReceiptForm()
    if request.method == "GET":
        form.ticket.data = _ticket()
        return render_template("reporter/receipt_login.html", form=form)
    problem = _check_ticket(form.ticket.data) if form.validate_on_submit() else None
    if form.errors or problem:
        if problem:
            flash(problem, "error")
        form.ticket.data = _ticket()
        return render_template("reporter/receipt_login.html", form=form), 400
    try:
        case_id, private = service.open_with_receipt(
            get_session(), get_settings(), get_secrets().receipt_salt, form.receipt.data or ""
        )
    except ReceiptFormatError:
        form.receipt.errors = [_("A receipt code has 24 digits. Check that none is missing.")]
    except ReceiptChecksumError:
        form.receipt.errors = [_("This code has a typing mistake: check each digit against your note.")]
    except WrongReceipt:
        form.receipt.errors = [_("No report opens with this receipt code.")]
    else:
        ends = _now_epoch() + get_settings().reporter_absolute_minutes * 60
        return _with_session(
            redirect(url_for("reporting.inbox"), code=303), reporter_session.ReporterSession(case_id, private, ends)
        )
    form.ticket.data = _ticket()
    return render_template("reporter/receipt_login.html", form=form), 400


def _with_session(resp: WerkzeugResponse, session: reporter_session.ReporterSession) -> WerkzeugResponse:
    """Set (or refresh) the inbox cookie: idle expiry starts again."""
    settings = get_settings()
    expires = _now_epoch() + settings.reporter_idle_minutes * 60
    resp.set_cookie(
        reporter_session.COOKIE_NAME,
        reporter_session.encode(get_secrets().session_secret, session, expires),
        path=reporter_session.COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=settings.https,
    )
    return resp


def _current() -> reporter_session.ReporterSession | None:
    try:
        return reporter_session.decode(
            get_secrets().session_secret, request.cookies.get(reporter_session.COOKIE_NAME), _now_epoch()
        )
    except SessionEnded:
        return None


def _ended() -> WerkzeugResponse:
    flash(_("Your session has ended. Enter your receipt code again."), "info")
    resp = redirect(url_for("reporting.receipt"), code=303)
    resp.delete_cookie(reporter_session.COOKIE_NAME, path=reporter_session.COOKIE_PATH)
    return resp


@dataclass
class ReporterCase:
    """A signed-in reporter's case opened for a page that may receive files."""

    session: reporter_session.ReporterSession
    case: Case
    case_key: bytes
    sink: UploadSink
    storages: list[FileStorage]


def open_reporter_case() -> ReporterCase | WerkzeugResponse:
    """The reporter's case and key, and on POST the files sent (encrypted as they arrived, CSRF checked).

    Answers with the receipt page instead when there is no inbox session.
    Shared by every reporter page that takes files (inbox, support requests).
    """
    session = _current()
    if session is None:
        return _ended()
    try:
        case, case_key = service.load_case_for_reporter(get_session(), session.case_id, session.private_key)
    except WrongReceipt:
        return _ended()
    sink = UploadSink(get_blobs(), case_key)
    storages: list[FileStorage] = []
    if request.method == "POST":
        expect_uploads(sink)
        storages = files_from("files")
        count_this_request()
    return ReporterCase(session, case, case_key, sink, storages)


@bp.route("/receipt/inbox", methods=["GET", "POST"])
@reporter
@accepts_uploads
def inbox() -> ResponseReturnValue:
    """The reporter's inbox: status, the report as sent, the conversation; send a message or files."""
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
    form = MessageForm()
    status = 200
    if request.method == "POST":
        valid = form.validate_on_submit()
        if len(storages) > settings.max_files:  # after validation, which would clear this error
            form.files.errors = [_("Attach at most %(n)d files.", n=settings.max_files)]
            valid = False
        if valid:
            answers = request.form.get("answers") == "1"
            try:
                service.add_reporter_message(
                    db,
                    case,
                    case_key,
                    form.body.data or "",
                    _stored_files(sink, storages),
                    local_today(utcnow()),
                    answers_question=answers,
                )
                notifications.reporter_replied(db, settings, case, local_today(utcnow()))
                db.commit()
            except BaseException:
                db.rollback()
                sink.forget_claimed()
                raise
            flash(_("Your message was sent."), "info")
            return _with_session(redirect(url_for("reporting.inbox"), code=303), session)
        if storages:  # none was claimed: release_uploads deletes them after the request
            flash_files_not_kept()
        status = 400
    view = service.read_inbox(case, case_key)
    words = str(STATUS_WORDS.get(view.status, _l("Being handled.")))
    resp = Response(
        render_template(
            "reporter/inbox.html",
            inbox=view,
            status_words=words,
            form=form,
            max_files=settings.max_files,
            protection=protection_for_inbox(db, case),
        ),
        status=status,
    )
    return _with_session(resp, session)


@bp.route("/receipt/files/<int:attachment_id>")
@reporter
def download(attachment_id: int) -> ResponseReturnValue:
    """A file of the reporter's own case, decrypted as it streams out, always as a download."""
    session = _current()
    if session is None:
        return _ended()
    db = get_session()
    try:
        case, case_key = service.load_case_for_reporter(db, session.case_id, session.private_key)
    except WrongReceipt:
        return _ended()
    att = service.attachment_for(case, attachment_id, for_reporter=True)
    if att is None:
        abort(404)
    name, _ctype = service.attachment_meta(case, case_key, att)
    return file_download(att.blob_key, case_key, name, att.size_bytes)


def file_download(blob_key: str, case_key: bytes, name: str, size: int) -> Response:
    """Stream a decrypted blob as an attachment with headers that keep browsers from rendering it."""
    source = get_blobs().open_read(blob_key)
    reader = DecryptingReader(file_stream_key(case_key, blob_key), source, file_stream_aad(blob_key))

    def generate() -> Iterator[bytes]:
        try:
            yield from reader.chunks()
        finally:
            source.close()

    resp = Response(stream_with_context(generate()), mimetype="application/octet-stream")
    resp.headers["Content-Disposition"] = content_disposition(name)
    resp.headers["Content-Length"] = str(size)
    return resp


@bp.route("/receipt/leave", methods=["POST"])
@public
def leave() -> ResponseReturnValue:
    """End the inbox session now (the cookie is deleted)."""
    flash(_("You have left your inbox. Close this window if others use this computer."), "info")
    resp = redirect(url_for("reporting.receipt"), code=303)
    resp.delete_cookie(reporter_session.COOKIE_NAME, path=reporter_session.COOKIE_PATH)
    return resp
