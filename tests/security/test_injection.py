"""HTML, script and template injection in everything a person or a feed can write is rendered inert.

Every text field of the reporter's forms and the staff's case forms, file
names, and string fields of records from every bridge source carry payloads
(a script tag, an attribute break-out with an event handler, a Jinja
expression). Every page that shows them back is fetched; none may contain a
payload's raw markup, the escaped markup must be there (so the page really
did render the value), and ``{{7*7}}`` must come back literally, never
evaluated. Quarantined raw bytes are checked on the supervisor's page too.
"""

from __future__ import annotations

import io
import json
import re

from sqlalchemy import select

from app.db import get_session
from app.models.bridge import QuarantinedRecord
from app.models.cases import Case
from app.models.staff import Role, TeamKind
from tests.functional.conftest import csrf_token
from tests.functional.test_bridge_sources import SOURCES, _post, keys, line  # noqa: F401  (keys is a fixture)
from tests.functional.test_case_workflow import _act, _as


def payloads(tag: str) -> str:
    """Three injections in one value, each numbered by ``tag`` so a hit says which field leaked."""
    return f'<script>alert("{tag}")</script> "><img src=x onerror=alert("{tag}")> {{{{7*7}}}}-{tag}'


def file_name(tag: str) -> str:
    """A file name with injections: no slash (a directory part is cut off) and no double quote (a browser
    would send it as %22; the test client would cut the name there)."""
    return f"<img src=x onerror=alert('{tag}')> <svg onload=alert('{tag}')> {{{{7*7}}}}-{tag}.txt"


def raw_markers(tag: str) -> list[str]:
    return [
        f'<script>alert("{tag}")',
        f'<img src=x onerror=alert("{tag}")>',
        f"<img src=x onerror=alert('{tag}')>",
        f"<svg onload=alert('{tag}')>",
        f"49-{tag}",
    ]


def assert_inert(html: str, tags: list[str], where: str) -> list[str]:
    """No raw payload of any ``tags``; returns the tags whose escaped form is on the page."""
    shown = []
    for tag in tags:
        for marker in raw_markers(tag):
            assert marker not in html, (where, marker)
        # Shown (escaped, not evaluated) when the template expression comes back literally with its tag.
        if "{{7*7}}-" + tag in html:
            assert re.search(rf"&lt;img src=x onerror=alert\((&#34;|&quot;|\"|&#39;|&#x27;|'){tag}", html), (where, tag)
            shown.append(tag)
    return shown


REPORT_TAGS = {f: f"rep-{f}" for f in ("what", "when_where", "who", "name")}


def test_reporter_and_staff_text_is_escaped_on_every_page_that_shows_it(app, staff, client, reporter, office):
    investigator = staff.create("inv1", Role.INVESTIGATOR)
    supervisor = staff.create("super1", Role.SUPERVISOR)
    legal = staff.create("legal1", Role.LEGAL)
    inv_team = staff.team("investigation", TeamKind.INVESTIGATION, investigator)
    legal_team = staff.team("legal", TeamKind.LEGAL, legal)
    fields = {f: payloads(tag) for f, tag in REPORT_TAGS.items()}
    fields["what"] += " and enough words to pass the length check"
    # A refused form echoes what was typed: escaped too (employee number and contact have a fixed shape).
    refused = reporter.submit(employee_number=payloads("empno"), contact=payloads("contact"), **fields)
    assert refused.status_code == 400
    assert_inert(refused.get_data(as_text=True), [*REPORT_TAGS.values(), "empno", "contact"], "/report")
    receipt = reporter.submit_ok(
        files=[(io.BytesIO(b"x"), file_name("file"))],
        public_officer="yes",
        employee_number="2017-0042",
        **fields,
    )
    with app.app_context():
        case_id = get_session().scalar(select(Case.id))
    _as(staff, client, office["intake"])
    _act(staff, client, case_id, "transition", target="acknowledged")
    _act(staff, client, case_id, "transition", target="triage")
    for data in ({"team_id": str(inv_team)}, {"team_id": str(legal_team)}, {"user_id": str(supervisor.id)}):
        assert _act(staff, client, case_id, "assign", **data).status_code == 302
    # staff write back: a note, a reply, a subject, an identity request (labels allow letters and digits only)
    _as(staff, client, investigator)
    for action, data in [
        ("notes", {"body": payloads("note")}),
        ("messages", {"body": payloads("reply")}),
        ("subjects", {"kind": "official", "value": payloads("subject")[:190]}),
        ("identity/request", {"reason": payloads("idreason")}),
    ]:
        r = _act(staff, client, case_id, action, **data)
        assert r.status_code in (302, 303), (action, r.status_code)
    # the reporter answers, asks for support, reports retaliation
    assert reporter.login(receipt).status_code == 303
    assert reporter.send(payloads("msgin"), files=[(io.BytesIO(b"y"), file_name("later"))]).status_code == 303
    page = reporter.client.get("/receipt/support/").get_data(as_text=True)
    r = reporter.post_multipart(
        "/receipt/support/",
        {
            "csrf_token": csrf_token(page),
            "type": "relief_medical",
            "amount_requested": "300000",
            "details": payloads("support"),
        },
        files=[(io.BytesIO(b"receipt"), file_name("rcpt"))],
    )
    assert r.status_code == 303, r.status_code
    page = reporter.client.get("/receipt/retaliation").get_data(as_text=True)
    r = reporter.post_multipart("/receipt/retaliation", {"csrf_token": csrf_token(page), "what": payloads("retal")})
    assert r.status_code == 303

    shown: set[str] = set()
    all_tags = [
        *REPORT_TAGS.values(),
        "file",
        "note",
        "reply",
        "subject",
        "idreason",
        "msgin",
        "later",
        "support",
        "rcpt",
        "retal",
    ]
    for who in (investigator, legal, supervisor, office["protector"]):
        _as(staff, client, who)
        for url in (
            f"/staff/cases/{case_id}",
            f"/staff/cases/{case_id}/identity",
            f"/staff/cases/{case_id}/subjects",
            f"/staff/cases/{case_id}/support/",
            "/staff/cases/",
            "/staff/queues/",
            "/staff/protection/",
            "/staff/cases/2",
            "/staff/protection/persons/1",
            "/staff/notifications/",
        ):
            r = client.get(url)
            assert r.status_code in (200, 403, 404), (url, r.status_code)
            shown.update(assert_inert(r.get_data(as_text=True), all_tags, url))
    for url in ("/receipt/inbox", "/receipt/support/", "/receipt/retaliation", "/receipt/check-ins"):
        shown.update(assert_inert(reporter.client.get(url).get_data(as_text=True), all_tags, url))
    # Each payload was really rendered somewhere (escaped), so the absence of raw markup means something.
    missing = set(all_tags) - shown - {"rep-name"}  # the identity is shown to custodians only, on release
    assert missing == set()


