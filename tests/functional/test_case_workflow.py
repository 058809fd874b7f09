"""A case's whole life through every role, from received to closed (issue 5's walk)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app.cases.deadlines import add_months, local_today
from app.db import get_session
from app.models.audit import AuditEvent
from app.models.cases import Case, CaseEntry, IdentityAccessRequest
from app.models.staff import Role, TeamKind

from .conftest import csrf_token


@pytest.fixture
def tf(staff, office):
    """The T/F team: intake (from office), two investigators (one conflicted), legal, supervisor."""
    people = {
        "intake": office["intake"],
        "investigator": staff.create("inv1", Role.INVESTIGATOR),
        "conflicted": staff.create("inv2", Role.INVESTIGATOR),
        "legal": staff.create("legal1", Role.LEGAL),
        "supervisor": staff.create("super1", Role.SUPERVISOR),
    }
    people["investigation_team"] = staff.team(
        "investigation", TeamKind.INVESTIGATION, people["investigator"], people["conflicted"]
    )
    people["legal_team"] = staff.team("legal", TeamKind.LEGAL, people["legal"])
    staff.team("oversight", TeamKind.INVESTIGATION, people["supervisor"])
    return people


def _case(app) -> Case:
    with app.app_context():
        return get_session().query(Case).one()


def _act(staff, client, case_id: int, action: str, **data: str):
    page = client.get(f"/staff/cases/{case_id}")
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"|name="version" value="(\d+)"', html)
    payload = {"csrf_token": csrf_token(html), **data}
    if version and "version" not in data:
        payload["version"] = version.group(1) or version.group(2)
    return client.post(f"/staff/cases/{case_id}/{action}", data=payload)


def _as(staff, client, who):
    """Act as ``who``: sign in once, then switch by swapping their session cookie (codes are never reused)."""
    cookies = staff.__dict__.setdefault("_sessions", {})
    client.delete_cookie("haechi_staff", path="/staff")
    if who.id in cookies:
        client.set_cookie("haechi_staff", cookies[who.id], path="/staff")
    else:
        staff.login(who)
        cookies[who.id] = client.get_cookie("haechi_staff", path="/staff").value


def test_a_case_walks_from_received_to_closed_through_every_role(app, staff, client, reporter, tf, office):
    reporter.login(reporter.submit_ok(name="Hong Gildong"))
    case_id = _case(app).id

    # Intake acknowledges (feedback due 3 months later), triages, routes, excludes the conflicted investigator.
    _as(staff, client, tf["intake"])
    assert _act(staff, client, case_id, "transition", target="acknowledged").status_code == 302
    case = _case(app)
    ack_day = local_today(case.acknowledged_at)
    assert case.status == "acknowledged" and case.feedback_due_on == add_months(ack_day, 3)
    assert case.next_due_on == case.feedback_due_on
    assert _act(staff, client, case_id, "transition", target="triage").status_code == 302
    assert _act(staff, client, case_id, "assign", team_id=str(tf["investigation_team"])).status_code == 302
    assert _act(staff, client, case_id, "assign", team_id=str(tf["legal_team"])).status_code == 302
    assert _act(staff, client, case_id, "assign", user_id=str(tf["supervisor"].id)).status_code == 302
    assert (
        _act(
            staff,
            client,
            case_id,
            "exclude",
            user_id=str(tf["conflicted"].id),
            reason="Brother-in-law of the official concerned",
        ).status_code
        == 302
    )
    assert _act(staff, client, case_id, "transition", target="investigating").status_code == 302

    # The conflicted investigator cannot open the case, even by URL, nor see it listed.
    _as(staff, client, tf["conflicted"])
    assert client.get(f"/staff/cases/{case_id}").status_code == 404
    assert case.public_ref not in client.get("/staff/cases/").get_data(as_text=True)

    # The investigator works it: a note, a question; the reporter answers.
    _as(staff, client, tf["investigator"])
    assert (
        _act(staff, client, case_id, "notes", body="Checked the permit register: no licence issued.").status_code == 302
    )
    assert _act(staff, client, case_id, "messages", body="Which day did this happen?", question="y").status_code == 302
    case = _case(app)
    assert case.waiting_on_reporter and case.feedback_given_on is not None and case.next_due_on is None
    inbox = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    assert "Which day did this happen?" in inbox and "Checked the permit register" not in inbox
    assert reporter.send("On Tuesday the 3rd.", answers=True).status_code == 303
    assert not _case(app).waiting_on_reporter

    # Identity: one request refused, one approved and released by the protection team.
    base = f"/staff/cases/{case_id}/identity"

    def last_request() -> int:
        with app.app_context():
            return get_session().query(IdentityAccessRequest).order_by(IdentityAccessRequest.id.desc()).first().id

    assert staff.post(f"{base}/request", {"reason": "Need to interview the reporter as a witness."}).status_code == 303
    refused = last_request()
    _as(staff, client, tf["supervisor"])
    decision = {f"r{refused}-decision": "refuse", f"r{refused}-reason": "Not needed: documents suffice."}
    assert staff.post(f"{base}/{refused}/decide", decision).status_code == 303
    _as(staff, client, tf["investigator"])
    assert client.get(f"{base}/view").status_code == 404
    again = {"reason": "The bank records name a witness only the reporter knows."}
    assert staff.post(f"{base}/request", again).status_code == 303
    approved = last_request()
    _as(staff, client, tf["supervisor"])
    decision = {f"r{approved}-decision": "approve", f"r{approved}-reason": "Necessary to identify the witness."}
    assert staff.post(f"{base}/{approved}/decide", decision).status_code == 303
    _as(staff, client, office["protector"])
    assert staff.post(f"{base}/{approved}/release").status_code == 303
    _as(staff, client, tf["investigator"])
    assert "Hong Gildong" in client.get(f"{base}/view").get_data(as_text=True)
    assert "Necessary to identify the witness." in reporter.client.get("/receipt/inbox").get_data(as_text=True)

    # Resolving needs an outcome and reasons.
    r = _act(staff, client, case_id, "transition", target="resolved", reasons="")
    assert r.status_code == 400 and _case(app).status == "investigating"
    assert _act(staff, client, case_id, "transition", target="legal_review").status_code == 302

    # Legal sends it back with reasons; the investigator resolves it.
    _as(staff, client, tf["legal"])
    assert (
        _act(
            staff, client, case_id, "transition", target="investigating", reasons="Get the bank records first."
        ).status_code
        == 302
    )
    _as(staff, client, tf["investigator"])
    assert (
        _act(
            staff,
            client,
            case_id,
            "transition",
            target="resolved",
            outcome="referred_prosecution",
            reasons="Evidence of bribery; referred.",
            reporter_informed_on="2026-11-28",
        ).status_code
        == 302
    )
    assert _case(app).outcome == "referred_prosecution"
    # Only a supervisor closes.
    assert _act(staff, client, case_id, "transition", target="closed").status_code == 400
    _as(staff, client, tf["supervisor"])
    assert _act(staff, client, case_id, "transition", target="closed").status_code == 302
    case = _case(app)
    assert case.status == "closed" and case.closed_at is not None and case.retention_until is not None
    assert case.reporter_informed_on == dt.date(2026, 11, 28)

    with app.app_context():
        db = get_session()
        moves = [
            e.target
            for e in db.query(AuditEvent).filter_by(action="case.transition", case_id=case_id).order_by(AuditEvent.id)
        ]
        assert moves == [
            "received->acknowledged",
            "acknowledged->triage",
            "triage->investigating",
            "investigating->legal_review",
            "legal_review->investigating",
            "investigating->resolved",
            "resolved->closed",
        ]
        assert db.query(CaseEntry).filter_by(kind="status_change", case_id=case_id).count() == 7
        assert db.query(AuditEvent).filter_by(action="case.member_excluded", case_id=case_id).count() == 1


def test_a_stale_concurrent_update_is_rejected_with_a_clear_message(app, staff, client, reporter, tf):
    reporter.submit_ok()
    case_id = _case(app).id
    _as(staff, client, tf["intake"])
    html = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    old_version = re.search(r'name="version" type="hidden" value="(\d+)"|name="version" value="(\d+)"', html)
    old_version = old_version.group(1) or old_version.group(2)
    # Someone else changes the case meanwhile (severity bump with the then-current version).
    assert _act(staff, client, case_id, "severity", severity="3").status_code == 302
    r = client.post(
        f"/staff/cases/{case_id}/transition",
        data={"csrf_token": csrf_token(html), "version": old_version, "target": "acknowledged"},
    )
    # The 409 is the case page itself (a browser shows a 4xx body and never follows its Location),
    # saying why, with the current version in its forms so that repeating the move works.
    assert r.status_code == 409 and "Location" not in r.headers
    body = r.get_data(as_text=True)
    assert "changed by someone else meanwhile" in body and "Redirecting" not in body
    assert _case(app).status == "received"
    fresh = re.search(r'name="version" type="hidden" value="(\d+)"|name="version" value="(\d+)"', body)
    assert (fresh.group(1) or fresh.group(2)) == str(_case(app).version) != old_version
    assert _act(staff, client, case_id, "transition", target="acknowledged").status_code == 302


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "This case was changed by someone else meanwhile, so your change was not saved."),
        ("ko", "그사이 다른 사람이 이 사건을 변경하여 변경 내용이 저장되지 않았습니다."),
    ],
    ids=["en", "ko"],
)
def test_a_stale_update_answers_409_with_the_case_page_saying_so_in_the_pages_language(
    app, staff, client, reporter, tf, lang, message
):
    """What a browser renders for the 409 is the case page with the message, in the page's language."""
    from tests.unit.web.helpers import choose_language

    reporter.submit_ok()
    case_id = _case(app).id
    _as(staff, client, tf["intake"])
    choose_language(client, lang, f"/staff/cases/{case_id}")
    html = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert _act(staff, client, case_id, "severity", severity="2").status_code == 302
    old = re.search(r'name="version" type="hidden" value="(\d+)"|name="version" value="(\d+)"', html)
    r = client.post(
        f"/staff/cases/{case_id}/severity",
        data={"csrf_token": csrf_token(html), "version": old.group(1) or old.group(2), "severity": "5"},
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 409 and r.mimetype == "text/html"
    assert f'<html lang="{lang}"' in body and message in body
    assert _case(app).severity == 2
    # The message was shown once, with the 409: it is not flashed again on the next page.
    assert message not in client.get(f"/staff/cases/{case_id}").get_data(as_text=True)


def test_a_stale_labels_form_changes_nothing_and_says_the_case_changed_meanwhile(app, staff, client, reporter, tf):
    """Labels carry the optimistic lock too: a page shown before a colleague's labels cannot replace them."""
    reporter.submit_ok()
    case_id = _case(app).id
    _as(staff, client, tf["intake"])
    stale = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    form = re.search(rf'action="/staff/cases/{case_id}/labels".*?</form>', stale, re.S).group(0)
    old = re.search(r'name="version" type="hidden" value="(\d+)"|name="version" value="(\d+)"', form)
    assert old, "the labels form carries the version it was shown with"
    assert _act(staff, client, case_id, "labels", labels="bribery, permits").status_code == 302
    r = client.post(
        f"/staff/cases/{case_id}/labels",
        data={"csrf_token": csrf_token(stale), "version": old.group(1) or old.group(2), "labels": "urgent"},
    )
    assert r.status_code == 409 and "changed by someone else meanwhile" in r.get_data(as_text=True)
    with app.app_context():
        assert [label.label for label in get_session().get(Case, case_id).labels] == ["bribery", "permits"]
    # A labels form without a version (an old page) is stale too.
    r = client.post(f"/staff/cases/{case_id}/labels", data={"csrf_token": csrf_token(stale), "labels": "urgent"})
    assert r.status_code == 409


def test_saving_labels_makes_other_pages_of_the_case_stale(app, staff, client, reporter, tf):
    """Saving labels bumps the case's version, so a colleague's severity from an older page collides."""
    reporter.submit_ok()
    case_id = _case(app).id
    _as(staff, client, tf["intake"])
    stale = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    before = _case(app).version
    assert _act(staff, client, case_id, "labels", labels="bribery").status_code == 302
    assert _case(app).version == before + 1
    r = client.post(
        f"/staff/cases/{case_id}/severity",
        data={"csrf_token": csrf_token(stale), "version": str(before), "severity": "4"},
    )
    assert r.status_code == 409 and _case(app).severity == 0


def test_the_database_refuses_an_update_based_on_a_stale_row(app, tf, reporter):
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.exc import StaleDataError

    reporter.submit_ok()
    engine = app.extensions["haechi.engine"]
    with Session(engine) as first, Session(engine) as second:
        a = first.query(Case).one()
        b = second.query(Case).one()
        a.severity = 2
        first.commit()
        b.severity = 4
        with pytest.raises(StaleDataError):
            second.commit()


@pytest.mark.parametrize(("days_from_today", "flag"), [(-1, "Overdue"), (0, "Due soon"), (3, "Due soon"), (4, None)])
def test_overdue_and_due_soon_are_flagged_at_their_edges(app, staff, client, reporter, tf, days_from_today, flag):
    reporter.submit_ok()
    with app.app_context():
        db = get_session()
        case = db.query(Case).one()
        case.next_due_on = local_today(dt.datetime.now(dt.UTC)) + dt.timedelta(days=days_from_today)
        db.commit()
        case_id = case.id
    _as(staff, client, tf["intake"])
    html = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    for name in ("Overdue", "Due soon"):
        assert (f">{name}<" in html) == (name == flag), (name, days_from_today)


def test_links_are_shown_from_both_sides(app, staff, client, reporter, tf):
    reporter.submit_ok()
    reporter.submit_ok(what="A second report about the same permits desk and the same cash demand.")
    with app.app_context():
        first, second = get_session().query(Case).order_by(Case.id).all()
    _as(staff, client, tf["intake"])
    assert (
        _act(staff, client, second.id, "links", relation="duplicate_of", other_ref=first.public_ref).status_code == 302
    )
    assert "<li>is a duplicate of <a" in client.get(f"/staff/cases/{second.id}").get_data(as_text=True)
    assert "<li>has a duplicate <a" in client.get(f"/staff/cases/{first.id}").get_data(as_text=True)


def test_every_relation_has_a_label_from_both_sides():
    """A link is read as its relation from one case and as the inverse from the other: each has words."""
    from app.cases.forms import LINK_LABELS
    from app.cases.service import _INVERSE
    from app.models.cases import LinkRelation

    assert {r.value for r in LinkRelation} | set(_INVERSE.values()) == set(LINK_LABELS)


def test_revoking_a_grant_destroys_the_sealed_key_and_the_team_loses_access(app, staff, client, reporter, tf):
    from app.models.cases import CaseKeyGrant

    reporter.submit_ok()
    case_id = _case(app).id
    _as(staff, client, tf["intake"])
    _act(staff, client, case_id, "assign", team_id=str(tf["investigation_team"]))
    with app.app_context():
        grant = get_session().query(CaseKeyGrant).filter_by(team_id=tf["investigation_team"]).one()
    assert _act(staff, client, case_id, f"grants/{grant.id}/revoke").status_code == 302
    with app.app_context():
        grant = get_session().get(CaseKeyGrant, grant.id)
        assert grant.revoked_at is not None and grant.sealed_key_ct == b""
    _as(staff, client, tf["investigator"])
    assert client.get(f"/staff/cases/{case_id}").status_code == 404


def test_the_last_staff_grant_cannot_be_revoked(app, staff, client, reporter, tf):
    from app.models.cases import CaseKeyGrant

    reporter.submit_ok()
    case_id = _case(app).id
    _as(staff, client, tf["intake"])
    with app.app_context():
        grant = get_session().query(CaseKeyGrant).filter_by(grantee_kind="team").one()
    assert _act(staff, client, case_id, f"grants/{grant.id}/revoke").status_code == 400


def _assign_to_investigation_and_seal_to_the_investigator_only(app, tf) -> int:
    """Intake assigns the one report to the investigation team, then seals it to the investigator alone."""
    from app.cases import keys as case_keys
    from app.cases import service
    from app.models.staff import StaffUser, Team
    from crypto import passwords

    from .conftest import PASSWORD

    with app.app_context():
        db = get_session()
        case = db.query(Case).one()
        intake_user = db.get(StaffUser, tf["intake"].id)
        case_key = case_keys.open_as_staff(
            db, case, intake_user, passwords.unwrap(PASSWORD, intake_user.wrapped_private_key_ct)
        )
        team = db.get(Team, tf["investigation_team"])
        now = dt.datetime.now(dt.UTC)
        service.assign_team(db, case, case_key, team, intake_user, now)
        service.restrict_to_members(
            db, case, case_key, team, [db.get(StaffUser, tf["investigator"].id)], intake_user, now
        )
        db.commit()
        return case.id


def test_sealing_to_chosen_members_leaves_the_rest_of_the_team_out(app, staff, client, reporter, tf):
    reporter.submit_ok()
    case_id = _assign_to_investigation_and_seal_to_the_investigator_only(app, tf)
    _as(staff, client, tf["investigator"])
    assert client.get(f"/staff/cases/{case_id}").status_code == 200
    _as(staff, client, tf["conflicted"])
    assert client.get(f"/staff/cases/{case_id}").status_code == 404


def test_a_case_sealed_to_chosen_members_is_still_its_teams_for_reminders_and_dashboards(
    app, staff, client, reporter, tf
):
    """Stand-in grants (``via_team_id``) keep the case the team's: deadline and purge reminders, team dashboard."""
    from sqlalchemy import select

    from app.cases import retention
    from app.dashboards.service import Scope

    reporter.submit_ok()
    case_id = _assign_to_investigation_and_seal_to_the_investigator_only(app, tf)
    with app.app_context():
        db = get_session()
        case = db.get(Case, case_id)
        case.next_due_on = dt.date(2026, 12, 1)
        db.commit()
        assert retention.teams_of(db, case) == ["intake", "investigation"]
        scope = Scope(viewer_id=tf["investigator"].id, team_ids=(tf["investigation_team"],))
        assert list(db.scalars(select(Case.id).where(*scope.cases(Case.id)))) == [case.id]
        ref = case.public_ref
    out = app.test_cli_runner().invoke(args=["deadlines", "remind", "--today", "2026-12-02"]).output
    assert "team investigation:" in out and "team intake:" in out and ref in out


def test_deadlines_remind_lists_overdue_and_due_soon_per_team_and_audits(app, reporter, tf):
    reporter.submit_ok()
    reporter.submit_ok(what="Another report about procurement irregularities in the roads department.")
    with app.app_context():
        db = get_session()
        first, second = db.query(Case).order_by(Case.id).all()
        first.next_due_on = dt.date(2026, 12, 1)
        second.next_due_on = dt.date(2026, 12, 20)
        db.commit()
        refs = (first.public_ref, second.public_ref)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["deadlines", "remind", "--today", "2026-12-02"]).output
    assert "team intake:" in out and f"{refs[0]}" in out and "OVERDUE" in out and refs[1] not in out
    out = runner.invoke(args=["deadlines", "remind", "--today", "2026-12-01"]).output
    assert "due soon" in out and "OVERDUE" not in out
    out = runner.invoke(args=["deadlines", "remind", "--today", "2026-11-01"]).output
    assert "nothing overdue" in out
    with app.app_context():
        assert get_session().query(AuditEvent).filter_by(action="deadline.reminded").count() == 2


