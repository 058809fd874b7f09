"""The whole reporter journey with canaries, then every byte the app wrote is searched for them.

Canaries go into every text field, the identity, file names and file
contents (one file of several MiB, canaries on chunk boundaries), messages
both ways and a file added later. Afterwards no canary may appear in the
database (SQLite file with its WAL; a PostgreSQL dump), the blob folder, the
instance folder, the logs or the temporary directory, and no temporary file
may have been opened at all while the app handled the requests.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.db import get_session
from app.models.cases import Attachment, Case
from crypto.stream import DEFAULT_CHUNK_SIZE

from .conftest import csrf_token

CANARIES = {
    "what": "CANARY-WHAT-a91f then some words to pass the length check",
    "when_where": "CANARY-WHEN-b27c",
    "who": "CANARY-WHO-c38d",
    "name": "CANARY-NAME-d49e",
    "employee_number": "CANARY-EMP-e5a",
    "contact": "canary-contact-f6b1@example.org",
    "file_name": "CANARY-FILENAME-1a2b.pdf",
    "file_body": "CANARY-FILEBODY-3c4d",
    "message_in": "CANARY-MSGIN-5e6f",
    "message_out": "CANARY-MSGOUT-7a8b",
    "later_name": "CANARY-LATERNAME-9c0d.txt",
    "later_body": "CANARY-LATERBODY-0e1f",
    "checkin_text": "CANARY-CHECKIN-2b3c",
    "retaliation": "CANARY-RETALIATION-4d5e",
    # staff side, identity disclosure, support, bridge (the features beyond the reporter's journey)
    "note": "CANARY-NOTE-6f70",
    "id_request": "CANARY-IDREQ-8192",
    "id_decision": "CANARY-IDDEC-a3b4",
    "support_details": "CANARY-SUPPORT-c5d6",
    "receipt_name": "CANARY-RCPTNAME-e7f8.txt",
    "receipt_body": "CANARY-RCPTBODY-0a1b",
    "subject": "CANARY-SUBJECT-2c3d",
    "bridge_official": "CANARY-OFFICIAL-4e5f",
    "bridge_detail": "CANARY-PERSDETAIL-6a7b",
    "bridge_trainee": "CANARY-TRAINEE-8c9d",
    "bridge_finding": "CANARY-FINDING-0e1f",
    "bridge_supporter": "CANARY-SUPPORTER-2a3b",
    "idea_title": "CANARY-IDEATITLE-4c5d",
    "idea_proposal": "CANARY-IDEABODY-6e7f",
    "idea_contact": "canary-proposer-8a9b@example.org",
    "quarantined": "CANARY-QUARANTINE-0c1d",
}
# The distinctive part of each canary (what must never be found).
NEEDLES = [v.split(" ")[0].split("@")[0].removesuffix(".pdf").removesuffix(".txt") for v in CANARIES.values()]


def _big_file() -> bytes:
    """About 3 MiB with the canary at the start, across every chunk boundary, and at the end."""
    size = 3 * 1024 * 1024 + 123
    data = bytearray(os.urandom(size))
    marker = CANARIES["file_body"].encode()
    for at in [0, *range(DEFAULT_CHUNK_SIZE - 7, size - len(marker), DEFAULT_CHUNK_SIZE), size - len(marker)]:
        data[at : at + len(marker)] = marker
    return bytes(data)


@pytest.fixture
def all_logs(tmp_path):
    """Every log record of every logger, at DEBUG, into a file that the sweep searches."""
    path = tmp_path / "all.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # statements and parameters too
    yield path
    root.removeHandler(handler)
    root.setLevel(old)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    handler.close()


def _pg_dump(database_url: str) -> bytes:
    query = parse_qs(urlsplit(database_url).query)
    schema = query["options"][0].split("search_path=")[1]
    return subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-n", schema], check=True, capture_output=True
    ).stdout


def _sweep(blobs: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
    found = []
    for where, data in blobs:
        for needle in NEEDLES:
            for form in (needle.encode(), needle.encode().hex().encode(), needle.lower().encode()):
                if form in data:
                    found.append((where, needle))
    return found


def _files_under(*roots: Path) -> list[tuple[str, bytes]]:
    out = []
    for root in roots:
        if root.is_file():
            out.append((str(root), root.read_bytes()))
        elif root.is_dir():
            for path in root.rglob("*"):
                if path.is_file():
                    out.append((str(path), path.read_bytes()))
    return out


def test_no_canary_in_anything_the_app_wrote(
    app, office, reporter, staff, client, test_settings, tmp_path, all_logs, monkeypatch
):
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    big = _big_file()

    # -- the reporter submits, with no temporary file allowed anywhere --
    with pytest.MonkeyPatch.context() as mp:
        for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp"):
            mp.setattr(tempfile, name, lambda *a, **k: pytest.fail("a temporary file was opened"))
        receipt = reporter.submit_ok(
            files=[(io.BytesIO(big), CANARIES["file_name"])],
            what=CANARIES["what"],
            when_where=CANARIES["when_where"],
            who=CANARIES["who"],
            name=CANARIES["name"],
            employee_number=CANARIES["employee_number"],
            contact=CANARIES["contact"],
            public_officer="yes",
        )
        spaced = receipt.replace("-", " ")
        assert reporter.login(f" {spaced[:9]}-{spaced[9:]} ").status_code == 303
        html = reporter.client.get("/receipt/inbox").get_data(as_text=True)
        assert CANARIES["what"] in html and CANARIES["file_name"] in html

        # -- staff reads it and replies --
        staff.login(office["intake"])
        with app.app_context():
            case = get_session().query(Case).one()
            case_id = case.id
        page = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
        assert CANARIES["who"] in page and "CANARY-NAME" not in page  # identity is for protection only
        r = client.post(
            f"/staff/cases/{case_id}/messages", data={"csrf_token": csrf_token(page), "body": CANARIES["message_out"]}
        )
        assert r.status_code == 302

        # -- the reporter reads the reply, answers and adds a file --
        assert CANARIES["message_out"] in reporter.client.get("/receipt/inbox").get_data(as_text=True)
        later = CANARIES["later_body"].encode() * 10
        assert (
            reporter.send(CANARIES["message_in"], files=[(io.BytesIO(later), CANARIES["later_name"])]).status_code
            == 303
        )
        inbox = reporter.client.get("/receipt/inbox").get_data(as_text=True)
        assert CANARIES["message_in"] in inbox and CANARIES["later_name"] in inbox

        # -- the protected reporter answers a check-in and reports retaliation (issue 8) --
        from sqlalchemy import select

        from app.cases.deadlines import local_today
        from app.db import utcnow
        from app.models.protection import CheckIn

        with app.app_context():
            db = get_session()
            first = db.scalar(select(CheckIn).order_by(CheckIn.due_on))  # the employee number made them protected
            first.due_on = local_today(utcnow())
            db.commit()
            check_in_id = first.id
        page = reporter.client.get("/receipt/check-ins").get_data(as_text=True)
        r = reporter.post_multipart(
            "/receipt/check-ins",
            {
                "csrf_token": csrf_token(page),
                "check_in": str(check_in_id),
                "answer": "concern",
                "text": CANARIES["checkin_text"],
            },
        )
        assert r.status_code == 303
        page = reporter.client.get("/receipt/retaliation").get_data(as_text=True)
        r = reporter.post_multipart(
            "/receipt/retaliation", {"csrf_token": csrf_token(page), "what": CANARIES["retaliation"]}
        )
        assert r.status_code == 303

        # -- support with a receipt, staff notes and subjects, identity disclosure, bridge records --
        _support_notes_identity_and_bridge(app, staff, client, reporter, office, case_id)

        # -- both sides download and get the exact bytes back --
        with app.app_context():
            atts = {a.size_bytes: a.id for a in get_session().query(Attachment)}
        staff_copy = client.get(f"/staff/cases/{case_id}/files/{atts[len(big)]}")
        assert staff_copy.status_code == 200 and staff_copy.get_data() == big
        assert "attachment" in staff_copy.headers["Content-Disposition"]
        mine = reporter.client.get(f"/receipt/files/{atts[len(later)]}")
        assert mine.get_data() == later

    # -- sweep: every byte written --
    written = _files_under(test_settings.instance_path, all_logs, tmp)
    if test_settings.database_url.startswith("sqlite"):
        db_path = Path(test_settings.database_url.removeprefix("sqlite:///"))
        written += _files_under(db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"))
        assert Path(f"{db_path}-wal").exists()
    else:
        written.append(("pg_dump", _pg_dump(test_settings.database_url)))
    assert len([w for w in written if "/blobs/" in w[0]]) == 3  # two report files and a support receipt
    assert sum(len(d) for _w, d in written) > len(big)
    assert _sweep(written) == []


def _support_notes_identity_and_bridge(app, staff, client, reporter, office, case_id: int) -> None:
    """Every feature past the reporter's journey, each fed canaries (issue 10).

    Support request with a receipt file; routing to legal, investigation and a
    supervisor; a staff note and a named subject; the identity disclosure
    (request with a reason, supervisor's decision, custodian's release, the
    investigator reading it); the PDF support file; bridge records of every
    source, the personnel event naming the protected reporter's employee
    number (a retaliation alert), and a quarantined record of each source.
    """
    import json
    import time

    from app.models.staff import Role, TeamKind
    from monitoring_bridge import keyring

    from .test_case_workflow import _act, _as

    page = reporter.client.get("/receipt/support/").get_data(as_text=True)
    r = reporter.post_multipart(
        "/receipt/support/",
        {
            "csrf_token": csrf_token(page),
            "type": "relief_medical",
            "amount_requested": "300000",
            "details": CANARIES["support_details"],
        },
        files=[(io.BytesIO(CANARIES["receipt_body"].encode() * 5), CANARIES["receipt_name"])],
    )
    assert r.status_code == 303, r.status_code

    legal, supervisor = staff.create("legal-c", Role.LEGAL), staff.create("super-c", Role.SUPERVISOR)
    legal_team = staff.team("legal", TeamKind.LEGAL, legal)
    _as(staff, client, office["intake"])
    assert _act(staff, client, case_id, "transition", target="acknowledged").status_code == 302
    assert _act(staff, client, case_id, "transition", target="triage").status_code == 302
    for data in ({"team_id": str(legal_team)}, {"user_id": str(supervisor.id)}):
        assert _act(staff, client, case_id, "assign", **data).status_code == 302
    assert _act(staff, client, case_id, "notes", body=CANARIES["note"]).status_code == 302
    assert _act(staff, client, case_id, "subjects", kind="official", value=CANARIES["subject"]).status_code in (
        302,
        303,
    )
    base = f"/staff/cases/{case_id}/identity"
    assert staff.post(f"{base}/request", {"reason": CANARIES["id_request"]}, page=base).status_code == 303
    _as(staff, client, supervisor)
    decided = staff.post(
        f"{base}/1/decide",
        {"r1-decision": "approve", "r1-reason": CANARIES["id_decision"], "r1-jeopardy": ""},
        page=base,
    )
    assert decided.status_code == 303
    _as(staff, client, office["protector"])
    assert staff.post(f"{base}/1/release", page=base).status_code == 303
    _as(staff, client, office["intake"])
    shown = client.get(f"{base}/view").get_data(as_text=True)
    assert CANARIES["name"] in shown and CANARIES["employee_number"] in shown

    _as(staff, client, legal)
    form = client.get(f"/staff/cases/{case_id}/support-file").get_data(as_text=True)
    pdf = client.post(f"/staff/cases/{case_id}/support-file", data={"csrf_token": csrf_token(form), "language": "en"})
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF")

    records = {
        "cheongbaek": {
            "alert_id": "CB-C1",
            "scenario_id": "EH-017",
            "scenario_name": "Corporate card used late at night",
            "system": "e_hojo",
            "department": "FIN",
            "official": CANARIES["bridge_official"],
            "amount": 120000,
            "record_ref": "VOUCHER-1",
            "raised_at": "2026-03-02T09:00:00+09:00",
            "severity": 3,
        },
        "personnel": {
            "event_id": "HR-C1",
            "employee_number": CANARIES["employee_number"],
            "event_type": "demotion",
            "effective_on": str(local_today_for_canary()),
            "department": "PERMITS",
            "detail": CANARIES["bridge_detail"],
        },
        "training": {
            "record_id": "TR-C1",
            "course": "2026 integrity training",
            "official": CANARIES["bridge_trainee"],
            "department": "FIN",
            "completed_on": "2026-03-12",
            "mandatory": True,
        },
        "supporter": {
            "record_id": "SUP-C1",
            "record_type": "finding",
            "department": "PERMITS",
            "supporter": CANARIES["bridge_supporter"],
            "finding": CANARIES["bridge_finding"],
            "found_on": "2026-04-20",
        },
        "idea": {
            "proposal_id": "IDEA-C1",
            "title": CANARIES["idea_title"],
            "proposal": CANARIES["idea_proposal"],
            "proposer_contact": CANARIES["idea_contact"],
            "submitted_at": "2026-04-30T21:15:00+09:00",
        },
    }
    for source, record in records.items():
        cli = app.test_cli_runner().invoke(args=["bridge", "source", "add", source, "--kind", source])
        assert cli.exit_code == 0, cli.output
        key = bytes.fromhex(cli.output.strip().splitlines()[-1])
        # A record whose date holds a canary is quarantined, raw bytes and all; so is a cut-off line.
        bad = {**record, next(k for k in record if k.endswith(("_at", "_on"))): CANARIES["quarantined"]}
        bad[next(k for k in record if k.endswith("_id"))] = f"{source}-bad"
        body = (json.dumps(record) + "\n" + json.dumps(bad) + "\n" + '{"broken": "' + CANARIES["quarantined"]).encode()
        stamp = str(int(time.time()))
        r = client.post(
            f"/bridge/{source}",
            data=body,
            headers={"X-Haechi-Timestamp": stamp, "X-Haechi-Signature": keyring.signature(key, stamp, body)},
            content_type="application/x-ndjson",
        )
        assert r.status_code == 200 and r.get_json()["accepted"] == 1, (source, r.get_json())
        assert r.get_json()["quarantined"] >= 1, (source, r.get_json())
    from sqlalchemy import func, select

    from app.models.protection import RetaliationAlert

    with app.app_context():
        db = get_session()
        assert db.scalar(select(func.count()).select_from(RetaliationAlert)) >= 1  # the personnel event matched


def local_today_for_canary():
    """Today in Seoul: a personnel event inside the reporter's protection period."""
    from app.cases.deadlines import local_today
    from app.db import utcnow

    return local_today(utcnow())


def test_the_sweep_would_find_a_canary_in_plaintext(tmp_path):
    """The sweep itself can fail: a planted plaintext canary is found, raw or hex-encoded."""
    (tmp_path / "leak.bin").write_bytes(b"xx" + NEEDLES[0].encode() + b"yy")
    (tmp_path / "dump.sql").write_bytes(b"\\\\x" + NEEDLES[1].encode().hex().encode())
    assert len(_sweep(_files_under(tmp_path))) == 2
