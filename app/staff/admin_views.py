"""Admin pages: create and disable users, set roles; propose and remove team members.

Admins manage accounts but hold no team key: adding someone to a team is a
proposal that a confirmed member of that team completes (home page).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from app.audit import record
from app.authz import staff_required
from app.cases.departments import DepartmentError, add_department, all_departments, set_department_active
from app.db import get_session
from app.models.staff import Role, StaffUser, Team
from app.runtime import get_settings
from app.staff import keyring, service, teams
from app.staff.current import current_private_key
from app.staff.errors import (
    DuplicateUser,
    InvalidCredentials,
    LastToOpenCases,
    NotATeamMember,
    OwnRolesUnchangeable,
    UnknownTeam,
    UnknownUser,
    WeakPassword,
)
from app.staff.forms import ConfirmForm, DepartmentForm, UserCreateForm, UserEditForm
from app.web.i18n import gettext as _

bp = Blueprint("staff_admin", __name__, url_prefix="/staff/admin")


def _user_or_404(user_id: int) -> StaffUser:
    try:
        return service.get_user(get_session(), user_id)
    except UnknownUser:
        abort(404)


def _posted_team_and_user(team_id: int, user_id: int) -> tuple[Team, StaffUser]:
    """For the team buttons: a valid CSRF-protected POST and both rows, or 400/404."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        return teams.get_team(get_session(), team_id), service.get_user(get_session(), user_id)
    except (UnknownTeam, UnknownUser):
        abort(404)


