"""Staff case pages: read a case, work it, move it through the workflow.

Access is cryptographic: a case opens only with a grant the user can open.
Without one the answer is 404, so a URL does not even confirm a case exists.
Each action has its own route and role rule; the services hold the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from app.audit import record
from app.authz import staff_required
from app.cases import feed, ideas, service, workflow
from app.cases import keys as case_keys
from app.cases.deadlines import is_due_soon, is_overdue, local_today
from app.cases.forms import (
    ENTRY_LABELS,
    GRANTEE_LABELS,
    LINK_LABELS,
    OUTCOME_LABELS,
    AssignForm,
    ButtonForm,
    ExcludeForm,
    LabelsForm,
    LinkForm,
    NoteForm,
    ReplyForm,
    SeverityForm,
    TransitionForm,
)
from app.cases.queue_views import KIND_LABELS, STATUS_LABELS
from app.db import get_session, utcnow
from app.models.cases import Case, CaseKeyGrant, CaseKind
from app.models.staff import Role, StaffUser, Team
from app.notifications import service as notifications
from app.reporting import service as reporting
from app.reporting.views import file_download
from app.runtime import get_settings
from app.staff.current import current_private_key
from app.web.i18n import gettext as _
from app.web.params import form_version, small_int

bp = Blueprint("staff_cases", __name__, url_prefix="/staff/cases")
CASE_ROLES = (Role.INTAKE, Role.INVESTIGATOR, Role.LEGAL, Role.PROTECTION, Role.SUPERVISOR)
WORKING_ROLES = (Role.INTAKE, Role.INVESTIGATOR, Role.SUPERVISOR)
ROUTING_ROLES = (Role.INTAKE, Role.SUPERVISOR)


def _open(case_id: int) -> tuple[Case, bytes]:
    db = get_session()
    case = db.get(Case, case_id)
    if case is None:
        abort(404)
    try:
        return case, case_keys.open_as_staff(db, case, current_user, current_private_key())
    except case_keys.NoAccess:
        abort(404)


def _back(case: Case) -> ResponseReturnValue:
    return redirect(url_for("staff_cases.case_detail", case_id=case.id))


def case_action(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Commit the action, or answer "changed meanwhile" / a clear error without saving anything.

    A refusal is answered with the case page itself (409 or 400), the reason
    flashed on it: a browser shows a 4xx body and never follows its Location,
    so a redirect with a 4xx status showed Werkzeug's English "Redirecting..."
    stub instead of the reason. The page is read again after the rollback, so
    its forms carry the current version and a repeat of the action can succeed.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        db = get_session()
        try:
            result = view(*args, **kwargs)
            db.commit()
            return result
        except (workflow.ChangedMeanwhile, StaleDataError):
            db.rollback()
            flash(
                _(
                    "This case was changed by someone else meanwhile, so your change was not saved. "
                    "Look at the case again and repeat it if it is still needed."
                ),
                "error",
            )
            return _case_page(kwargs["case_id"]), 409
        except workflow.MissingField as exc:
            db.rollback()
            flash(_("Fill in: %(field)s.", field=_field_label(exc.field)), "error")
            return _case_page(kwargs["case_id"]), 400
        except (workflow.NotAllowed, service.CaseError) as exc:
            db.rollback()
            flash(_("Not possible: %(why)s", why=str(exc)), "error")
            return _case_page(kwargs["case_id"]), 400

    return wrapper


def _field_label(field: str) -> str:
    return str({"outcome": _("the outcome"), "reasons": _("the reasons")}.get(field, field))


@bp.route("/")
@staff_required(*CASE_ROLES)
def case_list() -> ResponseReturnValue:
    """Cases I can open, nearest deadline first."""
    db = get_session()
    ids = case_keys.cases_visible_to(db, current_user)
    cases = db.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.next_due_on, Case.id)).all() if ids else []
    return render_template("staff/cases/list.html", cases=cases, today=local_today(utcnow()))


@bp.route("/<int:case_id>")
@staff_required(*CASE_ROLES)
def case_detail(case_id: int) -> ResponseReturnValue:
    """One case: status and deadlines, the report, conversation, notes, files, links, access."""
    return _case_page(case_id)


# Status and outcome labels by their stored codes (lazy strings: translated when shown).
_CODE_LABELS = {str(code): label for code, label in (*STATUS_LABELS.items(), *OUTCOME_LABELS.items())}


def _code_label(code: str) -> str:
    """A stored status or outcome code in the page's language (the code itself if it has no label)."""
    return str(_CODE_LABELS.get(code, code))


