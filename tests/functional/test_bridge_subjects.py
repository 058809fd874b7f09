"""Officials and contracts a case concerns: alert links by blind index, the training flag, training cases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db import get_session
from app.models.audit import AuditEvent
from app.models.bridge import BridgeCaseKey, BridgeRecord
from app.models.cases import Case, CaseEntry, CaseLink, Department
from app.models.subjects import CaseSubject
from app.runtime import get_secrets, get_settings
from monitoring_bridge import subjects
from monitoring_bridge.importer import import_file
from tests.functional.conftest import csrf_token
from tests.functional.test_bridge import alert, jsonl

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))


@pytest.fixture
def sources(app, office) -> None:
    runner = app.test_cli_runner()
    for name in ("cheongbaek", "training"):
        r = runner.invoke(args=["bridge", "source", "add", name, "--kind", name])
        assert r.exit_code == 0, r.output


def run(app, source: str, path: Path, **kw: object):
    with app.app_context():
        return import_file(get_session(), get_settings(), source, path, bridge_key=get_secrets().bridge_key, **kw)


def report_in(app, reporter, department: str) -> int:
    with app.app_context():
        dept = get_session().scalar(select(Department.id).where(Department.code == department))
    reporter.submit_ok(department_id=str(dept))
    with app.app_context():
        return get_session().scalar(select(Case.id).where(Case.kind == "report").order_by(Case.id.desc()))


def name_on_case(staff, case_id: int, kind: str, value: str):
    page = staff.client.get(f"/staff/cases/{case_id}/subjects")
    assert page.status_code == 200
    return staff.client.post(
        f"/staff/cases/{case_id}/subjects",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "kind": kind, "value": value},
    )


def test_staff_name_officials_and_contracts_stored_only_as_blind_index_and_ciphertext(
    app, sources, office, staff, reporter
):
    report = report_in(app, reporter, "PERMITS")
    staff.english()
    staff.login(office["intake"])
    assert name_on_case(staff, report, "official", "Park  Ji-hoon").status_code == 303
    assert name_on_case(staff, report, "contract", "2026-계약-0012").status_code == 303
    name_on_case(staff, report, "official", "park ji-hoon")  # the same official, written differently
    html = staff.client.get(f"/staff/cases/{report}/subjects").get_data(as_text=True)
    assert "Park  Ji-hoon" in html and "2026-계약-0012" in html
    with app.app_context():
        db = get_session()
        rows = db.scalars(select(CaseSubject).where(CaseSubject.case_id == report).order_by(CaseSubject.id)).all()
        key = get_secrets().bridge_key
        assert [(r.kind, r.blind_index) for r in rows] == [
            ("official", subjects.official_index(key, "PARK JI-HOON")),
            ("contract", subjects.contract_index(key, "2026 계약 0012")),
        ]
        for r in rows:
            assert b"Park" not in r.value_ct and "계약".encode() not in r.value_ct
        assert db.scalar(select(func.count()).where(AuditEvent.action == "case.subject_added")) == 2


def test_an_unauthorised_or_unknown_case_subject_page_is_404(app, sources, office, staff, reporter):
    from app.models.staff import Role

    report = report_in(app, reporter, "PERMITS")
    outsider = staff.create("outsider", Role.INVESTIGATOR)  # in no team: holds no grant of the report
    staff.login(outsider)
    assert staff.client.get(f"/staff/cases/{report}/subjects").status_code == 404
    assert staff.client.get("/staff/cases/9999/subjects").status_code == 404


def test_alerts_naming_a_reports_official_or_contract_are_linked_to_it(app, sources, office, staff, reporter, tmp_path):
    report = report_in(app, reporter, "PERMITS")  # another department: no department link
    staff.login(office["intake"])
    name_on_case(staff, report, "official", "Park Ji-hoon")
    name_on_case(staff, report, "contract", "C-77")
    feed = [
        alert(1, official="PARK ji-hoon"),  # the official, written differently
        alert(2, official="Lee Other", contract="c 77"),  # the contract
        alert(3, official="Lee Other", record_ref="V-3"),  # neither
        alert(4, official="Park Ji-hoon", record_ref="V-3"),  # joins 3's case, which then concerns the report
        alert(5, official="Park Ji-hoon", record_ref="V-3"),  # the same again: linked once
    ]
    summary = run(app, "cheongbaek", jsonl(tmp_path / "a.jsonl", feed))
    assert summary.linked == 3
    with app.app_context():
        db = get_session()
        case_of = dict(db.execute(select(BridgeRecord.external_id, BridgeRecord.case_id)).all())
        links = set(db.execute(select(CaseLink.from_case_id, CaseLink.to_case_id, CaseLink.relation)).all())
        assert case_of["CB-3"] == case_of["CB-4"] == case_of["CB-5"]
        assert links == {
            (case_of["CB-1"], report, "alert_for"),
            (case_of["CB-2"], report, "alert_for"),
            (case_of["CB-3"], report, "alert_for"),
        }
    later = alert(6, official="Park Ji-hoon", record_ref="V-3")
    again = run(app, "cheongbaek", jsonl(tmp_path / "b.jsonl", [later]))
    assert again.linked == 0  # that case already links to the report


def test_alert_records_keep_the_officials_blind_index_not_the_name(app, sources, tmp_path):
    run(app, "cheongbaek", jsonl(tmp_path / "a.jsonl", [alert(1, official="Kim Official", contract="C-1")]))
    with app.app_context():
        rec = get_session().scalars(select(BridgeRecord)).one()
        assert rec.official_index == subjects.official_index(get_secrets().bridge_key, "kim official")
        assert b"Kim" not in rec.payload_ct and b"C-1" not in rec.payload_ct


def training(n: int, official: str, department: str = "FIN", done: str | None = None, mandatory: bool = True):
    rec = {
        "record_id": f"EDU-{n}",
        "course": "2026 청렴교육",
        "official": official,
        "department": department,
        "mandatory": mandatory,
    }
    if done:
        rec["completed_on"] = done
    return rec


def test_an_official_named_in_an_open_case_without_mandatory_training_is_flagged_on_it(
    app, sources, office, staff, reporter, tmp_path
):
    run(
        app,
        "training",
        jsonl(
            tmp_path / "t.jsonl",
            [
                training(1, "Park Ji-hoon"),  # mandatory, not completed
                training(2, "Kim Official", done="2026-02-01"),
                training(3, "Choi Optional", mandatory=False),  # only an optional course missing
            ],
        ),
    )
    run(
        app,
        "cheongbaek",
        jsonl(tmp_path / "a.jsonl", [alert(1, official="park ji-hoon"), alert(2, official="Kim Official")]),
    )
    report = report_in(app, reporter, "PERMITS")
    with app.app_context():
        db = get_session()
        case_of = dict(db.execute(select(BridgeRecord.external_id, BridgeRecord.case_id)).all())
    staff.english()
    staff.login(office["intake"])
    name_on_case(staff, report, "official", "Choi Optional")
    flag = "official(s) named in this case have not completed mandatory transparency training"
    flagged = staff.client.get(f"/staff/cases/{case_of['CB-1']}").get_data(as_text=True)
    assert f"1 {flag}" in flagged
    assert flag not in staff.client.get(f"/staff/cases/{case_of['CB-2']}").get_data(as_text=True)
    assert flag not in staff.client.get(f"/staff/cases/{report}").get_data(as_text=True)
    name_on_case(staff, report, "official", "Park Ji-hoon")
    page = staff.client.get(f"/staff/cases/{report}/subjects").get_data(as_text=True)
    assert f"1 {flag}" in page and "Mandatory training not completed" in page
    with app.app_context():
        closed = get_session().get(Case, case_of["CB-1"])
        closed.status = "closed"
        get_session().commit()
    assert flag not in staff.client.get(f"/staff/cases/{case_of['CB-1']}").get_data(as_text=True)


def test_naming_a_subject_on_a_bridge_case_takes_it_over(app, sources, office, staff, tmp_path):
    run(app, "cheongbaek", jsonl(tmp_path / "a.jsonl", [alert(1, record_ref="V")]))
    with app.app_context():
        case_id = get_session().scalars(select(Case.id)).one()
    staff.login(office["intake"])
    name_on_case(staff, case_id, "official", "Someone")
    with app.app_context():
        assert get_session().get(BridgeCaseKey, case_id) is None  # staff content now sits under the key
    later = alert(2, record_ref="V", raised_at=(T0 + dt.timedelta(hours=1)).isoformat())
    assert run(app, "cheongbaek", jsonl(tmp_path / "b.jsonl", [later])).linked == 1  # a new, related case


def _training_feed(tmp_path: Path, completed: int, missing: int, name: str = "t.jsonl") -> Path:
    records = [
        training(i, f"Official {i}", done="2026-02-01" if i < completed else None) for i in range(completed + missing)
    ]
    records.append(training(999, "Someone Else", department="PERMITS", done="2026-02-01"))
    return jsonl(tmp_path / name, records)


def _training_state(app) -> tuple[list[tuple[str, int | None]], int]:
    with app.app_context():
        db = get_session()
        cases = db.execute(select(Case.kind, Case.department_id).where(Case.kind == "training")).all()
        entries = db.scalar(
            select(func.count()).where(CaseEntry.case_id.in_(select(Case.id).where(Case.kind == "training")))
        )
        return [tuple(c) for c in cases], entries


def test_a_training_import_opens_one_case_per_department_far_below_target_and_a_reimport_changes_nothing(
    app, sources, tmp_path
):
    path = _training_feed(tmp_path, completed=2, missing=6)
    run(app, "training", path)
    cases, entries = _training_state(app)
    with app.app_context():
        fin = get_session().scalar(select(Department.id).where(Department.code == "FIN"))
    assert cases == [("training", fin)] and entries == 1  # PERMITS (1 of 1) is not judged
    run(app, "training", path)
    assert _training_state(app) == (cases, entries)
    run(app, "training", _training_feed(tmp_path, completed=3, missing=5, name="t2.jsonl"))  # one more completed
    assert _training_state(app) == (cases, entries + 1)  # the same case, updated with the new rate


def test_a_killed_training_import_resumes_to_the_state_of_an_uninterrupted_run(app, sources, tmp_path):
    path = _training_feed(tmp_path, completed=1, missing=20)
    calls = {"n": 0}

    def crash(_: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(app, "training", path, progress=crash, batch_size=5)
    assert _training_state(app) == ([], 0)  # judged only at the end
    run(app, "training", path, batch_size=5)
    cases, entries = _training_state(app)
    assert len(cases) == 1 and entries == 1


def test_a_record_changed_within_one_file_is_one_accepted_and_one_audited_update(app, sources, tmp_path):
    summary = run(app, "cheongbaek", jsonl(tmp_path / "a.jsonl", [alert(1), alert(2), alert(1, severity=5)]))
    assert (summary.accepted, summary.updated, summary.duplicates) == (2, 1, 0)
    with app.app_context():
        db = get_session()
        rec = db.scalar(select(BridgeRecord).where(BridgeRecord.external_id == "CB-1"))
        case = db.get(Case, rec.case_id)
        assert case.severity == 5 and len(case.entries) == 2
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "bridge.record_updated")).all()
        assert event.target == f"bridge_record:{rec.id}"


def test_the_case_entry_lists_the_alert_as_its_json(app, sources, office, tmp_path):
    from app.reporting.service import case_cipher, entry_purpose
    from monitoring_bridge import keyring

    run(app, "cheongbaek", jsonl(tmp_path / "a.jsonl", [alert(1, official="김 공직자")]))
    with app.app_context():
        db = get_session()
        case = db.scalars(select(Case)).one()
        wrapped = db.get(BridgeCaseKey, case.id).key_ct  # kept while the case is still raised
        case_key = keyring.unwrap_case_key(get_secrets().bridge_key, case.id, wrapped)
        body = case_cipher(case, case_key).decrypt(entry_purpose("report"), case.entries[0].body_ct)
    expected = {**alert(1, official="김 공직자"), "raised_at": "2026-03-02T00:00:00+00:00"}
    assert json.loads(body) == expected


def test_naming_an_official_or_contract_later_links_the_open_alerts_about_it_once_both_ways_and_audited(
    app, sources, office, staff, reporter, tmp_path
):
    feed = [
        alert(1, official="Park Ji-hoon"),  # the official
        alert(2, official="Lee Other", contract="C-77", record_ref="V-2"),  # the contract
        alert(3, official="Lee Other", record_ref="V-3"),  # neither
    ]
    run(app, "cheongbaek", jsonl(tmp_path / "a.jsonl", feed))
    report = report_in(app, reporter, "PERMITS")  # another department: no department link
    with app.app_context():
        db = get_session()
        case_of = dict(db.execute(select(BridgeRecord.external_id, BridgeRecord.case_id)).all())
        assert db.scalar(select(func.count()).select_from(CaseLink)) == 0  # nothing named yet, nothing linked
        kept_contract = db.scalar(select(BridgeRecord.contract_index).where(BridgeRecord.external_id == "CB-2"))
        assert kept_contract == subjects.contract_index(get_secrets().bridge_key, "c 77")
    staff.english()
    staff.login(office["intake"])
    assert name_on_case(staff, report, "official", "PARK  ji-hoon").status_code == 303  # written differently
    assert name_on_case(staff, report, "contract", "c-77").status_code == 303
    name_on_case(staff, report, "official", "Park Ji-hoon")  # named again: no second link
    with app.app_context():
        db = get_session()
        links = db.execute(select(CaseLink.from_case_id, CaseLink.to_case_id, CaseLink.relation)).all()
        assert sorted(links) == sorted([(case_of["CB-1"], report, "alert_for"), (case_of["CB-2"], report, "alert_for")])
        audited = db.execute(
            select(AuditEvent.case_id, AuditEvent.target, AuditEvent.actor_user_id).where(
                AuditEvent.action == "case.linked"
            )
        ).all()
        assert sorted(audited) == sorted(
            [
                (case_of["CB-1"], f"case:{report}:alert_for", office["intake"].id),
                (case_of["CB-2"], f"case:{report}:alert_for", office["intake"].id),
            ]
        )
        refs = dict(db.execute(select(Case.id, Case.public_ref)).all())
    report_page = staff.client.get(f"/staff/cases/{report}").get_data(as_text=True)
    assert refs[case_of["CB-1"]] in report_page and refs[case_of["CB-2"]] in report_page
    assert refs[case_of["CB-3"]] not in report_page
    alert_page = staff.client.get(f"/staff/cases/{case_of['CB-1']}").get_data(as_text=True)
    assert refs[report] in alert_page


def test_a_subject_named_on_a_closed_report_or_matching_only_a_closed_alert_links_nothing(
    app, sources, office, staff, reporter, tmp_path
):
    run(app, "cheongbaek", jsonl(tmp_path / "a.jsonl", [alert(1, official="Park Ji-hoon")]))
    report = report_in(app, reporter, "PERMITS")
    with app.app_context():
        db = get_session()
        alert_case = db.scalar(select(BridgeRecord.case_id))
        db.get(Case, alert_case).status = "closed"
        db.commit()
    staff.login(office["intake"])
    assert name_on_case(staff, report, "official", "Park Ji-hoon").status_code == 303
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(CaseLink)) == 0
