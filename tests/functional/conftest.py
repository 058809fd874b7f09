"""Actors for functional tests: staff users made through the service, logging in through the web."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pyotp
import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

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
        self.english()
        with app.app_context():
            db = get_session()
            db.add(RecoveryKey(public_key=self.recovery.public, active=True))
            db.commit()

    def english(self) -> None:
        """This browser reads English (the default is Korean); tests assert on English wording."""
        page = self.client.get("/staff/login").get_data(as_text=True)
        self.client.post("/language", data={"csrf_token": csrf_token(page), "lang": "en", "next": "/"})

    def create(self, username: str, *roles: Role, enrolled: bool = True, password: str = PASSWORD) -> StaffMember:
        secret = pyotp.random_base32(32)
        with self.app.app_context():
            db = get_session()
            user = service.create_user(
                db,
                get_settings(),
                username=username,
                display_name=username.title(),
                password=password,
                roles=set(roles),
                totp_secret=secret if enrolled else None,
            )
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
        return self.client.post(
            "/staff/login",
            data={
                "csrf_token": csrf_token(page.get_data(as_text=True)),
                "username": member.username,
                "password": password or member.password,
            },
        )

    def code_step(self, member: StaffMember, code: str | None = None):
        page = self.client.get("/staff/login/code")
        return self.client.post(
            "/staff/login/code",
            data={
                "csrf_token": csrf_token(page.get_data(as_text=True)),
                "code": code or self.code(member),
            },
        )

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


REPORT_FIELDS = {
    "category": "bribery",
    "department_id": "",
    "what": "The head of the permits desk asked for cash before approving a licence.",
    "when_where": "March, at the permits desk on the 3rd floor",
    "who": "The head of the permits desk",
    "amount": "1,500,000",
    "how_known": "witnessed",
    "public_officer": "no",
}


class ReporterAuth:
    """An anonymous reporter: submits through /report, comes back through /receipt."""

    def __init__(self, client) -> None:
        self.client = client

    def english(self) -> ReporterAuth:
        """Switch this browser to English (the default is Korean)."""
        page = self.client.get("/receipt").get_data(as_text=True)
        self.client.post("/language", data={"csrf_token": csrf_token(page), "lang": "en", "next": "/"})
        return self

    def post_multipart(self, url: str, fields: dict[str, str], files=None):
        """POST a multipart body built in memory (the test client would spool large ones to a temp file)."""
        values = MultiDict(list(fields.items()))
        for stream, name in files or []:
            values.add("files", FileStorage(stream=stream, filename=name, content_type="application/octet-stream"))
        boundary, body = encode_multipart(values)
        return self.client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")

    def submit(self, files=None, **fields):
        page = self.client.get("/report").get_data(as_text=True)
        data = {**REPORT_FIELDS, **fields, "csrf_token": csrf_token(page), "ticket": ticket(page)}
        return self.post_multipart("/report", data, files)

    def submit_ok(self, files=None, **fields) -> str:
        r = self.submit(files=files, **fields)
        assert r.status_code == 200, r.get_data(as_text=True)[:3000]
        m = re.search(r'class="receipt"[^>]*><strong>([0-9-]+)</strong>', r.get_data(as_text=True))
        assert m, "no receipt on the page"
        return m.group(1)

    def login(self, receipt: str):
        page = self.client.get("/receipt").get_data(as_text=True)
        return self.client.post(
            "/receipt", data={"csrf_token": csrf_token(page), "ticket": ticket(page), "receipt": receipt}
        )

    def send(self, body: str, files=None, answers: bool = False):
        page = self.client.get("/receipt/inbox").get_data(as_text=True)
        data = {"csrf_token": csrf_token(page), "body": body}
        if answers:
            data["answers"] = "1"
        return self.post_multipart("/receipt/inbox", data, files)


def ticket(html: str) -> str:
    m = re.search(r'name="ticket"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="ticket"', html)
    assert m, "no form ticket"
    return m.group(1) or m.group(2)


@pytest.fixture
def office(staff):
    """An office ready to receive reports: intake and protection teams, departments."""
    intake = staff.create("intake1", Role.INTAKE)
    protector = staff.create("protector", Role.PROTECTION)
    staff.team("intake", TeamKind.INTAKE, intake)
    staff.team("protection", TeamKind.PROTECTION, protector)
    from app.models.cases import Department

    with staff.app.app_context():
        db = get_session()
        db.add_all(
            [
                Department(code="PERMITS", name_ko="인허가과", name_en="Permits", active=True),
                Department(code="FIN", name_ko="재정과", name_en="Finance", active=True),
            ]
        )
        db.commit()
    return {"intake": intake, "protector": protector}


@pytest.fixture
def reporter(app) -> ReporterAuth:
    """A reporter with a browser of their own (separate cookies from staff), reading English."""
    return ReporterAuth(app.test_client()).english()
