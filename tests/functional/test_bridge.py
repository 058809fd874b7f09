"""The monitoring bridge end to end: Cheongbaek-e alerts in through files, CLI and signed HTTP batches."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cases.deadlines import local_today
from app.db import get_session, utcnow
from app.models.bridge import BridgeCaseKey, BridgeImport, BridgeRecord, BridgeSource, QuarantinedRecord
from app.models.cases import Case, CaseEntry, CaseLink, CaseStatus, Department
from app.runtime import get_secrets, get_settings
from monitoring_bridge import keyring
from monitoring_bridge.importer import import_file
from monitoring_bridge.payload import PayloadCipher

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
        "record_ref": f"VOUCHER-{n}",
        "raised_at": T0.isoformat(),
        "severity": 3,
    }
    rec.update(over)
    return {k: v for k, v in rec.items() if v is not None}


def jsonl(path: Path, records: list[dict[str, object]] | list[bytes]) -> Path:
    with path.open("wb") as fh:
        for r in records:
            fh.write(r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode() + b"\n")
    return path


@pytest.fixture
def source_key(app, office) -> bytes:
    """The cheongbaek source, added through the CLI; its signing key as printed once."""
    r = app.test_cli_runner().invoke(args=["bridge", "source", "add", "cheongbaek", "--kind", "cheongbaek"])
    assert r.exit_code == 0, r.output
    return bytes.fromhex(r.output.strip().splitlines()[-1])


def run_import(app, path: Path, **kw: object):
    with app.app_context():
        return import_file(get_session(), get_settings(), "cheongbaek", path, bridge_key=get_secrets().bridge_key, **kw)


def count(app, model) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model))


def snapshot(app, source: str = "cheongbaek") -> dict[str, object]:
    """Everything an import into one source decides, without random refs and keys."""
    with app.app_context():
        db = get_session()
        src = db.scalar(select(BridgeSource.id).where(BridgeSource.name == source))
        rows = db.execute(
            select(BridgeRecord.external_id, BridgeRecord.case_id, BridgeRecord.data_mac, BridgeRecord.payload_ct)
            .where(BridgeRecord.source_id == src)
            .order_by(BridgeRecord.external_id)
        ).all()
        # The data MAC is keyed per source, so two sources are compared on the data it vouches for.
        key = get_secrets().bridge_key
        payloads, record_mac = PayloadCipher(key, src), keyring.RecordMac(key, src)
        records = []
        for ext, cid, mac, ct in rows:
            data = payloads.decrypt(ext, ct)
            assert mac == record_mac(data)
            records.append((ext, cid, data))
        case_of = {ext: cid for ext, cid, _ in records}
        groups = sorted(sorted(e for e, c in case_of.items() if c == cid) for cid in set(case_of.values()))
        case_ids = select(Case.id).where(Case.source == source)
        return {
            "records": [(e, d) for e, _, d in records],
            "groups": groups,
            "cases": db.scalar(select(func.count()).where(Case.source == source)),
            "entries": db.scalar(select(func.count()).where(CaseEntry.case_id.in_(case_ids))),
            "links": db.scalar(select(func.count()).where(CaseLink.from_case_id.in_(case_ids))),
            "quarantine": sorted(db.scalars(select(QuarantinedRecord.error).where(QuarantinedRecord.source_id == src))),
        }


def test_valid_alerts_become_alert_cases_sealed_to_intake(app, source_key, tmp_path):
    summary = run_import(app, jsonl(tmp_path / "a.jsonl", [alert(1), alert(2, department="PERMITS")]))
    assert (summary.accepted, summary.quarantined) == (2, 0)
    with app.app_context():
        db = get_session()
        cases = list(db.scalars(select(Case).order_by(Case.id)))
        assert [(c.kind, c.status, c.severity, c.category) for c in cases] == [("alert", "raised", 3, "EH-017")] * 2
        assert all(c.next_due_on == local_today(utcnow()) + dt.timedelta(days=14) for c in cases)
        assert {g.grantee_kind for g in cases[0].grants} == {"team", "recovery"}
        body = cases[0].entries[0].body_ct
        assert body is not None and b"Kim Official" not in body and b"VOUCHER" not in body


def test_alerts_for_a_department_with_an_open_report_are_linked_to_it(app, source_key, tmp_path, reporter):
    with app.app_context():
        fin = get_session().scalar(select(Department.id).where(Department.code == "FIN"))
    reporter.submit_ok(department_id=str(fin))
    summary = run_import(app, jsonl(tmp_path / "a.jsonl", [alert(1), alert(2, department="PERMITS")]))
    assert summary.linked == 1
    with app.app_context():
        db = get_session()
        link = db.scalars(select(CaseLink)).one()
        assert link.relation == "alert_for"
        assert db.get(Case, link.to_case_id).kind == "report"


@pytest.mark.parametrize(
    ("offset", "same_case"), [(dt.timedelta(hours=72), True), (dt.timedelta(hours=72, seconds=1), False)]
)
def test_correlation_window_edges(app, source_key, tmp_path, offset, same_case):
    first = alert(1, record_ref="V-9")
    second = alert(2, record_ref="V-9", raised_at=(T0 + offset).isoformat())
    other_subject = alert(3, record_ref="V-10")
    run_import(app, jsonl(tmp_path / "a.jsonl", [first, second, other_subject]))
    with app.app_context():
        case_of = dict(get_session().execute(select(BridgeRecord.external_id, BridgeRecord.case_id)).all())
    assert (case_of["CB-1"] == case_of["CB-2"]) is same_case
    assert case_of["CB-3"] not in (case_of["CB-1"], case_of["CB-2"])
    if same_case:
        with app.app_context():
            assert len(get_session().get(Case, case_of["CB-1"]).entries) == 2  # the case lists every alert


@pytest.mark.parametrize("apart", [False, True], ids=["one file", "two files"])
@pytest.mark.parametrize(
    ("offset", "same_case"), [(dt.timedelta(hours=72), True), (dt.timedelta(hours=72, seconds=1), False)]
)
def test_correlation_does_not_depend_on_arrival_order(app, source_key, tmp_path, offset, same_case, apart):
    """An alert raised before one already imported joins its case when within the window, as in order."""
    later = alert(2, record_ref="V-9", raised_at=(T0 + offset).isoformat())
    earlier = alert(1, record_ref="V-9")
    if apart:
        run_import(app, jsonl(tmp_path / "a.jsonl", [later]))
        run_import(app, jsonl(tmp_path / "b.jsonl", [earlier]))
    else:
        run_import(app, jsonl(tmp_path / "a.jsonl", [later, earlier]))
    with app.app_context():
        case_of = dict(get_session().execute(select(BridgeRecord.external_id, BridgeRecord.case_id)).all())
        links = get_session().scalars(select(CaseLink)).all()
    assert (case_of["CB-1"] == case_of["CB-2"]) is same_case
    assert [link.relation for link in links] == []  # apart, the two cases are unrelated: outside the window


BAD = [
    (alert(1, system=None), "system: missing"),
    (alert(2, severity="high"), "severity: must be a whole number"),
    (alert(3, raised_at="2026-13-01T09:00:00+09:00"), "raised_at: not an ISO 8601 date and time"),
    (alert(4, raised_at="2026-03-01T09:00:00"), "raised_at: needs a UTC offset (e.g. +09:00)"),
    (alert(5, system="mainframe"), "system: unknown value"),
    (alert(6, department="NOPE"), "department: unknown department code"),
    (alert(7, severity=9), "severity: must be between 1 and 5"),
    (b'{"alert_id": "CB-8", "system": "e_h\xff\xfe"}\n', "_line: not valid UTF-8"),
    (b'{"alert_id": "CB-9", "scenario_id": "EH-0\n', "_line: truncated record"),
    (b'{"alert_id": "CB-10", ' + b'"x": "' + b"a" * 70_000 + b'"}\n', "_line: longer than 65536 bytes"),
    (b"[1, 2]\n", "_line: a record must be a JSON object"),
]


def test_each_bad_record_is_quarantined_with_its_field_and_reason(app, source_key, tmp_path):
    summary = run_import(app, jsonl(tmp_path / "bad.jsonl", [b for b, _ in BAD] + [alert(99)]))
    assert (summary.accepted, summary.quarantined) == (1, len(BAD))
    with app.app_context():
        errors = list(get_session().scalars(select(QuarantinedRecord.error).order_by(QuarantinedRecord.id)))
    for (_, expected), got in zip(BAD, errors, strict=True):
        assert got.startswith(expected), (expected, got)


def test_quarantined_raw_bytes_are_encrypted(app, source_key, tmp_path):
    run_import(app, jsonl(tmp_path / "bad.jsonl", [alert(1, system="mainframe", official="Secret Name")]))
    with app.app_context():
        q = get_session().scalars(select(QuarantinedRecord)).one()
        assert b"Secret Name" not in q.raw_ct and b"mainframe" not in q.raw_ct
        assert b"Secret Name" in keyring.decrypt_raw(get_secrets().bridge_key, q.source_id, q.raw_ct)
        for rec in get_session().scalars(select(BridgeRecord)):
            assert b"Secret Name" not in rec.payload_ct


def test_replay_is_idempotent_and_a_changed_record_is_an_audited_update(app, source_key, tmp_path):
    path = jsonl(tmp_path / "a.jsonl", [alert(1), alert(2), alert(3, system="bad")])
    run_import(app, path)
    before = snapshot(app)
    again = run_import(app, path)
    assert (again.accepted, again.duplicates, again.quarantined) == (0, 2, 0)
    assert snapshot(app) == before
    changed = run_import(app, jsonl(tmp_path / "b.jsonl", [alert(1, severity=5)]))
    assert (changed.updated, changed.accepted) == (1, 0)
    with app.app_context():
        db = get_session()
        from app.models.audit import AuditEvent

        assert db.scalar(select(func.count()).where(AuditEvent.action == "bridge.record_updated")) == 1
        rec = db.scalar(select(BridgeRecord).where(BridgeRecord.external_id == "CB-1"))
        case = db.get(Case, rec.case_id)
        assert case.severity == 5 and len(case.entries) == 2


def _feed(n: int) -> list[dict[str, object]]:
    out = []
    for i in range(n):
        if i % 7 == 3:
            out.append(alert(i, system="mainframe"))
        else:
            out.append(
                alert(
                    i, record_ref=f"V-{i % 5}", raised_at=(T0 + dt.timedelta(hours=i)).isoformat(), severity=1 + i % 5
                )
            )
    return out


def test_a_killed_import_resumes_to_the_state_of_an_uninterrupted_run(app, source_key, tmp_path):
    records = _feed(47)
    path = jsonl(tmp_path / "feed.jsonl", records)
    calls = {"n": 0}

    def crash(_: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # killed after two committed batches, before the third commits

    with pytest.raises(KeyboardInterrupt):
        run_import(app, path, progress=crash, batch_size=10)
    with app.app_context():
        job = get_session().scalars(select(BridgeImport)).one()
        assert job.status == "running" and 0 < job.position < path.stat().st_size
    resumed = run_import(app, path, batch_size=10)
    assert resumed.duplicates == 0  # nothing committed was done twice
    state_resumed = snapshot(app)

    # The same feed, uninterrupted, into a second source using the same adapter.
    cli = app.test_cli_runner()
    added = cli.invoke(
        args=["bridge", "source", "add", "cheongbaek2", "--kind", "cheongbaek", "--adapter", "cheongbaek"]
    )
    assert added.exit_code == 0, added.output
    with app.app_context():
        import_file(
            get_session(), get_settings(), "cheongbaek2", path, bridge_key=get_secrets().bridge_key, batch_size=10
        )
    assert snapshot(app, "cheongbaek2") == state_resumed
    assert state_resumed["quarantine"] and len(state_resumed["groups"]) < len(state_resumed["records"])


def test_quarantine_retry_after_fixing_and_discard(app, source_key, tmp_path):
    run_import(app, jsonl(tmp_path / "a.jsonl", [alert(1, department="NEW"), alert(2, system="x")]))
    cli = app.test_cli_runner()
    listing = cli.invoke(args=["bridge", "quarantine", "list"])
    assert "department: unknown department code" in listing.output and "2 record(s)" in listing.output
    with app.app_context():
        db = get_session()
        q1, q2 = db.scalars(select(QuarantinedRecord.id).order_by(QuarantinedRecord.id)).all()
    assert cli.invoke(args=["bridge", "quarantine", "retry", str(q1)]).exit_code == 1  # still unknown
    with app.app_context():
        db = get_session()
        db.add(Department(code="NEW", name_ko="신설과", name_en="New"))
        db.commit()
    r = cli.invoke(args=["bridge", "quarantine", "retry", str(q1)])
    assert r.exit_code == 0, r.output
    r = cli.invoke(args=["bridge", "quarantine", "discard", str(q2)])
    assert r.exit_code == 0, r.output
    assert "0 record(s)" in cli.invoke(args=["bridge", "quarantine", "list"]).output
    with app.app_context():
        db = get_session()
        assert db.scalar(select(func.count()).select_from(BridgeRecord)) == 1
        assert db.get(QuarantinedRecord, q2).raw_ct == b""


def test_cli_import_shows_a_summary_and_reads_csv(app, source_key, tmp_path):
    path = tmp_path / "alerts.csv"
    rows = [",".join(alert(0).keys())]
    for i in (1, 2):
        a = alert(i)
        rows.append(",".join(str(a[k]) for k in alert(0)))
    rows.append("CB-3,EH-017,name,e_hojo,FIN")  # truncated row
    path.write_text("\n".join(rows) + "\n")
    r = app.test_cli_runner().invoke(args=["bridge", "import", "cheongbaek", str(path)])
    assert r.exit_code == 0, r.output
    assert "accepted 2, updated 0, duplicates 0, linked 0, quarantined 1" in r.output


def test_source_key_is_stored_only_encrypted(app, source_key):
    from app.models.bridge import BridgeSource

    with app.app_context():
        src = get_session().scalars(select(BridgeSource)).one()
        assert src.hmac_key_ct is not None and source_key not in src.hmac_key_ct


def _post(client, key: bytes | None, body: bytes, ts: int | None = None, source: str = "cheongbaek"):
    stamp = str(int(time.time()) if ts is None else ts)
    headers = {"X-Haechi-Timestamp": stamp}
    if key is not None:
        headers["X-Haechi-Signature"] = keyring.signature(key, stamp, body)
    return client.post(f"/bridge/{source}", data=body, headers=headers, content_type="application/x-ndjson")


def test_signed_batch_is_imported_and_answered_with_a_summary(app, client, source_key):
    body = b"".join(json.dumps(a).encode() + b"\n" for a in (alert(1), alert(2, system="x")))
    r = _post(client, source_key, body)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json() == {"accepted": 1, "updated": 0, "duplicates": 0, "linked": 0, "quarantined": 1}
    # The same records sent again, signed anew (a source retrying): nothing changes.
    assert _post(client, source_key, body, ts=int(time.time()) + 1).get_json()["duplicates"] == 1


@pytest.mark.parametrize("case", ["missing", "wrong", "stale", "future", "unknown_source", "other_body"])
def test_unsigned_wrong_or_stale_requests_are_refused(app, client, source_key, case):
    body = json.dumps(alert(1)).encode() + b"\n"
    if case == "missing":
        r = _post(client, None, body)
    elif case == "wrong":
        r = _post(client, bytes(32), body)
    elif case == "stale":
        r = _post(client, source_key, body, ts=int(time.time()) - 301)
    elif case == "future":
        r = _post(client, source_key, body, ts=int(time.time()) + 305)  # 5 s of slack: the check runs later
    elif case == "unknown_source":
        r = _post(client, source_key, body, source="nosuch")
    else:
        stamp = str(int(time.time()))
        r = client.post(
            "/bridge/cheongbaek",
            data=body + b"\n",
            headers={"X-Haechi-Timestamp": stamp, "X-Haechi-Signature": keyring.signature(source_key, stamp, body)},
        )
    assert r.status_code == 401
    assert count(app, BridgeRecord) == 0


def test_a_request_replayed_inside_the_window_is_refused_and_cannot_roll_a_record_back(app, client, source_key):
    from app.models.bridge import FeedSignature

    stamp = int(time.time())
    old = json.dumps(alert(1, amount=1)).encode() + b"\n"
    new = json.dumps(alert(1, amount=2)).encode() + b"\n"
    assert _post(client, source_key, old, ts=stamp).status_code == 200
    assert _post(client, source_key, new, ts=stamp + 1).get_json()["updated"] == 1
    replay = _post(client, source_key, old, ts=stamp)  # the captured first request, sent again in time
    assert replay.status_code == 401 and replay.get_json() == {"error": "unauthorised"}
    assert _post(client, source_key, new, ts=stamp + 1).status_code == 401
    with app.app_context():
        db = get_session()
        payload = PayloadCipher(get_secrets().bridge_key, db.scalars(select(BridgeSource.id)).one())
        row = db.scalars(select(BridgeRecord)).one()
        assert json.loads(payload.decrypt(row.external_id, row.payload_ct))["amount"] == 2
        assert db.scalar(select(func.count()).select_from(FeedSignature)) == 2


def test_a_batch_that_failed_can_be_sent_again_and_old_signatures_are_forgotten(app, client, source_key, monkeypatch):
    from app.models.bridge import FeedSignature
    from monitoring_bridge import importer

    body = json.dumps(alert(1)).encode() + b"\n"
    stamp = int(time.time())
    real = importer._Run.process

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(importer._Run, "process", broken)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    assert _post(client, source_key, body, ts=stamp).status_code == 500
    monkeypatch.setattr(importer._Run, "process", real)
    assert _post(client, source_key, body, ts=stamp).get_json()["accepted"] == 1  # the same request, now imported
    with app.app_context():
        db = get_session()
        (kept,) = db.scalars(select(FeedSignature)).all()
        assert kept.expires_at == dt.datetime.fromtimestamp(stamp, dt.UTC) + dt.timedelta(
            seconds=get_settings().bridge_replay_seconds
        )
        kept.expires_at = utcnow() - dt.timedelta(seconds=1)  # its window has passed
        db.commit()
    assert _post(client, source_key, json.dumps(alert(2)).encode() + b"\n").status_code == 200
    with app.app_context():
        assert len(get_session().scalars(select(FeedSignature)).all()) == 1  # the expired one was deleted


def test_case_key_is_released_when_staff_take_over_and_later_alerts_open_a_linked_case(app, source_key, tmp_path):
    run_import(app, jsonl(tmp_path / "a.jsonl", [alert(1, record_ref="V")]))
    with app.app_context():
        db = get_session()
        case = db.scalars(select(Case)).one()
        case.status = CaseStatus.EXPLANATION_REQUESTED.value
        db.delete(db.get(BridgeCaseKey, case.id))
        db.commit()
    later = alert(2, record_ref="V", raised_at=(T0 + dt.timedelta(hours=1)).isoformat())
    summary = run_import(app, jsonl(tmp_path / "b.jsonl", [later]))
    assert summary.linked == 1
    with app.app_context():
        assert get_session().scalars(select(CaseLink)).one().relation == "related"


def test_the_demo_samples_load_once_and_again_change_nothing(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    first = runner.invoke(args=["bridge", "demo"])
    assert first.exit_code == 0, first.output
    assert "cheongbaek: accepted 4" in first.output and "quarantined 0" in first.output
    again = runner.invoke(args=["bridge", "demo"])
    assert "cheongbaek: accepted 0, updated 0, duplicates 4" in again.output


def test_an_alert_walks_from_raised_to_closed_and_its_explanation_deadline_ends_when_answered(
    app, source_key, tmp_path, staff, client, office
):
    import re

    from tests.functional.conftest import csrf_token

    run_import(app, jsonl(tmp_path / "a.jsonl", [alert(1)]))
    with app.app_context():
        case = get_session().query(Case).filter_by(kind="alert").one()
        assert case.status == "raised" and case.next_due_on is not None
        case_id = case.id
    staff.login(office["intake"])

    def move(target: str, **extra: str) -> int:
        html = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
        version = re.search(r'name="version" type="hidden" value="(\d+)"|name="version" value="(\d+)"', html)
        data = {"csrf_token": csrf_token(html), "target": target, "version": version.group(1) or version.group(2)}
        return client.post(f"/staff/cases/{case_id}/transition", data={**data, **extra}).status_code

    assert move("explanation_requested") == 302
    assert move("explained") == 400  # the department's explanation is the written record
    assert move("explained", reasons="The card was used for an emergency repair; receipts attached.") == 302
    with app.app_context():
        assert get_session().get(Case, case_id).next_due_on is None
    assert move("accepted") == 302
    assert move("closed") == 302
    with app.app_context():
        closed = get_session().get(Case, case_id)
        assert closed.status == "closed" and closed.retention_until is not None


def test_the_linked_system_of_an_alert_is_kept_in_plaintext_on_its_record_and_follows_an_update(
    app, source_key, tmp_path
):
    run_import(app, jsonl(tmp_path / "a.jsonl", [alert(1, system="local_tax"), alert(2, system="personnel")]))
    run_import(app, jsonl(tmp_path / "b.jsonl", [alert(2, system="non_tax")]))
    with app.app_context():
        kept = dict(get_session().execute(select(BridgeRecord.external_id, BridgeRecord.system)).all())
    assert kept == {"CB-1": "local_tax", "CB-2": "non_tax"}


def test_the_dashboard_names_exactly_the_systems_the_cheongbaek_adapter_accepts():
    from app.dashboards.panels import SYSTEM_LABELS
    from monitoring_bridge.adapters.cheongbaek import SYSTEMS

    assert set(SYSTEM_LABELS) == SYSTEMS


def test_an_alert_case_page_lists_every_correlated_alert_with_its_fields(
    app, source_key, tmp_path, staff, client, office
):
    later = (T0 + dt.timedelta(hours=5)).isoformat()
    run_import(
        app,
        jsonl(
            tmp_path / "a.jsonl",
            [alert(1, record_ref="V-9", contract="CT-2026-77"), alert(2, record_ref="V-9", raised_at=later, amount=5)],
        ),
    )
    with app.app_context():
        case_id = get_session().scalars(select(Case.id).where(Case.kind == "alert")).one()
    staff.login(office["intake"])
    html = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "2 records from the monitoring bridge" in html
    assert html.index("CB-1") < html.index("CB-2")  # oldest first
    for shown in ("Corporate card used late at night", "Kim Official", "120,000 won", "5 won", "CT-2026-77"):
        assert shown in html
    for label in ("Official handling the task", "Linked system", "Raised at", "Contract"):
        assert label in html
    # A report's empty web-report fields are not shown on an alert.
    assert "How do you know this?" not in html


def test_a_feed_record_is_escaped_on_the_case_page(app, source_key, tmp_path, staff, client, office):
    run_import(app, jsonl(tmp_path / "a.jsonl", [alert(1, official="<script>alert(1)</script>")]))
    with app.app_context():
        case_id = get_session().scalars(select(Case.id).where(Case.kind == "alert")).one()
    staff.login(office["intake"])
    html = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_import_file_is_recognised_by_a_keyed_fingerprint_not_its_plain_hash(app, source_key, tmp_path):
    import hashlib

    path = jsonl(tmp_path / "one.jsonl", [alert(1)])
    run_import(app, path)
    with app.app_context():
        [stored] = get_session().scalars(select(BridgeImport.file_sha256)).all()
    # A plain hash would let a database reader confirm a guessed small file.
    assert stored is not None and stored != hashlib.sha256(path.read_bytes()).digest()


def test_a_file_import_runs_with_the_bulk_sqlite_settings_and_restores_them(app, source_key, tmp_path, monkeypatch):
    """Every batch of a file import sees the larger cache and rarer checkpoints; afterwards they are back."""
    from monitoring_bridge import batch, importer

    seen: list[tuple[int, int]] = []
    process = importer._Run.process

    def watched(self, lines, job):
        conn = self.db.connection()
        seen.append(
            (
                conn.exec_driver_sql("PRAGMA cache_size").scalar_one(),
                conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one(),
            )
        )
        return process(self, lines, job)

    monkeypatch.setattr(importer._Run, "process", watched)
    with app.app_context():
        if get_session().get_bind().dialect.name != "sqlite":
            pytest.skip("SQLite settings")
        conn = get_session().connection()
        before = (
            conn.exec_driver_sql("PRAGMA cache_size").scalar_one(),
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one(),
        )
    run_import(app, jsonl(tmp_path / "feed.jsonl", _feed(25)), batch_size=10)
    assert seen == [(-batch.BULK_CACHE_KIB, batch.BULK_WAL_PAGES)] * 3
    with app.app_context():
        conn = get_session().connection()
        after = (
            conn.exec_driver_sql("PRAGMA cache_size").scalar_one(),
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one(),
        )
    assert after == before
