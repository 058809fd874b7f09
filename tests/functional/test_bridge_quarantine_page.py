"""The staff quarantine page: bad records per source with field and reason, retry and discard by form,
raw bytes only for a supervisor, decrypted and escaped, every step audited."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from app.db import get_session
from app.models.audit import AuditEvent
from app.models.bridge import BridgeRecord, QuarantinedRecord
from app.models.cases import Department
from app.models.staff import Role
from app.runtime import get_secrets, get_settings
from app.web.converters import MAX_ROW_ID as MAX_ID
from monitoring_bridge.importer import import_file

from .conftest import csrf_token

SECRET_NAME = "<script>alert('Park Secret')</script>"
URL = "/staff/bridge/quarantine/"


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
        "raised_at": "2026-03-02T09:00:00+09:00",
        "severity": 3,
    }
    rec.update(over)
    return {k: v for k, v in rec.items() if v is not None}


@pytest.fixture
def quarantined(app, office, tmp_path) -> dict[str, int]:
    """Three bad records: an unknown department (fixable), a wrong system naming someone, an oversized line."""
    for name in ("cheongbaek", "idea"):
        r = app.test_cli_runner().invoke(args=["bridge", "source", "add", name, "--kind", name])
        assert r.exit_code == 0, r.output
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        json.dumps(alert(1, department="NEWDEPT")).encode()
        + b"\n"
        + json.dumps(alert(2, system="mainframe", official=SECRET_NAME)).encode()
        + b"\n"
        + b'{"alert_id": "CB-3", "x": "'
        + b"a" * 70_000
        + b'"}\n'
    )
    idea = tmp_path / "idea.jsonl"
    idea.write_bytes(b'{"proposal_id": "IDEA-1", "title": "caf\xc3\x28"}\n')
    with app.app_context():
        db = get_session()
        import_file(db, get_settings(), "cheongbaek", path, bridge_key=get_secrets().bridge_key)
        import_file(db, get_settings(), "idea", idea, bridge_key=get_secrets().bridge_key)
        ids = list(db.scalars(select(QuarantinedRecord.id).order_by(QuarantinedRecord.id)))
    return dict(zip(["department", "system", "oversized", "encoding"], ids, strict=True))


@pytest.fixture
def admin(staff):
    return staff.create("bridge-admin", Role.ADMIN)


@pytest.fixture
def supervisor(staff):
    return staff.create("overseer", Role.SUPERVISOR)


def press(client, qid: int, button: str):
    html = client.get(URL).get_data(as_text=True)
    return client.post(f"{URL}{qid}/{button}", data={"csrf_token": csrf_token(html)})


def audit_rows(app, action: str) -> list[tuple[str, int | None, str | None]]:
    with app.app_context():
        rows = get_session().scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [(r.actor_kind, r.actor_user_id, r.target) for r in rows]


def test_the_page_lists_each_source_with_the_field_and_reason_but_never_the_content(
    app, client, staff, admin, quarantined
):
    staff.login(admin)
    r = client.get(URL)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.index(">cheongbaek</h2>") < html.index(">idea</h2>")  # grouped per source
    for field, reason in [
        ("department", "unknown department code"),
        ("system", "unknown value"),
        ("_line", "longer than 65536 bytes"),
        ("_line", "not valid UTF-8"),
    ]:
        assert re.search(rf"<code>{re.escape(field)}</code></td>\s*<td>{re.escape(reason)}", html), (field, reason)
    assert "Park Secret" not in html and "Kim Official" not in html
    assert f'href="{URL}{quarantined["system"]}"' not in html  # an admin gets no door to the raw bytes
    only_idea = client.get(URL, query_string={"source": "idea"}).get_data(as_text=True)
    assert "not valid UTF-8" in only_idea and "unknown department code" not in only_idea


def test_an_admin_cannot_open_raw_bytes_and_other_roles_cannot_see_the_page(app, client, staff, admin, quarantined):
    staff.login(admin)
    assert client.get(f"{URL}{quarantined['system']}").status_code == 403
    staff.logout()
    staff.login(staff.create("desk", Role.INTAKE))
    assert client.get(URL).status_code == 403
    assert press(client, quarantined["system"], "discard").status_code == 403


def test_a_supervisor_reads_the_raw_bytes_decrypted_escaped_and_audited(app, client, staff, supervisor, quarantined):
    staff.login(supervisor)
    html = client.get(f"{URL}{quarantined['system']}").get_data(as_text=True)
    assert "Park Secret" in html and "<script>alert(" not in html
    assert "&lt;script&gt;alert(" in html
    assert audit_rows(app, "bridge.quarantine_viewed") == [
        ("staff", supervisor.id, f"quarantined_record:{quarantined['system']}")
    ]
    broken = client.get(f"{URL}{quarantined['encoding']}").get_data(as_text=True)
    assert "caf\\xc3(" in broken  # the bad byte is shown as what it is
    assert "Nothing was kept" in client.get(f"{URL}{quarantined['oversized']}").get_data(as_text=True)


def test_retry_after_the_department_exists_imports_the_record_and_names_who_asked(
    app, client, staff, admin, quarantined
):
    staff.login(admin)
    qid = quarantined["department"]
    r = press(client, qid, "retry")
    assert r.status_code == 302
    assert "is still invalid: department: unknown department code" in client.get(URL).get_data(as_text=True)
    with app.app_context():
        db = get_session()
        db.add(Department(code="NEWDEPT", name_ko="신설과", name_en="New department"))
        db.commit()
    assert press(client, qid, "retry").status_code == 302
    assert f"Record {qid} was imported." in client.get(URL).get_data(as_text=True)
    with app.app_context():
        db = get_session()
        assert db.get(QuarantinedRecord, qid).resolved_at is not None
        assert db.scalar(select(BridgeRecord.external_id)) == "CB-1"
    target = f"quarantined_record:{qid}"
    assert audit_rows(app, "bridge.quarantine_retry_requested") == [("staff", admin.id, target)] * 2
    assert audit_rows(app, "bridge.quarantine_retried") == [("bridge", None, target)]
    assert press(client, qid, "retry").status_code == 404  # resolved records are not retried twice


def test_discard_erases_the_raw_bytes_and_names_who_asked(app, client, staff, supervisor, quarantined):
    staff.login(supervisor)
    qid = quarantined["system"]
    assert press(client, qid, "discard").status_code == 302
    with app.app_context():
        q = get_session().get(QuarantinedRecord, qid)
        assert q.resolved_at is not None and q.raw_ct == b""
    html = client.get(URL).get_data(as_text=True)
    assert f"Record {qid} was discarded" in html and "unknown value" not in html
    assert "unknown value" in client.get(URL, query_string={"all": "1"}).get_data(as_text=True)
    assert audit_rows(app, "bridge.quarantine_discard_requested") == [
        ("staff", supervisor.id, f"quarantined_record:{qid}")
    ]


def test_an_oversized_record_is_not_retried_into_a_misleading_error(app, client, staff, admin, quarantined):
    staff.login(admin)
    qid = quarantined["oversized"]
    assert press(client, qid, "retry").status_code == 400
    with app.app_context():
        assert get_session().get(QuarantinedRecord, qid).error.startswith("_line: longer than 65536 bytes")


def test_buttons_without_a_csrf_token_change_nothing(app, client, staff, admin, quarantined):
    staff.login(admin)
    qid = quarantined["system"]
    assert client.post(f"{URL}{qid}/discard").status_code == 400
    with app.app_context():
        assert get_session().get(QuarantinedRecord, qid).resolved_at is None


def test_the_cli_works_through_the_same_service_and_is_audited_as_the_command_line(app, quarantined):
    cli = app.test_cli_runner()
    listing = cli.invoke(args=["bridge", "quarantine", "list", "--source", "idea"])
    assert "_line: not valid UTF-8" in listing.output and "1 record(s)" in listing.output
    r = cli.invoke(args=["bridge", "quarantine", "discard", str(quarantined["encoding"])])
    assert r.exit_code == 0, r.output
    assert audit_rows(app, "bridge.quarantine_discard_requested") == [
        ("system", None, f"quarantined_record:{quarantined['encoding']}")
    ]
    assert cli.invoke(args=["bridge", "quarantine", "retry", str(quarantined["oversized"])]).exit_code == 1


def test_the_page_is_in_korean_by_default(app, staff, admin, quarantined):
    from tests.functional.conftest import StaffAuth

    korean = StaffAuth.__new__(StaffAuth)
    korean.__dict__.update(staff.__dict__)
    korean.client = app.test_client()
    korean.login(admin)
    html = korean.client.get(URL).get_data(as_text=True)
    assert "<h1>브리지 격리 기록</h1>" in html and "다시 시도" in html and "폐기" in html


def test_filtering_on_a_source_that_does_not_exist_is_not_found(app, client, staff, admin, quarantined):
    staff.login(admin)
    assert client.get(URL, query_string={"source": "nosuch"}).status_code == 404


TOO_BIG = str(MAX_ID + 1)  # one past the largest id the column holds (32-bit on PostgreSQL)


@pytest.mark.parametrize("qid", [TOO_BIG, str(2**63), "99999999999999999999", "9" * 5000, "0"])
def test_an_id_no_row_can_have_is_not_found_on_every_route(app, client, staff, supervisor, quarantined, qid):
    """Such ids reached the database driver (OverflowError, "integer out of range": a 500); the route refuses them."""
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    staff.login(supervisor)
    assert client.get(f"{URL}{qid}").status_code == 404
    token = csrf_token(client.get(URL).get_data(as_text=True))
    for button in ("retry", "discard"):
        assert client.post(f"{URL}{qid}/{button}", data={"csrf_token": token}).status_code == 404
    assert client.get(f"{URL}{MAX_ID}").status_code == 404  # the largest id is a valid, absent one


@pytest.mark.parametrize("command", ["retry", "discard"])
@pytest.mark.parametrize("qid", [TOO_BIG, "99999999999999999999", "0"])
def test_the_cli_refuses_an_id_no_row_can_have_as_a_usage_error(app, quarantined, command, qid):
    r = app.test_cli_runner().invoke(args=["bridge", "quarantine", command, "--", qid])
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Invalid value for 'QID'" in r.output and "Traceback" not in r.output
    biggest = app.test_cli_runner().invoke(args=["bridge", "quarantine", command, str(MAX_ID)])
    assert biggest.exit_code == 1 and f"no open quarantined record {MAX_ID}" in biggest.output