def test_exclusion_is_cryptographic_no_live_grant_opens_with_the_excluded_persons_keys(
    app, staff, client, reporter, tf
):
    from app.cases import keys as case_keys
    from app.models.cases import CaseKeyGrant
    from app.models.staff import StaffUser, Team
    from app.staff import keyring
    from crypto import open_sealed, passwords
    from crypto.errors import DecryptionError

    from .conftest import PASSWORD

    reporter.submit_ok()
    case_id = _case(app).id
    _as(staff, client, tf["intake"])
    _act(staff, client, case_id, "assign", team_id=str(tf["investigation_team"]))
    _act(staff, client, case_id, "exclude", user_id=str(tf["conflicted"].id), reason="conflict")
    with app.app_context():
        db = get_session()
        user = db.get(StaffUser, tf["conflicted"].id)
        private = passwords.unwrap(PASSWORD, user.wrapped_private_key_ct)
        team = db.get(Team, tf["investigation_team"])
        team_key = keyring.open_team_key(team, user, private)
        context = keyring.case_key_context(case_id)
        live = db.query(CaseKeyGrant).filter_by(case_id=case_id, revoked_at=None).all()
        for grant in live:
            for key in (private, team_key):
                with pytest.raises(DecryptionError):
                    open_sealed(key, grant.sealed_key_ct, context)
        # The colleague still opens the case through a personal grant.
        colleague = db.get(StaffUser, tf["investigator"].id)
        assert case_keys.open_as_staff(
            db, db.get(Case, case_id), colleague, passwords.unwrap(PASSWORD, colleague.wrapped_private_key_ct)
        )


