"""Idea-contest proposals as staff work them: shown decrypted, reviewed, adopted or not with reasons, closed, linked."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cases.deadlines import add_months, local_today
from app.db import get_session
from app.models.audit import AuditEvent
from app.models.cases import Case, CaseEntry, CaseLink
from app.models.staff import Role, Team, TeamKind
from app.runtime import get_secrets, get_settings
from monitoring_bridge.importer import import_file

from .conftest import csrf_token

CONTACT = "canary-proposer-7f3a@example.kr"
REASONS = "Adopted for the 2027 budget: the finance office publishes subsidy spending monthly."


def proposal(n: int = 17, **over: object) -> dict[str, object]:
    rec: dict[str, object] = {
        "proposal_id": f"IDEA-2026-{n:03d}",
        "title": "Publish subsidy spending in real time",
        "proposal": "Publish what every subsidy project spends as it spends it, not once a quarter.",
        "proposer_contact": CONTACT,
        "submitted_at": "2026-04-30T21:15:00+09:00",
    }
    rec.update(over)
    return {k: v for k, v in rec.items() if v is not None}


@pytest.fixture
def ideas(app, office):
    """The idea source, and a function importing proposals through the file pipeline."""
    r = app.test_cli_runner().invoke(args=["bridge", "source", "add", "idea", "--kind", "idea"])
    assert r.exit_code == 0, r.output
    counter = {"n": 0}

    def run(tmp_path: Path, *records: dict[str, object]):
        counter["n"] += 1
        path = tmp_path / f"ideas-{counter['n']}.jsonl"
        path.write_bytes(b"".join(json.dumps(rec, ensure_ascii=False).encode() + b"\n" for rec in records))
        with app.app_context():
            return import_file(get_session(), get_settings(), "idea", path, bridge_key=get_secrets().bridge_key)

    return run


def idea_case(app, ref: str | None = None) -> Case:
    with app.app_context():
        stmt = select(Case).where(Case.kind == "idea").order_by(Case.id)
        cases = list(get_session().scalars(stmt))
        return cases[0] if ref is None else next(c for c in cases if c.public_ref == ref)


def page(client, case_id: int) -> str:
    r = client.get(f"/staff/cases/{case_id}")
    assert r.status_code == 200, r.status_code
    return r.get_data(as_text=True)


def move(client, case_id: int, target: str, *, version: str | None = None, **extra: str):
    html = page(client, case_id)
    shown = re.search(r'name="version" type="hidden" value="(\d+)"|name="version" value="(\d+)"', html)
    data = {"csrf_token": csrf_token(html), "target": target}
    data["version"] = version if version is not None else (shown.group(1) or shown.group(2))
    return client.post(f"/staff/cases/{case_id}/transition", data={**data, **extra})


def test_the_case_page_shows_the_decrypted_proposal_and_only_the_idea_workflow(
    app, client, staff, office, ideas, tmp_path
):
    ideas(tmp_path, proposal())
    case = idea_case(app)
    staff.login(office["intake"])
    html = page(client, case.id)
    assert "Publish subsidy spending in real time" in html and CONTACT in html
    assert "Idea · Received" in html
    choices = re.findall(r'<option value="([a-z_]+)"', html.split('name="target"')[1].split("</select>")[0])
    assert choices == ["under_review"]
    assert "Send to the reporter" not in html  # a proposer has no receipt to read it with
    with app.app_context():
        body = get_session().scalars(select(CaseEntry.body_ct).where(CaseEntry.case_id == case.id)).one()
        assert CONTACT.encode() not in body and b"subsidy" not in body


def test_an_idea_goes_under_review_then_adopted_with_reasons_then_closed(app, client, staff, office, ideas, tmp_path):
    ideas(tmp_path, proposal())
    case_id = idea_case(app).id
    staff.login(office["intake"])

    assert move(client, case_id, "under_review").status_code == 302
    case = idea_case(app)
    assert case.status == "under_review" and case.acknowledged_at is not None
    ack_day = local_today(case.acknowledged_at)
    assert case.feedback_due_on == add_months(ack_day, 3)  # feedback_months idea:3
    assert case.next_due_on == case.feedback_due_on  # the decision is now what is due

    assert move(client, case_id, "adopted").status_code == 400  # a decision without reasons
    assert idea_case(app).status == "under_review"
    assert move(client, case_id, "adopted", reasons=REASONS).status_code == 302
    case = idea_case(app)
    assert case.status == "adopted" and case.next_due_on is None and case.outcome is None
    html = page(client, case_id)
    assert "Idea · Adopted" in html and REASONS in html  # read back, decrypted, in the history
    with app.app_context():
        bodies = get_session().scalars(select(CaseEntry.body_ct).where(CaseEntry.case_id == case_id)).all()
        assert all(REASONS.encode() not in b and b"2027 budget" not in b for b in bodies)

    assert move(client, case_id, "closed").status_code == 302
    case = idea_case(app)
    assert case.status == "closed" and case.closed_at is not None
    assert case.retention_until == local_today(case.closed_at) + dt.timedelta(days=730)
    with app.app_context():
        targets = get_session().scalars(
            select(AuditEvent.target)
            .where(AuditEvent.action == "case.transition", AuditEvent.case_id == case_id)
            .order_by(AuditEvent.id)
        )
        assert list(targets) == ["received->under_review", "under_review->adopted", "adopted->closed"]


def test_not_adopting_needs_reasons_too_and_the_page_says_so_in_korean(app, client, staff, office, ideas, tmp_path):
    ideas(tmp_path, proposal())
    case_id = idea_case(app).id
    staff.login(office["intake"])
    assert move(client, case_id, "under_review").status_code == 302
    assert move(client, case_id, "not_adopted", reasons="   ").status_code == 400
    assert move(client, case_id, "not_adopted", reasons="Already done since 2025.").status_code == 302
    assert move(client, case_id, "adopted", reasons="changed our mind").status_code == 400  # decided is decided
    client.post("/language", data={"csrf_token": csrf_token(page(client, case_id)), "lang": "ko", "next": "/"})
    html = page(client, case_id)
    assert '<html lang="ko">' in html and "채택되지 않음" in html and "정책 아이디어" in html


def test_a_form_shown_before_someone_else_decided_does_not_overwrite_the_decision(
    app, client, staff, office, ideas, tmp_path
):
    ideas(tmp_path, proposal())
    case_id = idea_case(app).id
    staff.login(office["intake"])
    assert move(client, case_id, "under_review").status_code == 302
    stale = str(idea_case(app).version)
    assert move(client, case_id, "adopted", reasons=REASONS).status_code == 302
    assert move(client, case_id, "not_adopted", version=stale, reasons="No.").status_code == 409
    assert idea_case(app).status == "adopted"


def test_roles_outside_intake_and_supervision_cannot_move_an_idea_even_holding_its_key(
    app, client, staff, office, ideas, tmp_path
):
    legal = staff.create("legal-in-intake", Role.LEGAL)
    with app.app_context():
        from app.staff import service as staff_service
        from app.staff import teams

        db = get_session()
        team = db.scalar(select(Team).where(Team.kind == TeamKind.INTAKE.value))
        team_private = teams.open_team_key_with_recovery(team, staff.recovery.private)
        teams.add_member_with_key(db, team, team_private, staff_service.get_user(db, legal.id), None)
        db.commit()
    ideas(tmp_path, proposal())
    case_id = idea_case(app).id
    staff.login(legal)
    html = page(client, case_id)  # the team key opens the case ...
    assert 'name="target"' not in html  # ... but no move is offered
    token = csrf_token(html)
    version = str(idea_case(app).version)
    r = client.post(
        f"/staff/cases/{case_id}/transition", data={"csrf_token": token, "target": "under_review", "version": version}
    )
    assert r.status_code == 400 and idea_case(app).status == "received"


def test_an_idea_can_be_linked_to_a_report_and_both_pages_show_the_link(
    app, client, staff, office, ideas, reporter, tmp_path
):
    reporter.submit_ok()
    ideas(tmp_path, proposal())
    idea = idea_case(app)
    with app.app_context():
        report = get_session().scalars(select(Case).where(Case.kind == "report")).one()
    staff.login(office["intake"])
    html = page(client, idea.id)
    r = client.post(
        f"/staff/cases/{idea.id}/links",
        data={"csrf_token": csrf_token(html), "relation": "related", "other_ref": report.public_ref},
    )
    assert r.status_code == 302
    with app.app_context():
        link = get_session().scalars(select(CaseLink)).one()
        assert (link.from_case_id, link.to_case_id, link.relation) == (idea.id, report.id, "related")
    assert report.public_ref in page(client, idea.id)
    assert idea.public_ref in page(client, report.id)
