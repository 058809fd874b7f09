"""Protection team pages: dashboard, protected persons, alerts, retaliation records and compliance checks.

Thin: parse, call :mod:`app.protection`, turn its errors into a message. A
retaliation case's own page opens with the case key like any case (404
without a grant); persons and alerts show references and dates only.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from app.authz import staff_required
from app.cases.deadlines import local_today
from app.cases.views import _open
from app.db import get_session, utcnow
from app.models.cases import Case, CaseExcludedMember
from app.models.protection import CheckIn, PersonnelEvent, ProtectedPerson, RetaliationAlert
from app.models.staff import Role
from app.protection import checkins, dashboard, persons, retaliation
from app.protection.errors import ProtectionError
from app.protection.forms import (
    ALERT_LABELS,
    ANSWER_LABELS,
    COMPLIANCE_LABELS,
    STATE_LABELS,
    TREATMENT_LABELS,
    AlertStatusForm,
    ButtonForm,
    ComplianceForm,
    ExtendForm,
    ProtectForm,
)
from app.reporting.errors import NotReady
from app.runtime import get_secrets, get_settings
from app.staff.current import current_private_key
from app.web.i18n import gettext as _

bp = Blueprint("protection", __name__, url_prefix="/staff/protection")
ROLES = (Role.PROTECTION, Role.SUPERVISOR)


@bp.context_processor
def _labels() -> dict[str, object]:
    return {"state_labels": STATE_LABELS, "alert_labels": ALERT_LABELS, "answer_labels": ANSWER_LABELS}


def _not_excluded(case_id: int) -> None:
    """404 for a user excluded from the case (conflict of interest): as if the person, alert or case did not exist.

    The case key is already sealed around them, but these pages show
    references, dates, answers and alerts without opening the key, so the
    exclusion is checked here, on every route that reaches a case.
    """
    if (
        get_session().scalar(select(Case.id).where(Case.id == case_id, dashboard.visible_to(current_user, Case.id)))
        is None
    ):
        abort(404)


def _person(person_id: int) -> ProtectedPerson:
    found = get_session().get(ProtectedPerson, person_id)
    if found is None:
        abort(404)
    _not_excluded(found.case_id)
    return found


def _failed(exc: Exception) -> None:
    get_session().rollback()
    flash(_("Not possible: %(why)s", why=str(exc)), "error")


@bp.route("/")
@staff_required(*ROLES)
def index() -> ResponseReturnValue:
    """The protection dashboard: protected persons by reference, open alerts, check-ins, retaliation cases."""
    settings = get_settings()
    board = dashboard.build(get_session(), local_today(utcnow()), settings.due_soon_days, viewer=current_user)
    return render_template(
        "protection/dashboard.html",
        board=board,
        protect_form=ProtectForm(),
        button=ButtonForm(),
        labels=TREATMENT_LABELS,
        can_protect=current_user.has_role(Role.PROTECTION),
    )


@bp.route("/protect", methods=["POST"])
@staff_required(Role.PROTECTION)
def protect() -> ResponseReturnValue:
    """A custodian protects the reporter of a case, from its identity record."""
    form = ProtectForm()
    if not form.validate_on_submit():
        flash(_("Give the case reference."), "error")
        return redirect(url_for("protection.index"), code=303)
    db = get_session()
    case = db.scalar(select(Case).where(Case.public_ref == (form.public_ref.data or "").strip().upper()))
    if case is None or db.get(CaseExcludedMember, (case.id, current_user.id)) is not None:  # as if unknown
        flash(_("No case has this reference."), "error")
        return redirect(url_for("protection.index"), code=303)
    try:
        person, raised = persons.protect_from_identity(
            db,
            get_settings(),
            get_secrets().protection_key,
            case,
            current_user,
            current_private_key(),
            utcnow(),
            employee_number=form.employee_number.data or "",
        )
        db.commit()
    except ProtectionError as exc:
        _failed(exc)
        return redirect(url_for("protection.index"), code=303)
    flash(_("The reporter is protected until %(day)s.", day=person.protected_until.isoformat()), "info")
    if raised:
        flash(_("Events received earlier raised %(n)d alert(s).", n=len(raised)), "error")
    return redirect(url_for("protection.person", person_id=person.id), code=303)


@bp.route("/persons/<int:person_id>")
@staff_required(*ROLES)
def person(person_id: int) -> ResponseReturnValue:
    """One protected person: reference, period, check-ins with their answers, alerts (no identity unless opened).

    A custodian sees what the reporter ticked and wrote in each check-in; a
    supervisor (who may extend the protection) sees only the answer itself.
    """
    db = get_session()
    found = _person(person_id)
    case = db.get(Case, found.case_id)
    assert case is not None
    check_ins = list(db.scalars(select(CheckIn).where(CheckIn.case_id == case.id).order_by(CheckIn.due_on)))
    # Answers' details open for custodians only (sealed to their team); each opening is audited.
    details = checkins.read_answers(db, check_ins, current_user, current_private_key(), utcnow())
    if details:
        db.commit()
    alerts = db.execute(
        select(RetaliationAlert, PersonnelEvent)
        .join(PersonnelEvent, PersonnelEvent.id == RetaliationAlert.personnel_event_id)
        .where(RetaliationAlert.protected_person_id == found.id)
        .order_by(RetaliationAlert.id)
    ).all()
    return render_template(
        "protection/person.html",
        person=found,
        case=case,
        check_ins=check_ins,
        details=details,
        labels=TREATMENT_LABELS,
        alerts=alerts,
        complaints=retaliation.complaints_of(db, case),
        extend_form=ExtendForm(),
        today=local_today(utcnow()),
    )


@bp.route("/persons/<int:person_id>/identity", methods=["POST"])
@staff_required(Role.PROTECTION)
def identity(person_id: int) -> ResponseReturnValue:
    """Open the protected person's identity (custodians only; audited each time)."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    db = get_session()
    found = _person(person_id)
    try:
        fields = persons.read_identity(db, found, current_user, current_private_key(), utcnow())
    except ProtectionError:
        abort(404)
    db.commit()
    return render_template("protection/identity.html", person=found, fields=fields)


