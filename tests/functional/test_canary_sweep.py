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
    assert len([w for w in written if "/blobs/" in w[0]]) == 2
    assert sum(len(d) for _w, d in written) > len(big)
    assert _sweep(written) == []


def test_the_sweep_would_find_a_canary_in_plaintext(tmp_path):
    """The sweep itself can fail: a planted plaintext canary is found, raw or hex-encoded."""
    (tmp_path / "leak.bin").write_bytes(b"xx" + NEEDLES[0].encode() + b"yy")
    (tmp_path / "dump.sql").write_bytes(b"\\\\x" + NEEDLES[1].encode().hex().encode())
    assert len(_sweep(_files_under(tmp_path))) == 2
