"""Staff sign-in: password then TOTP, lockout, sessions, CSRF, roles."""

from __future__ import annotations

import datetime as dt

import pyotp

from app.db import get_session
from app.models.staff import Role, StaffSession, StaffUser
from app.staff.sessions import COOKIE_NAME

from .conftest import csrf_token


def _user(app, member) -> StaffUser:
    with app.app_context():
        return get_session().get(StaffUser, member.id)


def test_password_and_code_sign_a_user_in(staff, client):
    alice = staff.create("alice", Role.INVESTIGATOR)
    staff.login(alice)
    page = client.get("/staff/")
    assert page.status_code == 200
    assert "Alice" in page.get_data(as_text=True)


def test_the_password_alone_does_not_sign_in(staff, client):
    alice = staff.create("alice", Role.INVESTIGATOR)
    r = staff.password_step(alice)
    assert r.location.endswith("/staff/login/code")
    home = client.get("/staff/")
    assert home.status_code == 302 and "/staff/login" in home.location


def test_a_wrong_password_gets_the_same_answer_as_an_unknown_user(staff, client):
    staff.create("alice", Role.INVESTIGATOR)
    wrong = staff.password_step(staff.create("bob", Role.INTAKE), password="not the password at all")
    page = client.get("/staff/login")
    unknown = client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "username": "nobody",
            "password": "whatever whatever",
        },
    )
    assert wrong.status_code == unknown.status_code == 401
    assert ("Wrong username or password" in wrong.get_data(as_text=True)) or (
        "사용자 이름 또는 비밀번호" in wrong.get_data(as_text=True)
    )
    assert wrong.get_data(as_text=True).count("alert") == unknown.get_data(as_text=True).count("alert")


def test_a_wrong_code_is_refused_and_counted(staff, client, app):
    alice = staff.create("alice", Role.INVESTIGATOR)
    staff.password_step(alice)
    r = staff.code_step(alice, code="000000" if staff.code(alice) != "000000" else "111111")
    assert r.status_code == 401
    assert _user(app, alice).failed_logins == 1
    assert client.get("/staff/").status_code == 302


def test_a_code_cannot_be_used_twice(staff, client):
    alice = staff.create("alice", Role.INVESTIGATOR)
    code = staff.code(alice)
    staff.password_step(alice)
    assert staff.code_step(alice, code=code).status_code == 302
    client.delete_cookie(COOKIE_NAME, path="/staff")
    staff.password_step(alice)
    assert staff.code_step(alice, code=code).status_code == 401


def test_repeated_failures_lock_the_account_even_for_the_right_password(staff, app, test_settings):
    alice = staff.create("alice", Role.INVESTIGATOR)
    for _ in range(test_settings.login_lockout_after):
        assert staff.password_step(alice, password="wrong password here").status_code == 401
    locked = staff.password_step(alice)
    assert locked.status_code == 429
    user = _user(app, alice)
    assert user.locked_until is not None
    assert user.locked_until > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=test_settings.login_lockout_minutes - 1)


def test_backoff_doubles_with_each_further_failure(app, test_settings):
    from app.staff.service import record_failure

    user = StaffUser(failed_logins=test_settings.login_lockout_after - 1)
    now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    record_failure(user, test_settings, now)
    first = user.locked_until - now
    record_failure(user, test_settings, now)
    assert user.locked_until - now == 2 * first


def test_first_login_enrols_totp_by_qr_code(staff, client, app):
    bob = staff.create("bob", Role.INTAKE, enrolled=False)
    r = staff.password_step(bob)
    assert r.location.endswith("/staff/login/enrol")
    page = client.get("/staff/login/enrol").get_data(as_text=True)
    assert "data:image/svg+xml;base64," in page
    secret = page.split('class="secret">')[1].split("<")[0].replace(" ", "")
    r = client.post("/staff/login/enrol", data={"csrf_token": csrf_token(page), "code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302 and r.location.endswith("/staff/")
    assert client.get("/staff/").status_code == 200
    assert _user(app, bob).totp_secret_ct is not None
    assert secret.encode() not in _user(app, bob).totp_secret_ct


def test_login_without_csrf_token_is_rejected(staff, client):
    alice = staff.create("alice", Role.INVESTIGATOR)
    r = client.post("/staff/login", data={"username": alice.username, "password": alice.password})
    assert r.status_code == 400
    assert COOKIE_NAME not in (r.headers.get("Set-Cookie") or "")


def test_logout_deletes_the_session_row_and_the_cookie_no_longer_works(staff, client, app):
    alice = staff.create("alice", Role.INVESTIGATOR)
    staff.login(alice)
    cookie = client.get_cookie(COOKIE_NAME, path="/staff").value
    r = staff.logout()
    assert r.status_code == 302
    with app.app_context():
        assert get_session().query(StaffSession).count() == 0
    client.set_cookie(COOKIE_NAME, cookie, path="/staff")
    assert client.get("/staff/").status_code == 302


def test_session_id_changes_at_login_so_a_planted_cookie_is_useless(staff, client):
    alice = staff.create("alice", Role.INVESTIGATOR)
    staff.password_step(alice)
    pending = client.get_cookie(COOKIE_NAME, path="/staff").value
    staff.code_step(alice)
    active = client.get_cookie(COOKIE_NAME, path="/staff").value
    assert pending != active
    client.set_cookie(COOKIE_NAME, pending, path="/staff")
    assert client.get("/staff/").status_code == 302


def test_an_idle_session_expires(staff, client, app, test_settings):
    alice = staff.create("alice", Role.INVESTIGATOR)
    staff.login(alice)
    with app.app_context():
        db = get_session()
        row = db.query(StaffSession).one()
        row.last_seen_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=test_settings.staff_idle_minutes + 1)
        db.commit()
    assert client.get("/staff/").status_code == 302
    with app.app_context():
        assert get_session().query(StaffSession).count() == 0


def test_a_disabled_user_is_signed_out_at_once(staff, client, app):
    alice = staff.create("alice", Role.INVESTIGATOR)
    staff.login(alice)
    with app.app_context():
        from app.staff.service import set_active

        db = get_session()
        set_active(db, db.get(StaffUser, alice.id), False)
        db.commit()
    assert client.get("/staff/").status_code == 302
    assert staff.password_step(alice).status_code == 401


def test_admin_pages_are_for_admins_only(staff, client):
    admin = staff.create("root", Role.ADMIN)
    alice = staff.create("alice", Role.INVESTIGATOR, Role.SUPERVISOR)
    staff.login(alice)
    assert client.get("/staff/admin/users").status_code == 403
    assert client.get("/staff/admin/users/new").status_code == 403
    assert client.get("/staff/admin/teams").status_code == 200  # supervisors oversee teams
    staff.logout()
    staff.login(admin)
    assert client.get("/staff/admin/users").status_code == 200


def test_signed_out_visitors_are_sent_to_the_login_page(client):
    for url in ("/staff/", "/staff/password", "/staff/admin/users", "/staff/admin/teams"):
        r = client.get(url)
        assert r.status_code == 302 and "/staff/login" in r.location, url
