"""Staff and team keys (DESIGN.md section 4): custody through sessions, password change, membership."""

from __future__ import annotations

import base64

import pytest

from app.db import get_session
from app.models.staff import Role, StaffSession, StaffUser, Team, TeamKind
from app.runtime import get_settings
from app.staff import keyring, service, sessions, teams
from app.staff.errors import InvalidCredentials, NotATeamMember
from crypto import aead, open_sealed, passwords
from crypto.errors import DecryptionError

from .conftest import PASSWORD


def _cookie(client) -> str:
    return client.get_cookie(sessions.COOKIE_NAME, path="/staff").value


def _private_from_session(app, cookie: str) -> bytes:
    with app.app_context():
        opened = sessions.load(get_session(), get_settings(), cookie, __import__("app.db").db.utcnow())
        return opened.private_key()


def _team_key_via_session(app, cookie: str, team_id: int, user_id: int) -> bytes | None:
    private = _private_from_session(app, cookie)
    with app.app_context():
        db = get_session()
        return keyring.open_team_key(db.get(Team, team_id), db.get(StaffUser, user_id), private)


def test_a_logged_in_member_opens_the_team_key_and_a_logged_out_one_cannot(staff, client, app):
    alice = staff.create("alice", Role.INTAKE)
    team_id = staff.team("intake", TeamKind.INTAKE, alice)
    staff.login(alice)
    cookie = _cookie(client)
    key = _team_key_via_session(app, cookie, team_id, alice.id)
    with app.app_context():
        team = get_session().get(Team, team_id)
        assert (
            open_sealed(
                staff.recovery.private, team.recovery_sealed_key_ct, keyring.team_key_context(team.id, team.key_version)
            )
            == key
        )
    staff.logout()
    from app.staff.errors import SessionInvalid

    with pytest.raises(SessionInvalid):
        _private_from_session(app, cookie)


def test_the_session_row_alone_does_not_open_the_private_key(staff, client, app):
    alice = staff.create("alice", Role.INTAKE)
    staff.login(alice)
    token_and_key = base64.urlsafe_b64decode(_cookie(client))
    with app.app_context():
        db = get_session()
        row = db.query(StaffSession).one()
        user = db.get(StaffUser, alice.id)
        real = passwords.unwrap(PASSWORD, user.wrapped_private_key_ct)
        # The key is nowhere in the row in clear...
        for column in ("token_hash", "private_key_ct"):
            assert real not in getattr(row, column)
        # ...and nothing in the row is the key that opens it.
        for guess in (row.token_hash, bytes(32), token_and_key[:32]):
            with pytest.raises(DecryptionError):
                keyring.decrypt_session_key(guess, row.token_hash, row.private_key_ct)
        # Only the cookie's half together with the row opens it.
        assert keyring.decrypt_session_key(token_and_key[32:], row.token_hash, row.private_key_ct) == real


def test_a_cookie_alone_without_its_row_opens_nothing(staff, client, app):
    alice = staff.create("alice", Role.INTAKE)
    staff.login(alice)
    with app.app_context():
        db = get_session()
        db.query(StaffSession).delete()
        db.commit()
    assert client.get("/staff/").status_code == 302


def test_password_change_rewraps_the_key_and_ends_other_sessions(staff, client, app):
    alice = staff.create("alice", Role.INTAKE)
    team_id = staff.team("intake", TeamKind.INTAKE, alice)
    staff.login(alice)
    page = client.get("/staff/password")
    from .conftest import csrf_token

    new = "a whole new passphrase 2026"
    r = client.post(
        "/staff/password",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "current": PASSWORD, "new": new, "confirm": new},
    )
    assert r.status_code == 302
    # Still signed in here, still able to open the team key with the same private key.
    assert client.get("/staff/").status_code == 200
    assert _team_key_via_session(app, _cookie(client), team_id, alice.id) is not None
    with app.app_context():
        user = get_session().get(StaffUser, alice.id)
        with pytest.raises(DecryptionError):
            passwords.unwrap(PASSWORD, user.wrapped_private_key_ct)
        assert passwords.unwrap(new, user.wrapped_private_key_ct)
    staff.logout()
    assert staff.password_step(alice).status_code == 401
    alice.password = new
    staff.login(alice)


def test_password_change_needs_the_current_password(app, staff):
    alice = staff.create("alice", Role.INTAKE)
    with app.app_context():
        db = get_session()
        with pytest.raises(InvalidCredentials):
            service.change_password(
                db, get_settings(), db.get(StaffUser, alice.id), "wrong password!", "another fine passphrase", None
            )


def test_admin_proposes_and_a_member_confirms_a_new_member(staff, client, app):
    admin = staff.create("root", Role.ADMIN)
    alice = staff.create("alice", Role.INTAKE)
    bob = staff.create("bob", Role.INTAKE)
    team_id = staff.team("intake", TeamKind.INTAKE, alice)
    staff.login(admin)
    assert staff.post(f"/staff/admin/teams/{team_id}/propose", {"user_id": str(bob.id)}).status_code == 302
    # The admin holds no team key, so cannot confirm.
    assert staff.post(f"/staff/admin/teams/{team_id}/members/{bob.id}/confirm").status_code == 403
    staff.logout()
    staff.login(bob)
    assert _team_key_via_session(app, _cookie(client), team_id, bob.id) is None
    staff.logout()
    staff.login(alice)
    home = client.get("/staff/").get_data(as_text=True)
    assert "bob" in home
    assert staff.post(f"/staff/admin/teams/{team_id}/members/{bob.id}/confirm").status_code == 302
    staff.logout()
    staff.login(bob)
    assert _team_key_via_session(app, _cookie(client), team_id, bob.id) is not None