def test_admin_text_fields_are_escaped(app, staff, client):
    admin = staff.create("root", Role.ADMIN)
    staff.login(admin)
    r = staff.post(
        "/staff/admin/departments",
        {"code": "XSS1", "name_ko": payloads("dko")[:100], "name_en": payloads("den")[:100]},
        page="/staff/admin/departments",
    )
    assert r.status_code in (200, 302)
    r = staff.post(
        "/staff/admin/users/new",
        {
            "username": "mallory",
            "display_name": payloads("disp")[:100],
            "password": "a long enough password 123",
            "roles": "intake",
        },
        page="/staff/admin/users/new",
    )
    assert r.status_code in (200, 302)
    shown: set[str] = set()
    for url in ("/staff/admin/departments", "/staff/admin/users", "/staff/admin/teams"):
        shown.update(assert_inert(client.get(url).get_data(as_text=True), ["dko", "den", "disp"], url))
    assert {"den", "disp"} <= shown


def _bridge_record(source, n: int) -> dict[str, object]:
    """A valid record of ``source`` with every free-text field carrying payloads."""
    rec = source.record(n)
    for k, v in list(rec.items()):
        if (
            isinstance(v, str)
            and k
            not in (
                source.id_field,
                "department",
                "system",
                "event_type",
                "record_type",
                "scenario_id",
                "employee_number",
            )
            and not re.match(r"\d{4}-", v)
        ):
            limit = 180 if k in ("official", "scenario_name", "course", "title", "supporter", "record_ref") else 1900
            rec[k] = payloads(f"{source.name}-{k}")[:limit]
    return rec


def test_bridge_records_of_every_source_are_escaped_where_staff_read_them(app, client, staff, office, keys):  # noqa: F811
    supervisor = staff.create("overseer", Role.SUPERVISOR)
    tags = []
    for source in SOURCES:
        rec = _bridge_record(source, 1)
        tags += [f"{source.name}-{k}" for k, v in rec.items() if isinstance(v, str) and "<script>" in v]
        (date_field,) = source.faults["bad date"][0]  # a date holding markup: quarantined with its raw bytes
        bad = {**source.record(2), date_field: payloads(f"{source.name}-quarantine")}
        body = line(rec) + json.dumps(bad).encode() + b"\n"
        r = _post(client, keys[source.name], body, source.name)
        assert r.status_code == 200 and r.get_json()["accepted"] == 1, (source.name, r.get_json())
    shown: set[str] = set()
    with app.app_context():
        case_ids = list(get_session().scalars(select(Case.id)))
        quarantine_ids = list(get_session().scalars(select(QuarantinedRecord.id)))
    assert quarantine_ids
    for who in (office["intake"], office["protector"], supervisor):
        _as(staff, client, who)
        for url in [f"/staff/cases/{cid}" for cid in case_ids] + [
            "/staff/cases/",
            "/staff/queues/",
            "/staff/protection/",
            "/staff/bridge/quarantine/",
        ]:
            r = client.get(url)
            shown.update(assert_inert(r.get_data(as_text=True), tags, url))
    _as(staff, client, supervisor)
    q_tags = [f"{s.name}-quarantine" for s in SOURCES]
    for qid in quarantine_ids:
        r = client.get(f"/staff/bridge/quarantine/{qid}")
        assert r.status_code == 200
        html = r.get_data(as_text=True)
        for tag in q_tags:
            for marker in raw_markers(tag)[:2]:
                assert marker not in html
    # The idea proposal is the bridge text staff read on the case page; the other sources' free text is not
    # rendered on any of these pages today (so there is nothing to escape there), which this pins down.
    assert {"idea-title", "idea-proposal", "idea-proposer_contact"} <= shown, shown
