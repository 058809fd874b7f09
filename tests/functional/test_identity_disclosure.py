"""Identity disclosure through the web (EU 2019/1937 Art. 16): request, decide, release, view, every step audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.cases import keys as case_keys
from app.db import get_session
from app.models.audit import AuditEvent
from app.models.cases import AccessRequestStatus, Case, CaseEntry, IdentityAccessRequest
from app.models.identity_disclosure import IdentityApproval, IdentityRelease
from app.models.staff import Role, StaffUser, Team, TeamKind
from app.staff import keyring
from crypto import open_sealed, passwords

from .conftest import PASSWORD, StaffAuth, StaffMember

NAME = "Hong Gildong"
EMPLOYEE_NO = "E-12345"
WHY = "Need to interview the reporter-witness about the cash handover WHY-7731"
APPROVED_BECAUSE = "Interview is necessary and proportionate APPROVE-4410"
REFUSED_BECAUSE = "The documents suffice without the reporter REFUSE-5520"
JEOPARDY = "Telling now would alert the suspect before the search JEOPARDY-9913"
NOTICE_EN = "Notice of identity disclosure"
NOTICE_KO = "신원 공개 안내"


class Desk:
    """The office with an investigation team holding the case, and a reporter who gave their identity."""

    def __init__(self, app, staff: StaffAuth, office: dict[str, StaffMember], reporter) -> None:
        self.app, self.staff, self.reporter = app, staff, reporter
        self.protector = office["protector"]
        self.intake = office["intake"]
        self.inv = staff.create("inv", Role.INVESTIGATOR)
        self.inv2 = staff.create("inv2", Role.INVESTIGATOR)
        self.sup = staff.create("sup", Role.SUPERVISOR)
        self.sup2 = staff.create("sup2", Role.SUPERVISOR)
        self.outsider = staff.create("outsider", Role.INVESTIGATOR)
        staff.team("investigation", TeamKind.INVESTIGATION, self.inv, self.inv2, self.sup, self.sup2)
        self.receipt = reporter.submit_ok(name=NAME, employee_number=EMPLOYEE_NO, contact="010-1234-5678")
        with app.app_context():
            db = get_session()
            case = db.scalars(select(Case)).one()
            intake_user = db.get(StaffUser, self.intake.id)
            case_key = case_keys.open_as_staff(
                db, case, intake_user, passwords.unwrap(PASSWORD, intake_user.wrapped_private_key_ct)
            )
            team = db.scalars(select(Team).where(Team.name == "investigation")).one()
            case_keys.grant_team(case, case_key, team)
            db.commit()
            self.case_id = case.id
        self.base = f"/staff/cases/{self.case_id}/identity"
        self._browsers: dict[int, object] = {}

    def as_(self, member: StaffMember) -> Desk:
        """Act as ``member`` in a browser of their own (each signs in once: TOTP codes are never reused)."""
        if member.id not in self._browsers:
            self.staff.client = self.app.test_client()
            self.staff.english()
            self.staff.login(member)
            self._browsers[member.id] = self.staff.client
        self.staff.client = self._browsers[member.id]
        return self

    def get(self, path: str = ""):
        return self.staff.client.get(self.base + path)

    def request(self, reason: str = WHY):
        return self.staff.post(self.base + "/request", {"reason": reason})

    def last_request_id(self) -> int:
        with self.app.app_context():
            return (
                get_session()
                .scalars(select(IdentityAccessRequest.id).order_by(IdentityAccessRequest.id.desc()))
                .first()
            )

    def decide(self, req_id: int, decision: str, reason: str, jeopardy: str = ""):
        p = f"r{req_id}-"
        return self.staff.post(
            f"{self.base}/{req_id}/decide",
            {p + "decision": decision, p + "reason": reason, p + "jeopardy": jeopardy},
        )

    def release(self, req_id: int):
        return self.staff.post(f"{self.base}/{req_id}/release")

    def status_of(self, req_id: int) -> str:
        with self.app.app_context():
            return get_session().get(IdentityAccessRequest, req_id).status

    def actions(self) -> list[str]:
        with self.app.app_context():
            stmt = select(AuditEvent.action).where(AuditEvent.case_id == self.case_id).order_by(AuditEvent.id)
            return [a for a in get_session().scalars(stmt) if a.startswith("identity.")]

    def inbox(self) -> str:
        self.reporter.login(self.receipt)
        return self.reporter.client.get("/receipt/inbox").get_data(as_text=True)

    def approved_request(self, jeopardy: str = "") -> int:
        """The investigator asks, the first supervisor approves."""
        self.as_(self.inv).request()
        req_id = self.last_request_id()
        r = self.as_(self.sup).decide(req_id, "approve", APPROVED_BECAUSE, jeopardy)
        assert r.status_code == 303
        return req_id


@pytest.fixture
def desk(app, staff, office, reporter) -> Desk:
    return Desk(app, staff, office, reporter)


def test_an_approved_request_tells_the_reporter_before_release_and_the_investigator_then_sees_the_identity(desk):
    desk.as_(desk.inv)
    assert desk.get().status_code == 200
    r = desk.request()
    assert r.status_code == 303
    req_id = desk.last_request_id()
    assert desk.status_of(req_id) == AccessRequestStatus.REQUESTED.value

    desk.as_(desk.sup)
    page = desk.get().get_data(as_text=True)
    assert WHY in page and f'name="r{req_id}-decision"' in page
    desk.decide(req_id, "approve", APPROVED_BECAUSE)
    assert desk.status_of(req_id) == AccessRequestStatus.APPROVED.value

    # Told before anyone can see who they are, in both languages, with the reasons.
    inbox = desk.inbox()
    assert NOTICE_EN in inbox and NOTICE_KO in inbox
    assert WHY in inbox and APPROVED_BECAUSE in inbox

    desk.as_(desk.inv)
    assert desk.get("/view").status_code == 404  # approved, not yet released

    desk.as_(desk.protector)
    page = desk.get().get_data(as_text=True)
    assert f"{desk.base}/{req_id}/release" in page
    assert desk.release(req_id).status_code == 303
    assert desk.release(req_id).status_code == 303  # a second release is refused with a message
    with desk.app.app_context():
        assert get_session().scalars(select(IdentityRelease)).one().user_id == desk.inv.id

    desk.as_(desk.inv)
    html = desk.get("/view").get_data(as_text=True)
    assert NAME in html and EMPLOYEE_NO in html
    assert desk.actions() == [
        "identity.requested",
        "identity.approved",
        "identity.reporter_informed",
        "identity.released",
        "identity.viewed",
    ]


def test_a_refused_request_leaves_the_identity_closed(desk):
    desk.as_(desk.inv).request()
    req_id = desk.last_request_id()
    desk.as_(desk.sup).decide(req_id, "refuse", REFUSED_BECAUSE)
    assert desk.status_of(req_id) == AccessRequestStatus.REFUSED.value

    desk.as_(desk.protector)
    assert f"{desk.base}/{req_id}/release" not in desk.get().get_data(as_text=True)
    desk.release(req_id)
    desk.as_(desk.inv)
    assert desk.get("/view").status_code == 404
    assert NOTICE_EN not in desk.inbox()
    with desk.app.app_context():
        db = get_session()
        assert db.scalars(select(IdentityRelease)).first() is None
        assert db.scalars(select(IdentityApproval)).first() is None
    assert desk.actions() == ["identity.requested", "identity.refused"]
    # After a refusal the investigator may ask again.
    desk.request("A new reason with new facts")
    assert desk.last_request_id() != req_id


def test_an_approval_with_a_jeopardy_reason_does_not_tell_the_reporter(desk):
    req_id = desk.approved_request(jeopardy=JEOPARDY)
    with desk.app.app_context():
        approval = get_session().get(IdentityApproval, req_id)
        assert approval.reporter_informed is False and approval.notice_entry_id is None
    inbox = desk.inbox()
    assert NOTICE_EN not in inbox and APPROVED_BECAUSE not in inbox
    desk.as_(desk.protector).release(req_id)
    desk.as_(desk.inv)
    assert NAME in desk.get("/view").get_data(as_text=True)
    assert desk.actions() == [
        "identity.requested",
        "identity.approved",
        "identity.reporter_not_informed",
        "identity.released",
        "identity.viewed",
    ]


def test_a_jeopardy_reason_with_a_refusal_is_rejected(desk):
    desk.as_(desk.inv).request()
    req_id = desk.last_request_id()
    desk.as_(desk.sup).decide(req_id, "refuse", REFUSED_BECAUSE, JEOPARDY)
    assert desk.status_of(req_id) == AccessRequestStatus.REQUESTED.value


def test_nobody_without_a_release_or_custody_sees_the_identity_even_by_url(desk):
    req_id = desk.approved_request()
    desk.as_(desk.protector).release(req_id)
    # On the case, but no release of their own: a colleague, the approving supervisor, intake.
    for member in (desk.inv2, desk.sup, desk.intake):
        desk.as_(member)
        assert desk.get().status_code == 200
        assert desk.get("/view").status_code == 404, member.username
    # Not on the case at all: not even the status page exists for them.
    desk.as_(desk.outsider)
    assert desk.get().status_code == 404
    assert desk.get("/view").status_code == 404
    assert desk.request().status_code == 404
    # A conflicted investigator excluded after the release loses the identity too.
    from app.models.cases import CaseExcludedMember

    with desk.app.app_context():
        db = get_session()
        db.add(CaseExcludedMember(case_id=desk.case_id, user_id=desk.inv.id))
        db.commit()
    desk.as_(desk.inv)
    assert desk.get("/view").status_code == 404
    assert desk.actions().count("identity.viewed") == 0


def test_the_protection_officer_sees_the_identity_and_that_view_is_audited(desk):
    desk.as_(desk.protector)
    assert NAME in desk.get("/view").get_data(as_text=True)
    assert desk.actions() == ["identity.viewed"]


def test_a_supervisor_cannot_decide_their_own_request(desk):
    desk.as_(desk.sup).request()
    req_id = desk.last_request_id()
    page = desk.get().get_data(as_text=True)
    assert f'name="r{req_id}-decision"' not in page
    r = desk.decide(req_id, "approve", APPROVED_BECAUSE)
    assert r.status_code == 303
    assert "You cannot decide your own request." in desk.staff.client.get(r.location).get_data(as_text=True)
    assert desk.status_of(req_id) == AccessRequestStatus.REQUESTED.value
    # Another supervisor can.
    desk.as_(desk.sup2).decide(req_id, "approve", APPROVED_BECAUSE)
    assert desk.status_of(req_id) == AccessRequestStatus.APPROVED.value


def test_an_investigator_cannot_decide_and_an_intake_officer_cannot_release(desk):
    desk.as_(desk.inv2).request()
    req_id = desk.last_request_id()
    desk.as_(desk.inv)
    assert desk.decide(req_id, "approve", APPROVED_BECAUSE).status_code == 403
    desk.as_(desk.sup).decide(req_id, "approve", APPROVED_BECAUSE)
    desk.as_(desk.intake)
    assert desk.release(req_id).status_code == 403
    assert desk.status_of(req_id) == AccessRequestStatus.APPROVED.value


def test_one_open_request_per_person(desk):
    desk.as_(desk.inv).request()
    r = desk.request("Asking twice")
    assert "You already have a request for this identity." in desk.staff.client.get(r.location).get_data(as_text=True)
    with desk.app.app_context():
        assert len(get_session().scalars(select(IdentityAccessRequest)).all()) == 1


def test_a_protection_officer_outside_the_custodian_team_cannot_release(desk, staff):
    other = staff.create("protector2", Role.PROTECTION)
    staff.team("protection-b", TeamKind.PROTECTION, other)
    req_id = desk.approved_request()
    desk.as_(other)
    assert desk.get().status_code == 404
    assert desk.release(req_id).status_code == 404
    assert desk.get("/view").status_code == 404


def test_the_protection_team_page_lists_every_request_and_step(desk):
    desk.as_(desk.inv2).request()
    refused = desk.last_request_id()
    desk.as_(desk.sup).decide(refused, "refuse", REFUSED_BECAUSE)
    approved = desk.approved_request()
    desk.as_(desk.protector).release(approved)
    desk.as_(desk.inv).get("/view")

    desk.as_(desk.protector)
    html = desk.get().get_data(as_text=True)
    for req_id in (refused, approved):
        assert f'id="request-{req_id}"' in html
    for action in (
        "identity.requested",
        "identity.refused",
        "identity.approved",
        "identity.reporter_informed",
        "identity.released",
        "identity.viewed",
    ):
        assert action in html, action
    assert "Inv2" in html and "Inv" in html and "Sup" in html
    assert "awaiting a decision" not in html
    # The custodian cannot open the case, so the reasons stay hidden from them.
    assert WHY not in html and REFUSED_BECAUSE not in html
    assert "Reasons are shown only to those who can open the case." in html


def test_no_plaintext_reason_or_identity_lands_in_the_database(desk, test_settings):
    req_id = desk.approved_request(jeopardy=JEOPARDY)
    desk.as_(desk.protector).release(req_id)
    desk.as_(desk.inv2).request()
    desk.as_(desk.sup).decide(desk.last_request_id(), "refuse", REFUSED_BECAUSE)
    secrets = [WHY, APPROVED_BECAUSE, REFUSED_BECAUSE, JEOPARDY, NAME, EMPLOYEE_NO]
    with desk.app.app_context():
        db = get_session()
        blobs: list[bytes] = []
        for req in db.scalars(select(IdentityAccessRequest)):
            blobs += [req.reason_ct, req.decision_reason_ct or b""]
        for approval in db.scalars(select(IdentityApproval)):
            blobs.append(approval.jeopardy_reason_ct or b"")
        for rel in db.scalars(select(IdentityRelease)):
            blobs.append(rel.sealed_key_ct)
        for entry in db.scalars(select(CaseEntry)):
            blobs.append(entry.body_ct or b"")
        for blob in blobs:
            for secret in secrets:
                assert secret.encode() not in blob
        for event in db.scalars(select(AuditEvent)):
            assert not any(s in (event.target or "") for s in secrets)
        # The release opens only for its recipient, bound to case, request and user.
        rel = db.scalars(select(IdentityRelease)).one()
        inv = db.get(StaffUser, desk.inv.id)
        from app.cases.identity import release_context

        key = open_sealed(
            passwords.unwrap(PASSWORD, inv.wrapped_private_key_ct),
            rel.sealed_key_ct,
            release_context(desk.case_id, req_id, inv.id),
        )
        assert len(key) == 32
        assert keyring.identity_key_context(desk.case_id) != release_context(desk.case_id, req_id, inv.id)
    if test_settings.database_url.startswith("sqlite"):
        db_file = Path(test_settings.database_url.removeprefix("sqlite:///"))
        for path in (db_file, Path(f"{db_file}-wal")):
            if path.exists():
                raw = path.read_bytes()
                for secret in secrets:
                    assert secret.encode() not in raw, secret
