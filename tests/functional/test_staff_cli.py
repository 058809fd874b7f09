"""The staff command line: users, recovery key, teams, demo seed."""

from __future__ import annotations

import json
import stat

import pyotp

from app.db import get_session
from app.models.staff import RecoveryKey, Role, StaffSession, StaffUser, Team


def _run(app, *args, input=None):
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    return result


def test_users_create_list_disable(app):
    r = _run(
        app,
        "users",
        "create",
        "kim",
        "--name",
        "Kim",
        "--role",
        "intake",
        "--role",
        "supervisor",
        "--password",
        "a long enough password",
    )
    assert r.exit_code == 0, r.output
    listing = _run(app, "users", "list").output
    assert "kim" in listing and "intake,supervisor" in listing and "active" in listing
    assert _run(app, "users", "disable", "kim").exit_code == 0
    assert "disabled" in _run(app, "users", "list").output
    again = _run(app, "users", "create", "KIM", "--role", "intake", "--password", "a long enough password")
    assert again.exit_code != 0 and "DuplicateUser" in again.output


def test_users_create_refuses_a_short_password(app):
    r = _run(app, "users", "create", "lee", "--role", "intake", "--password", "short")
    assert r.exit_code != 0 and "WeakPassword" in r.output


def test_recovery_init_prints_the_private_key_once_and_stores_only_the_public(app):
    r = _run(app, "recovery", "init")
    assert r.exit_code == 0
    private_hex = r.output.strip().splitlines()[-1].strip()
    assert len(bytes.fromhex(private_hex)) == 32
    with app.app_context():
        keys = get_session().query(RecoveryKey).all()
        assert len(keys) == 1 and bytes.fromhex(private_hex) != keys[0].public_key
    assert _run(app, "recovery", "init").exit_code != 0


def test_teams_create_and_add_member_with_the_recovery_key(app, tmp_path):
    private_hex = _run(app, "recovery", "init").output.strip().splitlines()[-1].strip()
    _run(app, "users", "create", "kim", "--role", "intake", "--password", "a long enough password")
    _run(app, "users", "create", "lee", "--role", "intake", "--password", "a long enough password")
    assert _run(app, "teams", "create", "intake", "--kind", "intake", "--member", "kim").exit_code == 0
    key_file = tmp_path / "recovery.hex"
    key_file.write_text(private_hex)
    r = _run(app, "teams", "add-member", "intake", "lee", "--recovery-key-file", str(key_file))
    assert r.exit_code == 0, r.output
    assert "kim, lee" in _run(app, "teams", "list").output
    wrong = tmp_path / "wrong.hex"
    wrong.write_text("00" * 32)
    assert _run(app, "teams", "add-member", "intake", "kim", "--recovery-key-file", str(wrong)).exit_code != 0


def test_teams_need_a_recovery_key_first(app):
    r = _run(app, "teams", "create", "intake", "--kind", "intake")
    assert r.exit_code != 0 and "recovery init" in r.output


def test_demo_seed_creates_one_user_per_role_who_can_sign_in(app, client, test_settings):
    r = _run(app, "demo", "seed")
    assert r.exit_code == 0, r.output
    assert "TOTP secret" in r.output
    path = test_settings.instance_path / "demo-credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    creds = json.loads(path.read_text())["users"]
    assert {c["username"] for c in creds} == {"intake", "investigator", "legal", "protection", "supervisor", "admin"}
    with app.app_context():
        assert get_session().query(Team).count() == 4
        assert get_session().query(StaffUser).count() == 6
    assert "skipped" in _run(app, "demo", "seed").output
    # A demo user signs in with the printed password and a code from the secret.
    from .conftest import csrf_token

    intake = next(c for c in creds if c["username"] == "intake")
    page = client.get("/staff/login").get_data(as_text=True)
    client.post(
        "/staff/login", data={"csrf_token": csrf_token(page), "username": "intake", "password": intake["password"]}
    )
    page = client.get("/staff/login/code").get_data(as_text=True)
    r = client.post(
        "/staff/login/code", data={"csrf_token": csrf_token(page), "code": pyotp.TOTP(intake["totp_secret"]).now()}
    )
    assert r.status_code == 302 and r.location.endswith("/staff/")
    with app.app_context():
        assert get_session().query(StaffSession).count() == 1
    code = _run(app, "demo", "totp", "intake").output.strip()
    assert code.isdigit() and len(code) == 6


def test_purge_sessions_deletes_only_expired_and_idle_ones(app, staff, client, test_settings):
    import datetime as dt

    alice = staff.create("alice", Role.INTAKE)
    bob = staff.create("bob", Role.INTAKE)
    staff.login(alice)
    client.delete_cookie("haechi_staff", path="/staff")  # bob signs in from another browser
    staff.login(bob)
    with app.app_context():
        db = get_session()
        rows = db.query(StaffSession).order_by(StaffSession.id).all()
        assert len(rows) == 2
        rows[0].last_seen_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=test_settings.staff_idle_minutes + 1)
        db.commit()
    r = _run(app, "users", "purge-sessions")
    assert r.exit_code == 0 and "1 expired" in r.output
    with app.app_context():
        assert get_session().query(StaffSession).count() == 1


def test_departments_add_and_list(app):
    assert _run(app, "departments", "add", "permits", "--ko", "인허가과", "--en", "Permits").exit_code == 0
    assert "PERMITS" in _run(app, "departments", "list").output
    again = _run(app, "departments", "add", "PERMITS", "--ko", "x", "--en", "y")
    assert again.exit_code != 0 and "exists" in again.output
    assert _run(app, "departments", "add", "a b", "--ko", "x", "--en", "y").exit_code != 0
