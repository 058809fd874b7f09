"""Guessing the current password on the password-change form locks the account, as at the login page.

Review finding: a stolen session cookie allowed unlimited guesses there, none counted.
"""

from __future__ import annotations

from sqlalchemy import select

from app.db import get_session
from app.models.audit import AuditEvent
from app.models.staff import Role, StaffUser
from app.runtime import get_settings

from .conftest import csrf_token

NEW = "another long passphrase 1"
LOCKED = "Too many failed attempts. This account is locked for a while; try again later."


def change(staff, current: str):
    page = staff.client.get("/staff/password").get_data(as_text=True)
    return staff.client.post(
        "/staff/password", data={"csrf_token": csrf_token(page), "current": current, "new": NEW, "confirm": NEW}
    )


def test_wrong_current_passwords_are_counted_and_lock_the_account(app, staff):
    victim = staff.create("victim", Role.INVESTIGATOR)
    staff.login(victim)
    with app.app_context():
        after = get_settings().login_lockout_after
    for n in range(after):
        r = change(staff, f"wrong guess {n:04d}")
        assert r.status_code == 200 and "The current password is wrong" in r.get_data(as_text=True)
    with app.app_context():
        db = get_session()
        user = db.get(StaffUser, victim.id)
        assert user.failed_logins == after and user.locked_until is not None
        wrapped = user.wrapped_private_key_ct
        failed = db.scalars(select(AuditEvent).where(AuditEvent.action == "staff.password_change_failed")).all()
        assert [(e.actor_user_id, e.target) for e in failed] == [(victim.id, f"user:{victim.id}")] * after

    # Even the right password is refused now, and nothing changes.
    r = change(staff, victim.password)
    assert r.status_code == 429 and LOCKED in r.get_data(as_text=True)
    with app.app_context():
        assert get_session().get(StaffUser, victim.id).wrapped_private_key_ct == wrapped
    # The login page is locked too.
    staff.logout()
    r = staff.password_step(victim)
    assert r.status_code == 429
