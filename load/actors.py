"""What the simulated people do, step by step, through the same pages a browser uses.

Each function raises :class:`LoadError` when an answer is not the one a real
user would need to carry on (a refused form, a missing receipt, a file that
does not match), so the run counts it as an error instead of carrying on
with a broken session.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass

import pyotp

from load.client import Browser, LoadError, hidden_value

REPORT_FIELDS = {
    "category": "procurement",
    "department_id": "",
    "when_where": "Last quarter, contracts office",
    "who": "A contracts officer",
    "amount": "2,400,000",
    "how_known": "documents",
    "public_officer": "no",
}
_RECEIPT = re.compile(r'class="receipt"[^>]*><strong>([0-9-]+)</strong>')
_CASE_LINK = re.compile(r'href="/staff/cases/(\d+)"')
_FILE_LINK = re.compile(r'href="(/receipt/files/\d+)"')
_TARGET = re.compile(r'<option value="([a-z_]+)"')
# The forward moves the load's staff make (none needs an outcome or reasons).
FORWARD = ("acknowledged", "triage", "investigating", "legal_review")


@dataclass(frozen=True)
class Submission:
    """An accepted report as the reporter knows it: the receipt, what they wrote, what they attached."""

    receipt: str
    what: str
    file_name: str
    file_sha256: str
    file_size: int


@dataclass(frozen=True)
class StaffLogin:
    """A staff account of the seeded instance (from ``flask demo seed``)."""

    username: str
    password: str
    totp_secret: str


def expect(reply_status: int, wanted: int | tuple[int, ...], what: str) -> None:
    """Raise a LoadError naming ``what`` unless the status is one of ``wanted``."""
    allowed = (wanted,) if isinstance(wanted, int) else wanted
    if reply_status not in allowed:
        raise LoadError(f"{what}: HTTP {reply_status}")


def submit_report(b: Browser, what: str, file_name: str, data: bytes) -> Submission:
    """Fetch the form, send the report with one file, read the receipt shown once."""
    page = b.get("/report", "GET /report")
    expect(page.status, 200, "report form")
    fields = {
        **REPORT_FIELDS,
        "what": what,
        "csrf_token": hidden_value(page.text, "csrf_token"),
        "ticket": hidden_value(page.text, "ticket"),
    }
    r = b.post_multipart("/report", fields, [(file_name, data)], "POST /report")
    expect(r.status, 200, "submission")
    m = _RECEIPT.search(r.text)
    if m is None:
        raise LoadError("submission: no receipt on the page")
    return Submission(m.group(1), what, file_name, hashlib.sha256(data).hexdigest(), len(data))


def receipt_login(b: Browser, receipt: str, label: str = "POST /receipt") -> None:
    """Open the inbox with a receipt (a 303 to the inbox with the session cookie)."""
    page = b.get("/receipt", "GET /receipt")
    expect(page.status, 200, "receipt form")
    fields = {"csrf_token": hidden_value(page.text, "csrf_token"), "ticket": hidden_value(page.text, "ticket")}
    r = b.post_form("/receipt", {**fields, "receipt": receipt}, label)
    if r.status != 303 or not r.location.endswith("/receipt/inbox"):
        raise LoadError(f"receipt login: HTTP {r.status}")


def poll_inbox(b: Browser) -> str:
    """The inbox page (the reporter is logged in)."""
    r = b.get("/receipt/inbox", "GET /receipt/inbox")
    expect(r.status, 200, "inbox")
    return r.text


def leave_inbox(b: Browser, inbox_html: str) -> None:
    """End the reporter session, as the inbox's button does."""
    r = b.post_form("/receipt/leave", {"csrf_token": hidden_value(inbox_html, "csrf_token")}, "POST /receipt/leave")
    expect(r.status, 303, "leave inbox")