def test_an_excluded_custodian_cannot_see_or_release_the_identity(app, staff, client, reporter, tf, office):
    reporter.submit_ok(name="Hong Gildong")
    case_id = _case(app).id
    _as(staff, client, tf["intake"])
    _act(staff, client, case_id, "exclude", user_id=str(office["protector"].id), reason="relative")
    _as(staff, client, office["protector"])
    assert client.get(f"/staff/cases/{case_id}/identity/view").status_code == 404


def test_a_refused_change_is_explained_in_korean_on_the_korean_page(app, staff, client, reporter, tf):
    """The case service's reasons are translated inside "Not possible: …", not left in English."""
    from tests.unit.web.helpers import choose_language

    reporter.submit_ok()
    with app.app_context():
        case = get_session().query(Case).one()
    _as(staff, client, tf["intake"])
    choose_language(client, "ko", f"/staff/cases/{case.id}")
    r = _act(staff, client, case.id, "links", relation="related", other_ref=case.public_ref)
    assert r.status_code == 400  # refused: the case page itself, with the reason
    page = r.get_data(as_text=True)
    assert "처리할 수 없습니다: 사건을 자기 자신과 연결할 수 없습니다" in page
    assert "cannot be linked to itself" not in page


def test_the_korean_case_page_shows_labels_not_workflow_codes(app, staff, client, reporter, tf):
    """Status in the flash, outcome, link relations (both sides), grantee and entry kinds are all words."""
    from tests.unit.web.helpers import choose_language

    reporter.submit_ok()
    reporter.submit_ok()
    with app.app_context():
        first, second = get_session().query(Case).order_by(Case.id).all()
        a_id, b_id, a_ref = first.id, second.id, first.public_ref
    _as(staff, client, tf["intake"])
    choose_language(client, "ko", f"/staff/cases/{a_id}")
    assert _act(staff, client, a_id, "transition", target="acknowledged").status_code == 302
    page = client.get(f"/staff/cases/{a_id}").get_data(as_text=True)
    assert "사건 상태가 변경되었습니다: 접수 확인." in page
    assert _act(staff, client, a_id, "messages", body="Please tell us more.").status_code == 302
    assert _act(staff, client, a_id, "messages", body="When was it?", question="y").status_code == 302
    assert _act(staff, client, a_id, "notes", body="Checked the permits desk.").status_code == 302
    assert _act(staff, client, a_id, "assign", user_id=str(tf["investigator"].id)).status_code == 302
    assert _act(staff, client, b_id, "transition", target="acknowledged").status_code == 302
    assert _act(staff, client, b_id, "transition", target="triage").status_code == 302
    assert _act(staff, client, b_id, "links", relation="duplicate_of", other_ref=a_ref).status_code == 302
    with app.app_context():
        db = get_session()
        db.get(Case, a_id).outcome = "referred_prosecution"
        db.commit()

    page_a = client.get(f"/staff/cases/{a_id}").get_data(as_text=True)
    page_b = client.get(f"/staff/cases/{b_id}").get_data(as_text=True)
    assert "· 검찰 이첩</small>" in page_a  # the outcome, in the heading
    # The status change among the notes, in words too.
    assert "received → acknowledged" not in page_a and "→ 접수 확인" in page_a
    assert "다음 사건이 이 사건의 중복" in page_a and "다음 사건과 중복" in page_b
    for label in ("<li>담당 팀: ", "<li>담당자: ", "<li>복구 키", "<li>신고자"):
        assert label in page_a, label
    for label in ("신고자에게 보낸 메시지", "신고자에게 한 질문", "내부 메모", "처리 상태 변경"):
        assert f"<h3>{label} " in page_a, label
    codes = re.compile(
        r"\b(acknowledged|referred_prosecution|duplicate_of|has_duplicate|team|user|reporter|recovery"
        r"|message_out|question|note|status_change)\b"
    )
    for page in (page_a, page_b):
        # Visible text only (tags and their attributes carry codes legitimately), less the bodies
        # of notes and messages: free text, and a status change's text is the service's (not a label).
        visible = re.sub(r'<p class="message-body">.*?</p>|<[^>]+>', " ", page, flags=re.S)
        assert not codes.findall(visible), codes.findall(visible)