@bp.route("/persons/<int:person_id>/extend", methods=["POST"])
@staff_required(*ROLES)
def extend(person_id: int) -> ResponseReturnValue:
    """Extend the protection period (more check-ins; earlier events re-matched)."""
    db = get_session()
    found = _person(person_id)
    form = ExtendForm()
    if not form.validate_on_submit() or form.until.data is None:
        flash(_("Give the new end of protection."), "error")
        return redirect(url_for("protection.person", person_id=person_id), code=303)
    try:
        raised = persons.extend(db, get_settings(), found, form.until.data, current_user, utcnow())
        db.commit()
    except ProtectionError as exc:
        _failed(exc)
        return redirect(url_for("protection.person", person_id=person_id), code=303)
    flash(_("Protection extended until %(day)s.", day=found.protected_until.isoformat()), "info")
    if raised:
        flash(_("Events received earlier raised %(n)d alert(s).", n=len(raised)), "error")
    return redirect(url_for("protection.person", person_id=person_id), code=303)


def _alert(alert_id: int) -> RetaliationAlert:
    alert = get_session().get(RetaliationAlert, alert_id)
    if alert is None:
        abort(404)
    _not_excluded(alert.case_id)
    if alert.retaliation_case_id is not None:
        _not_excluded(alert.retaliation_case_id)
    return alert


@bp.route("/alerts/<int:alert_id>/status", methods=["POST"])
@staff_required(*ROLES)
def alert_status(alert_id: int) -> ResponseReturnValue:
    """Acknowledge an alert, or close it as looked at."""
    alert = _alert(alert_id)
    form = AlertStatusForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        retaliation.set_alert_status(get_session(), alert, form.status.data or "", current_user, utcnow())
        get_session().commit()
    except ProtectionError as exc:
        _failed(exc)
    return redirect(url_for("protection.index"), code=303)


@bp.route("/alerts/<int:alert_id>/open-case", methods=["POST"])
@staff_required(*ROLES)
def open_case(alert_id: int) -> ResponseReturnValue:
    """Open a linked retaliation case from an alert (or go to the one already opened)."""
    alert = _alert(alert_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    db = get_session()
    try:
        case = retaliation.open_from_alert(db, get_settings(), alert, current_user, utcnow())
        db.commit()
    except (ProtectionError, NotReady) as exc:
        _failed(exc)
        return redirect(url_for("protection.index"), code=303)
    flash(_("Retaliation case %(ref)s is open.", ref=case.public_ref), "info")
    return redirect(url_for("protection.retaliation_record", case_id=case.id), code=303)


@bp.route("/cases/<int:case_id>")
@staff_required(*ROLES)
def retaliation_record(case_id: int) -> ResponseReturnValue:
    """A retaliation case's record: the measure and its dates, the one-year limit, compliance checks."""
    _not_excluded(case_id)
    case, case_key = _open(case_id)
    db = get_session()
    rec = retaliation.record_of(db, case.id)
    if rec is None:
        abort(404)
    checks = [(c, retaliation.read_notes(case, case_key, c)) for c in retaliation.checks_of(db, case)]
    return render_template(
        "protection/retaliation.html",
        case=case,
        rec=rec,
        checks=checks,
        labels=TREATMENT_LABELS,
        results=COMPLIANCE_LABELS,
        forms={c.id: ComplianceForm(prefix=f"c{c.id}") for c, _notes in checks if c.checked_on is None},
        today=local_today(utcnow()),
    )


@bp.route("/cases/<int:case_id>/checks/<int:check_id>", methods=["POST"])
@staff_required(*ROLES)
def record_check(case_id: int, check_id: int) -> ResponseReturnValue:
    """Record one compliance check of the protective measure."""
    _not_excluded(case_id)
    case, case_key = _open(case_id)
    form = ComplianceForm(prefix=f"c{check_id}")
    back = redirect(url_for("protection.retaliation_record", case_id=case_id), code=303)
    if not form.validate_on_submit():
        flash(_("Choose what the check found."), "error")
        return back
    db = get_session()
    try:
        retaliation.record_check(
            db,
            get_settings(),
            case,
            case_key,
            check_id,
            form.result.data or "",
            form.notes.data or "",
            current_user,
            utcnow(),
        )
        db.commit()
    except ProtectionError as exc:
        _failed(exc)
        return back
    flash(_("The compliance check was recorded."), "info")
    return back
