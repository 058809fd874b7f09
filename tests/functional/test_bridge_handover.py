"""Case-key hand-over: once staff take a bridge case over, the bridge's copy of its key is gone for good,
and what the bridge correlates later opens a new case linked to it instead of writing into it."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db import get_session
from app.models.audit import AuditEvent
from app.models.bridge import BridgeCaseKey, BridgeRecord
from app.models.cases import Case, CaseEntry, CaseLink
from app.models.staff import Team, TeamKind
from app.runtime import get_secrets, get_settings
from monitoring_bridge.importer import import_file

from .conftest import csrf_token

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))


def alert(n: int, **over: object) -> dict[str, object]:
    rec: dict[str, object] = {
        "alert_id": f"CB-{n}",
        "scenario_id": "EH-017",
        "scenario_name": "Corporate card used late at night",
        "system": "e_hojo",
        "department": "FIN",
        "official": "Kim Official",
        "amount": 120000,
        "record_ref": "VOUCHER-9",
        "raised_at": T0.isoformat(),
        "severity": 3,
    }
    rec.update(over)
    return rec


@pytest.fixture
def feed(app, office):
    """Sources cheongbaek and idea, and a function importing records into one through the file pipeline."""
    for name in ("cheongbaek", "idea"):
        r = app.test_cli_runner().invoke(args=["bridge", "source", "add", name, "--kind", name])
        assert r.exit_code == 0, r.output
    counter = {"n": 0}

    def run(tmp_path: Path, source: str, *records: dict[str, object]):
        counter["n"] += 1
        path = tmp_path / f"{source}-{counter['n']}.jsonl"
        path.write_bytes(b"".join(json.dumps(rec).encode() + b"\n" for rec in records))
        with app.app_context():
            return import_file(get_session(), get_settings(), source, path, bridge_key=get_secrets().bridge_key)

    return run


def act(client, case_id: int, action: str, **data: str) -> int:
    html = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"|name="version" value="(\d+)"', html)
    payload = {"csrf_token": csrf_token(html), "version": version.group(1) or version.group(2), **data}
    return client.post(f"/staff/cases/{case_id}/{action}", data=payload).status_code


def the_case(app, external_id: str) -> Case:
    with app.app_context():
        db = get_session()
        case_id = db.scalar(select(BridgeRecord.case_id).where(BridgeRecord.external_id == external_id))
        return db.get(Case, case_id)


def kept_key(app, case_id: int) -> bool:
    with app.app_context():
        return get_session().get(BridgeCaseKey, case_id) is not None


def entries(app, case_id: int) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).where(CaseEntry.case_id == case_id))


def intake_team_id(app) -> int:
    with app.app_context():
        return get_session().scalar(select(Team.id).where(Team.kind == TeamKind.INTAKE.value))


@pytest.mark.parametrize(
    ("action", "data", "why"),
    [
        ("transition", {"target": "explanation_requested"}, "transition"),
        ("notes", {"body": "Looked at the voucher; asking the department."}, "note"),
        ("assign", {"team_id": "INTAKE"}, "assignment"),
    ],
)
def test_the_first_staff_action_destroys_the_bridge_copy_and_a_later_alert_opens_a_related_case(
    app, client, staff, office, feed, tmp_path, action, data, why
):
    feed(tmp_path, "cheongbaek", alert(1))
    first = the_case(app, "CB-1")
    assert kept_key(app, first.id)  # while nobody works it, the bridge can still add correlated alerts
    staff.login(office["intake"])
    if data.get("team_id") == "INTAKE":
        data = {"team_id": str(intake_team_id(app))}
    assert act(client, first.id, action, **data) == 302
    assert not kept_key(app, first.id)
    with app.app_context():
        released = get_session().scalars(
            select(AuditEvent).where(AuditEvent.action == "bridge.case_key_released", AuditEvent.case_id == first.id)
        )
        assert [(e.actor_user_id, e.target) for e in released] == [(office["intake"].id, why)]
    before = entries(app, first.id)

    summary = feed(tmp_path, "cheongbaek", alert(2, raised_at=(T0 + dt.timedelta(hours=1)).isoformat()))
    later = the_case(app, "CB-2")
    assert later.id != first.id and summary.linked >= 1
    assert entries(app, first.id) == before  # nothing was written into the case staff took over
    with app.app_context():
        links = get_session().scalars(select(CaseLink).where(CaseLink.from_case_id == later.id)).all()
        assert [(link.to_case_id, link.relation) for link in links] == [(first.id, "related")]
    assert kept_key(app, later.id)  # the new case is the bridge's to feed until staff take it over


def test_before_staff_act_a_correlated_alert_joins_the_same_case(app, client, staff, office, feed, tmp_path):
    feed(tmp_path, "cheongbaek", alert(1))
    staff.login(office["intake"])
    first = the_case(app, "CB-1")
    assert client.get(f"/staff/cases/{first.id}").status_code == 200  # reading is not taking over
    assert kept_key(app, first.id)
    feed(tmp_path, "cheongbaek", alert(2, raised_at=(T0 + dt.timedelta(hours=1)).isoformat()))
    assert the_case(app, "CB-2").id == first.id and entries(app, first.id) == 2


def test_a_changed_idea_after_review_began_opens_a_follow_up_and_leaves_the_reviewed_case_alone(
    app, client, staff, office, feed, tmp_path
):
    proposal = {
        "proposal_id": "IDEA-1",
        "title": "Night-time card alerts",
        "proposal": "Warn the head of department before a corporate card is used after 23:00.",
        "submitted_at": "2026-05-02T09:40:00+09:00",
    }
    feed(tmp_path, "idea", proposal)
    first = the_case(app, "IDEA-1")
    staff.login(office["intake"])
    assert act(client, first.id, "transition", target="under_review") == 302
    assert not kept_key(app, first.id)
    before = entries(app, first.id)

    summary = feed(tmp_path, "idea", {**proposal, "proposal": "Warn before, and block after midnight."})
    assert (summary.updated, summary.linked) == (1, 1)
    follow_up = the_case(app, "IDEA-1")
    assert follow_up.id != first.id and follow_up.status == "received"
    assert entries(app, first.id) == before
    with app.app_context():
        link = get_session().scalars(select(CaseLink)).one()
        assert (link.from_case_id, link.to_case_id, link.relation) == (follow_up.id, first.id, "follow_up_of")


def test_a_changed_idea_before_review_is_added_to_its_case_and_shown_as_a_changed_version(
    app, client, staff, office, feed, tmp_path
):
    proposal = {
        "proposal_id": "IDEA-2",
        "title": "Permit deadlines online",
        "proposal": "Let applicants see every permit's deadline and any extension.",
        "submitted_at": "2026-05-03T14:05:00+09:00",
    }
    feed(tmp_path, "idea", proposal)
    feed(tmp_path, "idea", {**proposal, "proposal": "Let applicants see deadlines, extensions and their reasons."})
    case = the_case(app, "IDEA-2")
    assert entries(app, case.id) == 2
    staff.login(office["intake"])
    html = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "Changed version" in html and "extensions and their reasons" in html


def _take_over_in_another_session(app, case_id: int, actor_id: int) -> dict[str, object]:
    """Run a staff take-over of ``case_id`` on its own connection in a thread; returns its outcome holder."""
    from app.cases.handover import take_over
    from app.db import utcnow
    from app.models.staff import StaffUser

    outcome: dict[str, object] = {}

    def work() -> None:
        db = app.extensions["haechi.sessionmaker"]()
        try:
            case = db.get(Case, case_id)
            actor = db.get(StaffUser, actor_id)
            outcome["released"] = take_over(db, case, actor, utcnow(), "note")
            db.commit()
        except BaseException as exc:  # surfaced by the test, not swallowed
            outcome["error"] = exc
            db.rollback()
        finally:
            db.close()

    thread = threading.Thread(target=work)
    outcome["thread"] = thread
    thread.start()
    return outcome


def test_a_take_over_tried_while_a_batch_runs_waits_for_its_commit_so_no_entry_lands_after_it(
    app, office, feed, tmp_path, monkeypatch
):
    from monitoring_bridge.adapters.cheongbaek import CheongbaekAdapter

    feed(tmp_path, "cheongbaek", alert(1))
    first = the_case(app, "CB-1")
    prepare = CheongbaekAdapter.prepare
    seen: dict[str, object] = {}

    def prepare_then_take_over(self, ctx, records):
        prepare(self, ctx, records)
        if "outcome" not in seen:  # between this batch's reads and its writes
            outcome = _take_over_in_another_session(app, first.id, office["intake"].id)
            thread = outcome["thread"]
            assert isinstance(thread, threading.Thread)
            thread.join(timeout=1.5)
            seen["outcome"], seen["blocked"] = outcome, thread.is_alive()

    monkeypatch.setattr(CheongbaekAdapter, "prepare", prepare_then_take_over)
    feed(tmp_path, "cheongbaek", alert(2, raised_at=(T0 + dt.timedelta(hours=1)).isoformat()))
    outcome = seen["outcome"]
    assert isinstance(outcome, dict)
    thread = outcome["thread"]
    assert isinstance(thread, threading.Thread)
    thread.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    # The take-over could not commit inside the batch: it waited, then destroyed a key that still existed.
    assert seen["blocked"] is True
    assert outcome["released"] is True
    assert the_case(app, "CB-2").id == first.id and entries(app, first.id) == 2
    assert not kept_key(app, first.id)
    # From then on the bridge writes nothing into it: the next alert opens a new case linked to it.
    feed(tmp_path, "cheongbaek", alert(3, raised_at=(T0 + dt.timedelta(hours=2)).isoformat()))
    later = the_case(app, "CB-3")
    assert later.id != first.id and entries(app, first.id) == 2
    with app.app_context():
        links = get_session().scalars(select(CaseLink).where(CaseLink.from_case_id == later.id)).all()
        assert [(link.to_case_id, link.relation) for link in links] == [(first.id, "related")]


def test_a_take_over_committed_just_before_a_batch_starts_sends_its_alert_to_a_new_linked_case(
    app, office, feed, tmp_path, monkeypatch
):
    from monitoring_bridge import batch

    feed(tmp_path, "cheongbaek", alert(1))
    first = the_case(app, "CB-1")
    lock = batch.lock_batch
    done: list[bool] = []

    def take_over_then_lock(db):
        if not done:  # the import has read its known records; staff commit just before the batch locks
            outcome = _take_over_in_another_session(app, first.id, office["intake"].id)
            thread = outcome["thread"]
            assert isinstance(thread, threading.Thread)
            thread.join(timeout=60)
            assert outcome.get("released") is True, outcome.get("error")
            done.append(True)
        lock(db)

    monkeypatch.setattr(batch, "lock_batch", take_over_then_lock)
    summary = feed(tmp_path, "cheongbaek", alert(2, raised_at=(T0 + dt.timedelta(hours=1)).isoformat()))
    later = the_case(app, "CB-2")
    assert done and later.id != first.id and summary.linked >= 1
    assert entries(app, first.id) == 1
    with app.app_context():
        links = get_session().scalars(select(CaseLink).where(CaseLink.from_case_id == later.id)).all()
        assert [(link.to_case_id, link.relation) for link in links] == [(first.id, "related")]


def test_take_over_destroys_the_kept_key_once_and_reports_a_second_attempt_as_nothing_released(
    app, office, feed, tmp_path
):
    from app.cases.handover import take_over
    from app.db import utcnow
    from app.models.staff import StaffUser

    feed(tmp_path, "cheongbaek", alert(1))
    first = the_case(app, "CB-1")
    with app.app_context():
        db = get_session()
        case = db.get(Case, first.id)
        actor = db.get(StaffUser, office["intake"].id)
        assert take_over(db, case, actor, utcnow(), "note") is True
        assert take_over(db, case, actor, utcnow(), "note") is False
        db.commit()
        released = db.scalar(
            select(func.count()).where(AuditEvent.action == "bridge.case_key_released", AuditEvent.case_id == first.id)
        )
        assert released == 1
