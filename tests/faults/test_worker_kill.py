"""kill -9 of a gunicorn worker in the middle of an upload: no case, no plaintext, nothing kept after a sweep."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from tests.faults.conftest import Server
from tests.functional.conftest import REPORT_FIELDS, csrf_token, ticket

CANARY = b"CANARY-PLAINTEXT-EVIDENCE-"


def open_form(server: Server) -> tuple[str, dict[str, str]]:
    """GET /report: the cookie and the form's hidden fields."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", "/report")
    resp = conn.getresponse()
    html = resp.read().decode()
    cookie = "; ".join(c.split(";", 1)[0] for c in resp.headers.get_all("Set-Cookie") or [])
    conn.close()
    return cookie, {**REPORT_FIELDS, "csrf_token": csrf_token(html), "ticket": ticket(html)}


def multipart(fields: dict[str, str]) -> tuple[str, bytes, bytes]:
    """The body before and after one file part (the file's bytes are sent separately)."""
    boundary = uuid.uuid4().hex
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="ledger.pdf"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return boundary, head, tail


def worker_writing_a_part(server: Server, blobs: Path) -> int | None:
    for pid in server.workers():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except FileNotFoundError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith(str(blobs)) and target.endswith(".part"):
                return pid
    return None


def files_with_canary(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and CANARY in p.read_bytes()]


def test_killing_the_worker_mid_upload_loses_nothing_but_that_upload(office, server: Server, database_url, tmp_path):
    blobs = server.instance / "blobs"
    cookie, fields = open_form(server)
    time.sleep(3.2)  # the form's minimum dwell time, so the retry below is accepted
    file_size = 8 * 1024 * 1024
    boundary, head, tail = multipart(fields)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(
        (
            "POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(head) + file_size + len(tail)}\r\nCookie: {cookie}\r\n\r\n"
        ).encode()
        + head
    )
    piece = CANARY * (65536 // len(CANARY))
    sent, victim = 0, None
    deadline = time.monotonic() + 20
    while victim is None and time.monotonic() < deadline:
        sock.sendall(piece)  # slowly: a piece at a time until the worker is writing the file
        sent += len(piece)
        time.sleep(0.05)
        victim = worker_writing_a_part(server, blobs)
    assert victim is not None, "no worker was writing the upload"
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.5)
    try:
        sock.sendall(piece * 4)
        assert sock.recv(100) == b""  # the connection died with the worker: no answer
    except OSError:
        pass
    sock.close()
    assert sent < file_size

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM cases")) == 0
            assert conn.scalar(sa.text("SELECT count(*) FROM attachments")) == 0
    finally:
        engine.dispose()
    assert files_with_canary(tmp_path) == []  # the part on disk is ciphertext; nothing else was written
    parts = list(blobs.rglob("*.part"))
    assert [p for p in blobs.rglob("*") if p.is_file() and p.suffix != ".part"] == []
    swept = server.flask("blobs", "sweep", "--older-than-hours", "0")
    assert swept.returncode == 0 and f"{len(parts)} unfinished upload(s) removed" in swept.stdout, swept.stderr
    assert [p for p in blobs.rglob("*") if p.is_file()] == []

    # The master replaced the worker: the next report (file and all) is received.
    deadline = time.monotonic() + 30
    while len(server.workers()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    cookie, fields = open_form(server)
    time.sleep(3.2)
    boundary, head, tail = multipart(fields)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request(
        "POST",
        "/report",
        body=head + CANARY * 10 + tail,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": cookie},
    )
    resp = conn.getresponse()
    html = resp.read().decode()
    assert resp.status == 200 and 'class="receipt"' in html, html[:2000]
    assert files_with_canary(tmp_path) == []
