"""Staff sign-in (password, then TOTP enrolment or code), sign-out, home, password change."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse

from app.audit import record
from app.authz import public, staff_required
from app.db import get_session, utcnow
from app.models.staff import SessionStage, TeamMembership
from app.runtime import get_settings
from app.staff import service, sessions, teams
from app.staff.current import current_session
from app.staff.errors import AccountLocked, InvalidCredentials, InvalidTotp, SessionInvalid, WeakPassword
from app.staff.forms import ConfirmForm, LoginForm, PasswordChangeForm, TotpForm
from app.web.i18n import gettext as _

bp = Blueprint("staff_auth", __name__, url_prefix="/staff")
COOKIE_PATH = "/staff"


def _set_cookie(resp: WerkzeugResponse, value: str) -> WerkzeugResponse:
    settings = get_settings()
    resp.set_cookie(
        sessions.COOKIE_NAME, value, httponly=True, samesite="Strict", secure=settings.https, path=COOKIE_PATH
    )
    return resp


def _clear_cookie(resp: WerkzeugResponse) -> WerkzeugResponse:
    resp.delete_cookie(sessions.COOKIE_NAME, path=COOKIE_PATH)
    return resp


def _pending(stage: SessionStage) -> sessions.OpenedSession | None:
    """The half-finished login of this browser, if it is at ``stage``."""
    try:
        opened = sessions.load(get_session(), get_settings(), request.cookies.get(sessions.COOKIE_NAME), utcnow())
    except SessionInvalid:
        return None
    return opened if opened.row.stage == stage.value else None


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    """Step 1: username and password (which opens the user's private key)."""
    if current_user.is_authenticated:
        return redirect(url_for("staff_auth.home"))
    form = LoginForm()
    if form.validate_on_submit():
        db, settings, now = get_session(), get_settings(), utcnow()
        try:
            auth = service.authenticate(db, settings, form.username.data or "", form.password.data or "", now)
        except AccountLocked:
            _audit_login_refused(db, "staff.login_locked", form.username.data or "")
            db.commit()
            flash(_("Too many failed attempts. This account is locked for a while; try again later."), "error")
            return render_template("staff/auth/login.html", form=form), 429
        except InvalidCredentials:
            _audit_login_refused(db, "staff.login_failed", form.username.data or "")
            db.commit()  # keep the failure count
            flash(_("Wrong username or password."), "error")
            return render_template("staff/auth/login.html", form=form), 401
        stage = SessionStage.TOTP_VERIFY if auth.user.totp_secret_ct else SessionStage.TOTP_ENROL
        _row, cookie = sessions.start(db, settings, auth.user, auth.private_key, stage, now)
        db.commit()
        target = "staff_auth.code" if stage == SessionStage.TOTP_VERIFY else "staff_auth.enrol"
        return _set_cookie(redirect(url_for(target)), cookie)
    return render_template("staff/auth/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
@public
def code() -> ResponseReturnValue:
    """Step 2: the one-time code; success replaces the pending session with an active one."""
    opened = _pending(SessionStage.TOTP_VERIFY)
    if opened is None:
        return redirect(url_for("staff_auth.login"))
    form = TotpForm()
    if form.validate_on_submit():
        db, settings, now = get_session(), get_settings(), utcnow()
        user = opened.row.user
        if user.locked_until is not None and user.locked_until > now:
            flash(_("Too many failed attempts. This account is locked for a while; try again later."), "error")
            return render_template("staff/auth/code.html", form=form), 429
        try:
            secret = service.open_totp_secret(user, opened.private_key())
            service.verify_totp(user, secret, form.code.data or "", now)
        except InvalidTotp:
            service.record_failure(user, settings, now)
            record(db, "staff.totp_failed", target=f"user:{user.id}", now=now)
            db.commit()
            flash(_("That code is not valid. Wait for a new code and try again."), "error")
            return render_template("staff/auth/code.html", form=form), 401
        return _finish_login(opened)
    return render_template("staff/auth/code.html", form=form)


@bp.route("/login/enrol", methods=["GET", "POST"])
@public
def enrol() -> ResponseReturnValue:
    """First login: scan a QR code into an authenticator app and confirm with a code."""
    opened = _pending(SessionStage.TOTP_ENROL)
    if opened is None:
        return redirect(url_for("staff_auth.login"))
    db, settings, now = get_session(), get_settings(), utcnow()
    user = opened.row.user
    secret = sessions.pending_totp(opened)
    if secret is None:
        secret = service.new_totp_secret()
        sessions.store_pending_totp(opened, secret)
        db.commit()
    form = TotpForm()
    if form.validate_on_submit():
        try:
            service.verify_totp(user, secret, form.code.data or "", now)
        except InvalidTotp:
            service.record_failure(user, settings, now)
            record(db, "staff.totp_failed", target=f"user:{user.id}", now=now)
            db.commit()
            flash(_("That code is not valid. Check the time on your phone and try again."), "error")
        else:
            service.enrol_totp(user, secret)
            record(db, "staff.totp_enrolled", actor_user_id=user.id, target=f"user:{user.id}", now=now)
            return _finish_login(opened)
    uri = service.totp_uri(settings, user, secret)
    return render_template(
        "staff/auth/enrol.html",
        form=form,
        qr=_qr_data_uri(uri),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    )


def _finish_login(opened: sessions.OpenedSession) -> WerkzeugResponse:
    db, settings, now = get_session(), get_settings(), utcnow()
    user = opened.row.user
    service.record_success(user)
    record(db, "staff.login", actor_user_id=user.id, now=now)
    teams.finish_pending_rekeys(db, user, opened.private_key())
    _row, cookie = sessions.promote(db, settings, opened, now)
    db.commit()
    return _set_cookie(redirect(url_for("staff_auth.home")), cookie)


def _audit_login_refused(db: Session, action: str, typed_username: str) -> None:
    """Audit a refused password step: the account's id when it exists, never the typed name."""
    user = service.find_user(db, typed_username)
    record(db, action, target=f"user:{user.id}" if user is not None else None)


def _qr_data_uri(text: str) -> str:
    """The QR code as an SVG data: URI (no JavaScript, no outside request, allowed by the CSP)."""
    img = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buf = io.BytesIO()
    img.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


@bp.route("/logout", methods=["POST"])
@staff_required()
def logout() -> WerkzeugResponse:
    """End the session: its row, and the encrypted key in it, are deleted."""
    if ConfirmForm().validate_on_submit():
        db = get_session()
        record(db, "staff.logout", actor_user_id=current_user.id)
        sessions.destroy(db, current_session().row)
        db.commit()
        g.pop("staff_session", None)
        flash(_("You are signed out."), "info")
        return _clear_cookie(redirect(url_for("staff_auth.login")))
    return redirect(url_for("staff_auth.home"))


@bp.route("/")
@staff_required()
def home() -> str:
    """The staff start page: who I am, my teams, memberships waiting for my confirmation."""
    my_teams = list(current_user.memberships)
    to_confirm: list[TeamMembership] = []
    for m in my_teams:
        if m.is_confirmed:
            to_confirm.extend(p for p in m.team.memberships if not p.is_confirmed and p.user_id != current_user.id)
    return render_template("staff/auth/home.html", memberships=my_teams, to_confirm=to_confirm, form=ConfirmForm())


@bp.route("/password", methods=["GET", "POST"])
@staff_required()
def password() -> ResponseReturnValue:
    """Change my password: the private key is re-wrapped; other sessions end."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        db, settings, now = get_session(), get_settings(), utcnow()
        target = f"user:{current_user.id}"
        try:
            service.change_password(
                db,
                settings,
                current_user,
                form.current.data or "",
                form.new.data or "",
                keep_session_id=current_session().row.id,
                now=now,
            )
        except AccountLocked:
            record(db, "staff.password_change_locked", actor_user_id=current_user.id, target=target, now=now)
            db.commit()
            flash(_("Too many failed attempts. This account is locked for a while; try again later."), "error")
            return render_template("staff/auth/password.html", form=form), 429
        except InvalidCredentials:
            record(db, "staff.password_change_failed", actor_user_id=current_user.id, target=target, now=now)
            db.commit()  # keep the failure count (a stolen session cookie must not guess without limit)
            form.current.errors = [_("The current password is wrong.")]
        except WeakPassword as exc:
            form.new.errors = [_("This password is too weak: %(why)s", why=str(exc))]
        else:
            record(db, "staff.password_changed", actor_user_id=current_user.id, target=target, now=now)
            db.commit()
            flash(_("Your password is changed. Other sessions were signed out."), "info")
            return redirect(url_for("staff_auth.home"))
    return render_template("staff/auth/password.html", form=form)


def load_user_from_request(req: object) -> object | None:
    """Flask-Login request loader: an ACTIVE session row plus its cookie, or nobody."""
    db, settings, now = get_session(), get_settings(), utcnow()
    try:
        opened = sessions.load(db, settings, request.cookies.get(sessions.COOKIE_NAME), now)
    except SessionInvalid:
        return None
    if opened.row.stage != SessionStage.ACTIVE.value or not opened.row.user.is_active:
        return None
    if sessions.touch(opened.row, now):
        db.commit()
    g.staff_session = opened
    return opened.row.user
