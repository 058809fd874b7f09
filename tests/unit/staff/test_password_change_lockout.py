"""Password change counts wrong current passwords toward the login lockout, and refuses while locked.

Review finding: the form checked the current password without counting
failures, so a stolen session cookie allowed unlimited guessing of it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from app.runtime import get_settings
from app.staff import service
from app.staff.errors import AccountLocked, InvalidCredentials

NOW = dt.datetime(2026, 5, 4, 3, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery staple"
NEW = "another long passphrase 1"


@pytest.fixture
def victim(db_session):
    user = service.create_user(
        db_session, get_settings(), username="victim", display_name="Victim", password=PASSWORD, roles=set()
    )
    db_session.flush()
    return user


def change(db, user, old: str, now: dt.datetime = NOW) -> None:
    service.change_password(db, get_settings(), user, old, NEW, keep_session_id=None, now=now)


def test_wrong_current_passwords_lock_the_account_like_wrong_logins(db_session, victim):
    settings = get_settings()
    for n in range(1, settings.login_lockout_after):
        with pytest.raises(InvalidCredentials):
            change(db_session, victim, f"wrong guess {n}")
        assert (victim.failed_logins, victim.locked_until) == (n, None)
    with pytest.raises(InvalidCredentials):
        change(db_session, victim, "the last wrong guess")
    assert victim.failed_logins == settings.login_lockout_after
    assert victim.locked_until == NOW + dt.timedelta(minutes=settings.login_lockout_minutes)


def test_a_locked_account_is_refused_even_the_right_password_and_keeps_its_key(db_session, victim):
    settings = get_settings()
    for n in range(settings.login_lockout_after):
        with pytest.raises(InvalidCredentials):
            change(db_session, victim, f"wrong guess {n}")
    wrapped, count = victim.wrapped_private_key_ct, victim.failed_logins
    with pytest.raises(AccountLocked):
        change(db_session, victim, PASSWORD, now=NOW + dt.timedelta(minutes=1))
    assert victim.wrapped_private_key_ct == wrapped and victim.failed_logins == count
    # The same lock holds at the login page.
    with pytest.raises(AccountLocked):
        service.authenticate(db_session, settings, "victim", PASSWORD, NOW + dt.timedelta(minutes=1))


def test_once_the_lock_ends_the_right_password_changes_it(db_session, victim):
    settings = get_settings()
    for n in range(settings.login_lockout_after):
        with pytest.raises(InvalidCredentials):
            change(db_session, victim, f"wrong guess {n}")
    later = victim.locked_until + dt.timedelta(seconds=1)
    change(db_session, victim, PASSWORD, now=later)
    assert victim.password_changed_at == later
    assert service.authenticate(db_session, settings, "victim", NEW, later).user is victim


def test_login_and_password_change_failures_add_up(db_session, victim):
    settings = get_settings()
    for n in range(settings.login_lockout_after - 1):
        with pytest.raises(InvalidCredentials):
            service.authenticate(db_session, settings, "victim", f"wrong login {n}", NOW)
    with pytest.raises(InvalidCredentials):
        change(db_session, victim, "one more wrong guess")
    assert victim.locked_until is not None
