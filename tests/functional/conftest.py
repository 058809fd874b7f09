"""Actors for functional tests: staff users made through the service, logging in through the web."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pyotp
import pytest

from app.db import get_session
from app.models.staff import RecoveryKey, Role, TeamKind
from app.runtime import get_settings
from app.staff import service, teams
from crypto import generate_keypair

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    m = CSRF_RE.search(html)
    assert m, "no CSRF token in page"
    return m.group(1) or m.group(2)


@dataclass
class StaffMember:
    id: int
    username: str
    password: str
    totp_secret: str


class StaffAuth:
    """Creates staff users and signs them in through the real login pages."""

    def __init__(self, app, client) -> None:
        self.app = app
        self.client = client
        self.recovery = generate_keypair()
        self._last_step: dict[str, int] = {}
        with app.app_context():
            db = get_session()
            db.add(RecoveryKey(public_key=self.recovery.public, active=True))
            db.commit()

    def create(self, username: str, *roles: Role, enrolled: bool = True, password: str = PASSWORD) -> StaffMember:
        secret = pyotp.random_base32(32)
        with self.app.app_context():
            db = get_session()
            user = service.create_user(db, get_settings(), username=username, display_name=username.title(),
                                       password=password, roles=set(roles),
                                       totp_secret=secret if enrolled else None)
            db.commit()
            return StaffMember(user.id, username, password, secret)

    def team(self, name: str, kind: TeamKind, *members: StaffMember) -> int:
        with self.app.app_context():
            db = get_session()
            users = [service.get_user(db, m.id) for m in members]
            team, _key = teams.create_team(db, name, kind, users)
            db.commit()
            return team.id

    def code(self, member: StaffMember) -> str:
        """A valid code never used before by this member (the server refuses replays)."""
        step = int(time.time()) // 30
        step = max(step, self._last_step.get(member.username, step - 1) + 1)
        self._last_step[member.username] = step
        return pyotp.TOTP(member.totp_secret).at(step * 30)

    def password_step(self, member: StaffMember, password: str | None = None):
        page = self.client.get("/staff/login")
        return self.client.post("/staff/login", data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "username": member.username, "password": password or member.password,
        })

    def code_step(self, member: StaffMember, code: str | None = None):
        page = self.client.get("/staff/login/code")
        return self.client.post("/staff/login/code", data={
            "csrf_token": csrf_token(page.get_data(as_text=True)), "code": code or self.code(member),
        })

    def login(self, member: StaffMember) -> None:
        r = self.password_step(member)
        assert r.status_code == 302 and r.location.endswith("/staff/login/code"), r.status_code
        r = self.code_step(member)
        assert r.status_code == 302 and r.location.endswith("/staff/"), r.get_data(as_text=True)[:500]

    def post(self, url: str, data: dict[str, str] | None = None, page: str = "/staff/"):
        token = csrf_token(self.client.get(page).get_data(as_text=True))
        return self.client.post(url, data={"csrf_token": token, **(data or {})})

    def logout(self):
        return self.post("/staff/logout")


@pytest.fixture
def staff(app, client) -> StaffAuth:
    return StaffAuth(app, client)
