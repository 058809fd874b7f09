"""The PDF support file through the staff pages: who may make one, what it holds, what it leaves behind."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.db import get_session
from app.models.audit import AuditEvent
from app.models.cases import Case, IdentityAccessRequest
from app.models.staff import Role, TeamKind

from .conftest import csrf_token
from .test_case_workflow import _act, _as


@pytest.fixture
def desk(app, staff, client, reporter, office):
    """A reported case (with an identity) that intake routed to the legal team; a second legal officer is not on it."""
    people = {
        "intake": office["intake"],
        "protector": office["protector"],
        "legal": staff.create("legal1", Role.LEGAL),
        "outsider": staff.create("legal2", Role.LEGAL),
        "investigator": staff.create("inv1", Role.INVESTIGATOR),
        "supervisor": staff.create("super1", Role.SUPERVISOR),
    }
    legal_team = staff.team("legal", TeamKind.LEGAL, people["legal"])
    investigation = staff.team("investigation", TeamKind.INVESTIGATION, people["investigator"])
    reporter.submit_ok(name="Hong Gildong")
    with app.app_context():
        case_id = get_session().query(Case).one().id
    _as(staff, client, people["intake"])
    assert _act(staff, client, case_id, "transition", target="acknowledged").status_code == 302
    assert _act(staff, client, case_id, "transition", target="triage").status_code == 302
    for data in (
        {"team_id": str(legal_team)},
        {"team_id": str(investigation)},
        {"user_id": str(people["supervisor"].id)},
    ):
        assert _act(staff, client, case_id, "assign", **data).status_code == 302
    people["case_id"] = case_id
    return people


def _generate(client, case_id: int, **data: str):
    page = client.get(f"/staff/cases/{case_id}/support-file")
    assert page.status_code == 200, page.status_code
    payload = {"csrf_token": csrf_token(page.get_data(as_text=True)), "language": "en", **data}
    return client.post(f"/staff/cases/{case_id}/support-file", data=payload)


def _text(body: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)


def _pdfs_in(*folders: Path) -> set[Path]:
    return {p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()}


def test_a_legal_officer_downloads_the_support_file_and_it_is_audited(app, staff, client, desk):
    _as(staff, client, desk["legal"])
    case_id = desk["case_id"]
    instance, tmp = Path(app.instance_path), Path(tempfile.gettempdir())
    before_instance, before_tmp = _pdfs_in(instance), set(tmp.iterdir())

    r = _generate(client, case_id, language="ko")
    assert r.status_code == 200
    assert r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.headers["Cache-Control"] == "no-store"
    text = _text(r.data)
    assert "대외비" in text and "지원 파일" in text and "Legal1" in text

    # Nothing of the file was left behind: no new file in the instance folder or the temp dir.
    assert _pdfs_in(instance) == before_instance
    assert {p for p in set(tmp.iterdir()) - before_tmp if p.suffix == ".pdf" or "weasy" in p.name.lower()} == set()
    assert not any(p.read_bytes().startswith(b"%PDF") for p in _pdfs_in(instance))

    with app.app_context():
        rows = get_session().query(AuditEvent).filter_by(action="support_file.generated").all()
    assert [(e.actor_user_id, e.case_id, e.target) for e in rows] == [
        (desk["legal"].id, case_id, "locale:ko;identity:no")
    ]


def test_other_roles_are_refused_and_a_legal_officer_without_the_case_gets_404(staff, client, desk):
    case_id = desk["case_id"]
    for who in ("intake", "investigator", "protector"):
        _as(staff, client, desk[who])
        assert client.get(f"/staff/cases/{case_id}/support-file").status_code == 403
        assert staff.post(f"/staff/cases/{case_id}/support-file", {"language": "en"}).status_code == 403
    _as(staff, client, desk["outsider"])
    assert client.get(f"/staff/cases/{case_id}/support-file").status_code == 404
    assert staff.post(f"/staff/cases/{case_id}/support-file", {"language": "en"}).status_code == 404
    assert client.get("/staff/cases/999999/support-file").status_code == 404


def test_a_supervisor_may_make_one_too(staff, client, desk):
    _as(staff, client, desk["supervisor"])
    r = _generate(client, desk["case_id"])
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "Super1" in _text(r.data)


def test_an_unknown_language_is_refused_without_a_file(staff, client, desk):
    _as(staff, client, desk["legal"])
    r = _generate(client, desk["case_id"], language="fr")
    assert r.status_code == 303 and r.mimetype != "application/pdf"


def test_the_identity_goes_in_only_when_released_and_asked_for(app, staff, client, desk):
    case_id = desk["case_id"]
    form_url = f"/staff/cases/{case_id}/support-file"
    _as(staff, client, desk["legal"])
    assert "include_identity" not in client.get(form_url).get_data(as_text=True)
    # Ticking the box without a release changes nothing.
    r = _generate(client, case_id, include_identity="y")
    assert r.status_code == 200 and "Hong Gildong" not in _text(r.data)

    # Request, approval by a supervisor, release by the protection team.
    base = f"/staff/cases/{case_id}/identity"
    assert staff.post(f"{base}/request", {"reason": "The court asks who applies for relief."}).status_code == 303
    with app.app_context():
        req_id = get_session().query(IdentityAccessRequest).one().id
    _as(staff, client, desk["supervisor"])
    decision = {f"r{req_id}-decision": "approve", f"r{req_id}-reason": "Needed for the relief claim."}
    assert staff.post(f"{base}/{req_id}/decide", decision).status_code == 303
    _as(staff, client, desk["protector"])
    assert staff.post(f"{base}/{req_id}/release").status_code == 303

    _as(staff, client, desk["legal"])
    assert "include_identity" in client.get(form_url).get_data(as_text=True)
    without = _generate(client, case_id)
    assert "Hong Gildong" not in _text(without.data)
    with_identity = _generate(client, case_id, include_identity="y")
    text = _text(with_identity.data)
    assert "Hong Gildong" in text and "Reporter identity" in text

    with app.app_context():
        events = get_session().query(AuditEvent).order_by(AuditEvent.id).all()
    generated = [e.target for e in events if e.action == "support_file.generated"]
    assert generated == ["locale:en;identity:no", "locale:en;identity:no", "locale:en;identity:yes"]
    # Opening the identity for the file is a view of the identity, audited as one.
    assert [e.action for e in events][-2:] == ["identity.viewed", "support_file.generated"]


def test_the_case_page_links_to_the_support_file_for_legal_only(staff, client, desk):
    case_id = desk["case_id"]
    link = f"/staff/cases/{case_id}/support-file"
    _as(staff, client, desk["legal"])
    assert link in client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    _as(staff, client, desk["investigator"])
    assert link not in client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