def test_nobody_confirms_their_own_membership(app, staff):
    alice = staff.create("alice", Role.INTAKE)
    team_id = staff.team("intake", TeamKind.INTAKE, alice)
    with app.app_context():
        db = get_session()
        team, user = db.get(Team, team_id), db.get(StaffUser, alice.id)
        with pytest.raises(NotATeamMember):
            teams.confirm_member(team, b"k" * 32, user, user)


def test_removing_a_member_rekeys_the_team(staff, app):
    alice = staff.create("alice", Role.INTAKE)
    bob = staff.create("bob", Role.INTAKE)
    team_id = staff.team("intake", TeamKind.INTAKE, alice, bob)
    with app.app_context():
        db = get_session()
        team = db.get(Team, team_id)
        a = db.get(StaffUser, alice.id)
        b = db.get(StaffUser, bob.id)
        a_priv = passwords.unwrap(PASSWORD, a.wrapped_private_key_ct)
        b_priv = passwords.unwrap(PASSWORD, b.wrapped_private_key_ct)
        old_key = keyring.open_team_key(team, b, b_priv)
        old_public = team.public_key
        teams.remove_member(db, team, b, keyring.open_team_key(team, a, a_priv))
        db.commit()
        assert team.key_version == 2 and team.public_key != old_public
        assert keyring.open_team_key(team, b, b_priv) is None
        new_key = keyring.open_team_key(team, a, a_priv)
        assert new_key is not None and new_key != old_key
        assert (
            open_sealed(staff.recovery.private, team.recovery_sealed_key_ct, keyring.team_key_context(team.id, 2))
            == new_key
        )


def test_removal_by_an_admin_is_finished_by_the_next_member_login(staff, client, app):
    admin = staff.create("root", Role.ADMIN)
    alice = staff.create("alice", Role.INTAKE)
    bob = staff.create("bob", Role.INTAKE)
    team_id = staff.team("intake", TeamKind.INTAKE, alice, bob)
    staff.login(admin)
    assert staff.post(f"/staff/admin/teams/{team_id}/members/{bob.id}/remove").status_code == 302
    staff.logout()
    with app.app_context():
        team = get_session().get(Team, team_id)
        assert team.rekey_pending and team.key_version == 1
        assert [m.user_id for m in team.memberships] == [alice.id]
    staff.login(alice)
    with app.app_context():
        team = get_session().get(Team, team_id)
        assert not team.rekey_pending and team.key_version == 2
    assert _team_key_via_session(app, _cookie(client), team_id, alice.id) is not None


def test_session_keys_are_fresh_per_login(staff, client):
    alice = staff.create("alice", Role.INTAKE)
    staff.login(alice)
    first = base64.urlsafe_b64decode(_cookie(client))
    staff.logout()
    staff.login(alice)
    second = base64.urlsafe_b64decode(_cookie(client))
    assert first[32:] != second[32:] and first[:32] != second[:32]
    assert len(aead.generate_key()) == 32


def test_rekeying_reseals_every_case_key_granted_to_the_team(staff, app):
    import datetime as d

    from app.models.cases import Case, CaseKeyGrant, Department
    from crypto import seal

    alice = staff.create("alice", Role.INTAKE)
    bob = staff.create("bob", Role.INTAKE)
    team_id = staff.team("intake", TeamKind.INTAKE, alice, bob)
    case_key = b"K" * 32
    with app.app_context():
        db = get_session()
        team = db.get(Team, team_id)
        dept = Department(code="FIN", name_ko="재정과", name_en="Finance", active=True)
        case = Case(
            public_ref="HC-2026-000001",
            kind="report",
            source="web",
            status="received",
            department=dept,
            received_on=d.date(2026, 11, 28),
            ack_due_on=d.date(2026, 12, 5),
            report_type="corruption",
            channel="web",
        )
        db.add(case)
        db.flush()
        case.grants = [
            CaseKeyGrant(
                grantee_kind="team",
                team_id=team.id,
                sealed_key_ct=seal(team.public_key, case_key, keyring.case_key_context(case.id)),
            )
        ]
        db.commit()
        a, b = db.get(StaffUser, alice.id), db.get(StaffUser, bob.id)
        a_priv = passwords.unwrap(PASSWORD, a.wrapped_private_key_ct)
        b_priv = passwords.unwrap(PASSWORD, b.wrapped_private_key_ct)
        old_team_key = keyring.open_team_key(team, b, b_priv)
        teams.remove_member(db, team, b, keyring.open_team_key(team, a, a_priv))
        db.commit()
        grant = db.scalars(__import__("sqlalchemy").select(CaseKeyGrant)).one()
        assert grant.key_version == 2
        context = keyring.case_key_context(case.id)
        # Bob's old copy of the team key no longer opens the stored grant; Alice's new one does.
        with pytest.raises(DecryptionError):
            open_sealed(old_team_key, grant.sealed_key_ct, context)
        assert open_sealed(keyring.open_team_key(team, a, a_priv), grant.sealed_key_ct, context) == case_key


def test_creating_a_team_lists_each_member_once(staff, app):
    alice = staff.create("alice", Role.INTAKE)
    bob = staff.create("bob", Role.INTAKE)
    with app.app_context():
        db = get_session()
        team, _key = teams.create_team(
            db, "solo", TeamKind.INTAKE, [db.get(StaffUser, alice.id), db.get(StaffUser, bob.id)]
        )
        assert sorted(m.user_id for m in team.memberships) == [alice.id, bob.id]