def _case_page(case_id: int) -> str:
    """The case page, for a GET and as the body of a refused action's 409 or 400.

    Its forms never take the posted data (``formdata=None``): after a refusal
    they must show the case as it is now, with its current version, not the
    stale version or another form's field of the same name that was posted.
    """
    case, case_key = _open(case_id)
    db, settings = get_session(), get_settings()
    now = utcnow()
    today = local_today(now)
    record(db, "case.viewed", actor_user_id=current_user.id, case_id=case.id, now=now)
    db.commit()
    moves = workflow.allowed_from(case.status, current_user.role_set, case.kind)
    transition_form = TransitionForm(formdata=None, version=str(case.version))
    transition_form.target.choices = [
        SelectChoice(m.target.value, str(STATUS_LABELS.get(m.target, m.target.value))) for m in moves
    ]
    assign = AssignForm(formdata=None)
    teams = db.scalars(select(Team).order_by(Team.name)).all()
    users = db.scalars(select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.username)).all()
    assign.team_id.choices = [SelectChoice("", "—")] + [SelectChoice(str(t.id), t.name) for t in teams]
    assign.user_id.choices = [SelectChoice("", "—")] + [SelectChoice(str(u.id), u.display_name) for u in users]
    exclude = ExcludeForm(formdata=None)
    exclude.user_id.choices = [SelectChoice(str(u.id), u.display_name) for u in users]
    return render_template(
        "staff/cases/detail.html",
        case=case,
        inbox=reporting.read_inbox(case, case_key),
        notes=service.read_notes(case, case_key, _code_label),
        proposals=ideas.proposals(case, case_key),
        feed_records=feed.records(case, case_key),
        status_label=_code_label(case.status),
        kind_label=str(KIND_LABELS.get(CaseKind(case.kind), case.kind)),
        outcome_label=_code_label(case.outcome) if case.outcome else None,
        link_labels=LINK_LABELS,
        grantee_labels=GRANTEE_LABELS,
        entry_labels=ENTRY_LABELS,
        links=service.links_of(db, case, set(case_keys.cases_visible_to(db, current_user))),
        grants=service.grants_view(db, case),
        moves=moves,
        transition_form=transition_form,
        reply_form=ReplyForm(formdata=None),
        note_form=NoteForm(formdata=None),
        severity_form=SeverityForm(formdata=None, version=str(case.version), severity=case.severity),
        labels_form=LabelsForm(
            formdata=None, version=str(case.version), labels=", ".join(label.label for label in case.labels)
        ),
        link_form=LinkForm(formdata=None),
        assign_form=assign,
        exclude_form=exclude,
        button=ButtonForm(formdata=None),
        overdue=is_overdue(case.next_due_on, today),
        due_soon=is_due_soon(case.next_due_on, today, settings.due_soon_days),
        can_route=current_user.has_role(*ROUTING_ROLES),
        can_work=current_user.has_role(*WORKING_ROLES),
        identity_url=(
            url_for("case_identity.status", case_id=case.id)
            if "case_identity.status" in current_app.view_functions
            else None
        ),
    )


@bp.route("/<int:case_id>/transition", methods=["POST"])
@staff_required(*CASE_ROLES)
@case_action
def transition(case_id: int) -> ResponseReturnValue:
    """Move the case along the workflow (the table in app/cases/workflow.py decides who may)."""
    case, case_key = _open(case_id)
    form = TransitionForm()
    form.target.choices = [SelectChoice(request.form.get("target", ""), "")]
    if not form.validate_on_submit():
        abort(400)
    workflow.transition(
        get_session(),
        get_settings(),
        case,
        case_key,
        current_user,
        form.target.data or "",
        expected_version=form_version(form.version.data),
        now=utcnow(),
        outcome=form.outcome.data or None,
        reasons=form.reasons.data or "",
        reporter_informed_on=form.reporter_informed_on.data,
    )
    flash(_("The case is now: %(status)s.", status=_code_label(case.status)), "info")
    return _back(case)