def verify_submission(b: Browser, sub: Submission) -> list[str]:
    """Problems with one accepted submission opened with its own receipt (empty when intact)."""
    problems = []
    try:
        receipt_login(b, sub.receipt, "verify POST /receipt")
        page = b.get("/receipt/inbox", "verify GET /receipt/inbox")
        expect(page.status, 200, "inbox")
        if f'<dd class="message-body">{sub.what}</dd>' not in page.text:
            problems.append(f"{sub.receipt[:4]}…: the report text is not the one sent")
        links = _FILE_LINK.findall(page.text)
        if len(links) != 1:
            problems.append(f"{sub.receipt[:4]}…: {len(links)} file(s) listed, 1 sent")
        for link in links[:1]:
            f = b.get(link, "verify GET /receipt/files")
            expect(f.status, 200, "file download")
            if len(f.body) != sub.file_size or hashlib.sha256(f.body).hexdigest() != sub.file_sha256:
                problems.append(f"{sub.receipt[:4]}…: the file's bytes differ from those sent")
        leave_inbox(b, page.text)
    except LoadError as exc:
        problems.append(f"{sub.receipt[:4]}…: {exc}")
    return problems


def staff_login(b: Browser, who: StaffLogin) -> None:
    """Password, then a TOTP code of the current 30-second step (each account logs in once per run)."""
    page = b.get("/staff/login", "GET /staff/login")
    r = b.post_form(
        "/staff/login",
        {"csrf_token": hidden_value(page.text, "csrf_token"), "username": who.username, "password": who.password},
        "POST /staff/login",
    )
    if r.status != 302 or not r.location.endswith("/staff/login/code"):
        raise LoadError(f"staff password step for {who.username}: HTTP {r.status}")
    page = b.get("/staff/login/code", "GET /staff/login/code")
    code = pyotp.TOTP(who.totp_secret).now()
    r = b.post_form(
        "/staff/login/code",
        {"csrf_token": hidden_value(page.text, "csrf_token"), "code": code},
        "POST /staff/login/code",
    )
    if r.status != 302 or not r.location.endswith("/staff/"):
        raise LoadError(f"staff code step for {who.username}: HTTP {r.status}")


def queue_case_ids(b: Browser, state: str, page: int = 1) -> list[int]:
    """Case ids on one page of the queue filtered to a state."""
    r = b.get(f"/staff/queues/?view=state&state={state}&page={page}", "GET /staff/queues/")
    expect(r.status, 200, "queue page")
    return [int(i) for i in dict.fromkeys(_CASE_LINK.findall(r.text))]


def move_forward(b: Browser, case_id: int) -> str | None:
    """Open a case and make the first forward move the page offers; the new state, or None if none."""
    page = b.get(f"/staff/cases/{case_id}", "GET /staff/cases/<id>")
    expect(page.status, 200, "case page")
    offered = set(_TARGET.findall(page.text))
    target = next((t for t in FORWARD if t in offered), None)
    if target is None:
        return None
    r = b.post_form(
        f"/staff/cases/{case_id}/transition",
        {
            "csrf_token": hidden_value(page.text, "csrf_token"),
            "version": hidden_value(page.text, "version"),
            "target": target,
        },
        "POST /staff/cases/<id>/transition",
    )
    expect(r.status, 302, f"transition of case {case_id} to {target}")
    return target


def bridge_batch(b: Browser, source: str, key: bytes, start: int, count: int) -> dict[str, int]:
    """Send ``count`` Cheongbaek-e alerts as one signed JSON Lines batch; the import summary."""
    from monitoring_bridge import keyring

    raised = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    body = b"".join(
        json.dumps(
            {
                "alert_id": f"LOAD-{start + i}",
                "scenario_id": "EH-017",
                "scenario_name": "Corporate card used late at night",
                "system": "e_hojo",
                "department": "FINANCE",
                "official": f"Official {(start + i) // 5}",
                "amount": 10_000 + start + i,
                "record_ref": f"VOUCHER-{(start + i) // 5}",
                "raised_at": raised,
                "severity": 3,
            }
        ).encode()
        + b"\n"
        for i in range(count)
    )
    stamp = str(int(time.time()))
    r = b.request(
        "POST",
        f"/bridge/{source}",
        "POST /bridge/<source>",
        body,
        {
            "Content-Type": "application/x-ndjson",
            "X-Haechi-Timestamp": stamp,
            "X-Haechi-Signature": keyring.signature(key, stamp, body),
        },
    )
    expect(r.status, 200, "bridge batch")
    summary: dict[str, int] = json.loads(r.body)
    if summary.get("quarantined"):
        raise LoadError(f"bridge batch: {summary['quarantined']} record(s) quarantined")
    return summary