@bp.route("/users")
@staff_required(Role.ADMIN)
def users() -> str:
    """Every staff account with its roles and state."""
    rows = get_session().scalars(select(StaffUser).order_by(StaffUser.username)).all()
    return render_template("staff/admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def user_new() -> ResponseReturnValue:
    """Create an account; the person enrols TOTP at first login."""
    form = UserCreateForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            user = service.create_user(
                db,
                get_settings(),
                username=form.username.data or "",
                display_name=form.display_name.data or "",
                password=form.password.data or "",
                email=form.email.data or None,
                roles={Role(r) for r in form.roles.data or []},
            )
        except DuplicateUser:
            form.username.errors = [_("This username is taken.")]
        except WeakPassword as exc:
            form.password.errors = [_("This password is too weak: %(why)s", why=str(exc))]
        except InvalidCredentials:
            form.username.errors = [_("Enter a username of 1 to 100 characters.")]
        else:
            record(db, "user.created", actor_user_id=current_user.id, target=f"user:{user.id}")
            db.commit()
            flash(_("User %(name)s created.", name=user.username), "info")
            return redirect(url_for("staff_admin.users"))
    return render_template("staff/admin/user_new.html", form=form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def user_edit(user_id: int) -> ResponseReturnValue:
    """Change name, roles, and whether the account is active (disabling ends its sessions)."""
    user = _user_or_404(user_id)
    form = UserEditForm(obj=user) if request.method == "GET" else UserEditForm()
    if request.method == "GET":
        form.roles.data = [r.value for r in user.role_set]
        form.active.data = user.is_active
    if form.validate_on_submit():
        db = get_session()
        new_roles = {Role(r) for r in form.roles.data or []}
        was_roles, was_active = set(user.role_set), user.is_active
        if user.id == current_user.id and not form.active.data:
            flash(_("You cannot disable your own account."), "error")
            return render_template("staff/admin/user_edit.html", form=form, user=user)
        try:
            service.set_roles(user, new_roles, actor=current_user)
        except OwnRolesUnchangeable:
            flash(_("You cannot change your own roles; another administrator must do it."), "error")
        else:
            user.display_name = form.display_name.data or user.display_name
            user.email = form.email.data or None
            service.set_active(db, user, bool(form.active.data))
            target = f"user:{user.id}"
            record(db, "user.edited", actor_user_id=current_user.id, target=target)
            if new_roles != was_roles:
                record(db, "user.roles_set", actor_user_id=current_user.id, target=target)
            if user.is_active != was_active:
                action = "user.enabled" if user.is_active else "user.disabled"
                record(db, action, actor_user_id=current_user.id, target=target)
            db.commit()
            flash(_("Saved."), "info")
            return redirect(url_for("staff_admin.users"))
    return render_template("staff/admin/user_edit.html", form=form, user=user)


@bp.route("/teams")
@staff_required(Role.ADMIN, Role.SUPERVISOR)
def team_list() -> str:
    """Teams with confirmed and proposed members."""
    db = get_session()
    all_users = db.scalars(select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.username)).all()
    return render_template("staff/admin/teams.html", teams=teams.list_teams(db), users=all_users, form=ConfirmForm())


@bp.route("/teams/<int:team_id>/propose", methods=["POST"])
@staff_required(Role.ADMIN)
def team_propose(team_id: int) -> WerkzeugResponse:
    """Propose a member; a confirmed member of the team seals the team key to them."""
    db = get_session()
    try:
        user_id = int(request.form.get("user_id", ""))
    except ValueError:
        abort(400)
    team, user = _posted_team_and_user(team_id, user_id)
    teams.propose_member(db, team, user, current_user)
    record(db, "team.member_proposed", actor_user_id=current_user.id, target=f"team:{team.id},user:{user.id}")
    db.commit()
    flash(
        _("%(user)s proposed for %(team)s. A member of the team must confirm.", user=user.username, team=team.name),
        "info",
    )
    return redirect(url_for("staff_admin.team_list"))


@bp.route("/teams/<int:team_id>/members/<int:user_id>/confirm", methods=["POST"])
@staff_required()
def team_confirm(team_id: int, user_id: int) -> WerkzeugResponse:
    """A confirmed member shares the team key with a proposed member (four eyes)."""
    db = get_session()
    team, user = _posted_team_and_user(team_id, user_id)
    try:
        private = current_private_key()
        key = teams.open_team_key_for(team, current_user, private)
        # With my own key too, the team's cases restricted to members reach the newcomer at once.
        teams.confirm_member(team, key, user, current_user, confirmer_private=private)
    except NotATeamMember:
        abort(403)
    record(db, "team.member_confirmed", actor_user_id=current_user.id, target=f"team:{team.id},user:{user.id}")
    db.commit()
    flash(_("%(user)s can now open %(team)s's cases.", user=user.username, team=team.name), "info")
    return redirect(url_for("staff_auth.home"))


@bp.route("/teams/<int:team_id>/members/<int:user_id>/remove", methods=["POST"])
@staff_required(Role.ADMIN, Role.SUPERVISOR)
def team_remove(team_id: int, user_id: int) -> WerkzeugResponse:
    """Remove a member; the team is re-keyed now if I hold its key, else at a member's next login."""
    db = get_session()
    team, user = _posted_team_and_user(team_id, user_id)
    try:
        # Checked before anything is written, the audit row included (nothing is removed).
        teams.check_removal(db, team, user)
    except LastToOpenCases as exc:
        flash(
            _(
                "%(user)s is the last one who can open %(refs)s: assign those cases to another member first "
                "(or re-grant them with the recovery key), then remove them.",
                user=user.username,
                refs=", ".join(exc.refs),
            ),
            "error",
        )
        return redirect(url_for("staff_admin.team_list"))
    key = keyring.open_team_key(team, current_user, current_private_key())
    record(db, "team.member_removed", actor_user_id=current_user.id, target=f"team:{team.id},user:{user.id}")
    teams.remove_member(db, team, user, key, actor_user_id=current_user.id)
    db.commit()
    flash(_("%(user)s removed from %(team)s.", user=user.username, team=team.name), "info")
    return redirect(url_for("staff_admin.team_list"))


@bp.route("/departments", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def departments() -> ResponseReturnValue:
    """The department list reporters choose from: add one, show or hide one."""
    db = get_session()
    form = DepartmentForm()
    if form.validate_on_submit():
        try:
            dept = add_department(db, form.code.data or "", form.name_ko.data or "", form.name_en.data or "")
        except DepartmentError as exc:
            form.code.errors = [str(exc)]
        else:
            record(db, "department.added", actor_user_id=current_user.id, target=f"department:{dept.id}")
            db.commit()
            flash(_("Department added."), "info")
            return redirect(url_for("staff_admin.departments"))
    return render_template(
        "staff/admin/departments.html", departments=all_departments(db), form=form, toggle=ConfirmForm()
    )


@bp.route("/departments/<int:dept_id>/toggle", methods=["POST"])
@staff_required(Role.ADMIN)
def department_toggle(dept_id: int) -> ResponseReturnValue:
    """Show a hidden department again, or hide it from reporters."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db = get_session()
    dept = set_department_active(db, dept_id, request.form.get("active") == "1")
    if dept is None:
        abort(404)
    action = "department.shown" if dept.active else "department.hidden"
    record(db, action, actor_user_id=current_user.id, target=f"department:{dept.id}")
    db.commit()
    return redirect(url_for("staff_admin.departments"))