@bp.route("/<int:case_id>/messages", methods=["POST"])
@staff_required(*CASE_ROLES)
@case_action
def reply(case_id: int) -> ResponseReturnValue:
    """Write to the reporter (a message or a question)."""
    case, case_key = _open(case_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        raise service.CaseError(_("write a message"))
    service.message_reporter(
        get_session(),
        get_settings(),
        case,
        case_key,
        current_user,
        form.body.data or "",
        utcnow(),
        question=bool(form.question.data),
    )
    flash(_("Sent to the reporter."), "info")
    return _back(case)


@bp.route("/<int:case_id>/notes", methods=["POST"])
@staff_required(*CASE_ROLES)
@case_action
def add_note(case_id: int) -> ResponseReturnValue:
    """An internal note, never shown to the reporter."""
    case, case_key = _open(case_id)
    form = NoteForm()
    if not form.validate_on_submit():
        raise service.CaseError(_("write a note"))
    service.add_note(get_session(), case, case_key, current_user, form.body.data or "", utcnow())
    return _back(case)


@bp.route("/<int:case_id>/severity", methods=["POST"])
@staff_required(*WORKING_ROLES)
@case_action
def severity(case_id: int) -> ResponseReturnValue:
    """Set how severe the case is."""
    case, _key = _open(case_id)
    form = SeverityForm()
    if not form.validate_on_submit():
        raise service.CaseError(_("severity is 0 to 5"))
    service.set_severity(
        get_session(), case, current_user, int(form.severity.data or 0), form_version(form.version.data), utcnow()
    )
    return _back(case)


@bp.route("/<int:case_id>/labels", methods=["POST"])
@staff_required(*WORKING_ROLES)
@case_action
def labels(case_id: int) -> ResponseReturnValue:
    """Replace the case's labels."""
    case, _key = _open(case_id)
    form = LabelsForm()
    if not form.validate_on_submit():
        abort(400)
    service.set_labels(
        get_session(),
        case,
        current_user,
        (form.labels.data or "").split(","),
        form_version(form.version.data),
        utcnow(),
    )
    return _back(case)


@bp.route("/<int:case_id>/links", methods=["POST"])
@staff_required(*WORKING_ROLES)
@case_action
def link(case_id: int) -> ResponseReturnValue:
    """Link this case to another one I can also open."""
    case, _key = _open(case_id)
    form = LinkForm()
    if not form.validate_on_submit():
        raise service.CaseError(_("give the other case's reference"))
    db = get_session()
    other = db.scalar(select(Case).where(Case.public_ref == (form.other_ref.data or "").strip().upper()))
    if other is None:
        raise service.CaseError(_("no case with that reference that you can open"))
    try:
        case_keys.open_as_staff(db, other, current_user, current_private_key())
    except case_keys.NoAccess:
        raise service.CaseError(_("no case with that reference that you can open")) from None
    service.link_cases(db, case, other, form.relation.data or "", current_user, utcnow())
    return _back(case)


@bp.route("/<int:case_id>/assign", methods=["POST"])
@staff_required(*ROUTING_ROLES)
@case_action
def assign(case_id: int) -> ResponseReturnValue:
    """Assign to a team or a named person (sealing the case key to them)."""
    case, case_key = _open(case_id)
    form = AssignForm()
    if not form.validate_on_submit():
        abort(400)
    db, now = get_session(), utcnow()
    if form.team_id.data:
        team = db.get(Team, small_int(form.team_id.data) or 0)
        if team is None:
            abort(404)
        service.assign_team(db, case, case_key, team, current_user, now)
        notifications.new_case(db, get_settings(), case, [team.id], local_today(now))
    if form.user_id.data:
        user = db.get(StaffUser, small_int(form.user_id.data) or 0)
        if user is None:
            abort(404)
        service.assign_user(db, case, case_key, user, current_user, now)
    return _back(case)


@bp.route("/<int:case_id>/exclude", methods=["POST"])
@staff_required(*ROUTING_ROLES)
@case_action
def exclude(case_id: int) -> ResponseReturnValue:
    """Leave a person with a conflict of interest out of this case."""
    case, case_key = _open(case_id)
    form = ExcludeForm()
    if not form.validate_on_submit():
        abort(400)
    db = get_session()
    user = db.get(StaffUser, small_int(form.user_id.data) or 0)
    if user is None:
        abort(404)
    if user.id == current_user.id:
        raise service.CaseError(_("you cannot exclude yourself; ask a colleague"))
    service.exclude_member(
        db, case, case_key, user, form.reason.data or "", current_user, utcnow(), actor_private=current_private_key()
    )
    return _back(case)


@bp.route("/<int:case_id>/grants/<int:grant_id>/revoke", methods=["POST"])
@staff_required(*ROUTING_ROLES)
@case_action
def revoke(case_id: int, grant_id: int) -> ResponseReturnValue:
    """Revoke a grant (its sealed copy of the case key is destroyed)."""
    case, _key = _open(case_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    db = get_session()
    grant = db.get(CaseKeyGrant, grant_id)
    if grant is None or grant.case_id != case.id:
        abort(404)
    service.revoke_grant(db, case, grant, current_user, utcnow())
    return _back(case)


@bp.route("/<int:case_id>/files/<int:attachment_id>")
@staff_required(*CASE_ROLES)
def download(case_id: int, attachment_id: int) -> ResponseReturnValue:
    """A case file, decrypted as it streams, always as a download."""
    case, case_key = _open(case_id)
    att = reporting.attachment_for(case, attachment_id, for_reporter=False)
    if att is None:
        abort(404)
    name, _ctype = reporting.attachment_meta(case, case_key, att)
    db = get_session()
    record(db, "case.file_downloaded", actor_user_id=current_user.id, case_id=case.id, target=f"attachment:{att.id}")
    db.commit()
    return file_download(att.blob_key, case_key, name, att.size_bytes)
