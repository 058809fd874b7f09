"""Open redirects and path traversal on every parameter that names a place or a file.

Places: ``next`` of the language switch (form and query string), ``next`` of
the staff login (ignored by design: a login always lands on /staff/), and the
login redirect that the staff decorator builds. Files: the download routes
(integer ids only), static files, blob keys, and uploaded file names (which
must lose any directory part before they are stored or sent back).
"""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.blobs import LocalBlobStore
from app.web.views import safe_next
from tests.functional.conftest import csrf_token

from .conftest import fill, routes

HOSTILE_TARGETS = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/%5Cevil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/\tevil.example",
    "/\n/evil.example",
    "/\x00//evil.example",
    " //evil.example",
    "evil.example",
    "@evil.example",
    "/%2F%2Fevil.example",
    "https:evil.example",
    "\u3000//evil.example",
    "/.//evil.example",
]


def _is_local(location: str) -> bool:
    """A redirect a browser resolves on this site: a path, no scheme, no host, no backslash or control."""
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        return parts.netloc == "localhost" and parts.scheme in ("http", "https")
    return (
        location.startswith("/")
        and not location.startswith("//")
        and "\\" not in location
        and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in location)
    )


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_the_language_switch_never_redirects_off_the_site(client, target):
    page = client.get("/").get_data(as_text=True)
    token = csrf_token(page)
    by_form = client.post("/language", data={"csrf_token": token, "lang": "en", "next": target})
    by_query = client.post("/language", query_string={"next": target}, data={"csrf_token": token, "lang": "ko"})
    for r in (by_form, by_query):
        if "\x00" in target:
            assert r.status_code == 400  # refused before any view (app.web.params.refuse_nul_bytes)
            continue
        assert r.status_code == 303
        assert _is_local(r.location), (target, r.location)


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_safe_next_keeps_only_paths_of_this_site(target):
    assert _is_local(safe_next(target)), target


def test_safe_next_keeps_a_real_path_with_its_query():
    assert safe_next("/staff/cases/?page=2") == "/staff/cases/?page=2"


def test_the_staff_login_ignores_a_next_parameter(staff, office):
    member = office["intake"]
    page = staff.client.get("/staff/login?next=https://evil.example/").get_data(as_text=True)
    r = staff.client.post(
        "/staff/login?next=//evil.example/",
        data={
            "csrf_token": csrf_token(page),
            "username": member.username,
            "password": member.password,
            "next": "https://evil.example/",
        },
    )
    assert r.status_code == 302 and _is_local(r.location)
    r = staff.code_step(member)
    assert r.status_code == 302 and r.location.endswith("/staff/")


def test_the_login_redirect_of_every_staff_page_names_only_a_local_path(app, client):
    for _endpoint, rule, methods, auth in routes(app):
        if isinstance(auth, tuple) and "GET" in methods:
            r = client.get(fill(rule))
            assert r.status_code == 302 and _is_local(r.location)
            query = urlsplit(r.location).query
            assert "evil" not in query


TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "%252e%252e%252fetc%252fpasswd",
    "..\\..\\config.py",
    "..%5c..%5cconfig.py",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "....//....//config.py",
    "%c0%ae%c0%ae/config.py",
    "1/../../config.py",
    "1%00.txt",
    "-1",
    "99999999999999999999999",
]
FILE_ROUTES = ["/receipt/files/{}", "/staff/cases/1/files/{}", "/static/{}", "/staff/cases/{}"]


@pytest.mark.parametrize("pattern", FILE_ROUTES)
def test_file_parameters_refuse_traversal(app, client, pattern):
    for attempt in TRAVERSALS:
        r = client.get(pattern.format(attempt))
        assert r.status_code in (302, 303, 308, 404, 400), (attempt, r.status_code)
        if r.status_code in (302, 303, 308):
            assert _is_local(r.location), r.location  # a login page, or the URL with its slashes merged
        body = r.get_data()
        assert b"root:" not in body and b"def create_app" not in body and b"class Settings" not in body


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "/etc/passwd", "..", "", "0" * 31 + "/", "a" * 32 + "/..", "A" * 32, "0" * 64]
)
def test_the_blob_store_refuses_any_key_that_is_not_its_own_shape(tmp_path, key):
    store = LocalBlobStore(tmp_path / "blobs")
    for op in (store.open_read, store.open_write, store.delete, store.commit):
        with pytest.raises(ValueError):
            op(key)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("uploaded", "kept"),
    [
        ("../../../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\win.ini", "win.ini"),
        ("C:\\Users\\kim.minjun\\Desktop\\ledger.xlsx", "ledger.xlsx"),
        ("/home/kim/evidence.pdf", "evidence.pdf"),
        ("..", "file"),
        # (A raw CR/LF cannot even be sent: browsers percent-encode it in a multipart file name.)
        ("evil\u2028Set-Cookie: x=1\x1b.txt", "evilSet-Cookie: x=1.txt"),
    ],
)
def test_an_uploaded_file_name_loses_its_directory_part_everywhere(
    app, office, reporter, test_settings, uploaded, kept
):
    receipt = reporter.submit_ok(files=[(io.BytesIO(b"evidence bytes"), uploaded)])
    assert reporter.login(receipt).status_code == 303
    inbox = reporter.client.get("/receipt/inbox").get_data(as_text=True)
    assert kept in inbox
    r = reporter.client.get("/receipt/files/1")
    assert r.status_code == 200 and r.get_data() == b"evidence bytes"
    disposition = r.headers["Content-Disposition"]
    assert "/" not in disposition.split("filename*=")[0] and "\\" not in disposition
    assert "\r" not in disposition and "\n" not in disposition and "Set-Cookie" not in r.headers
    blobs = Path(test_settings.instance_path) / "blobs"
    names = [p.name for p in blobs.rglob("*") if p.is_file()]
    assert names and all(len(n) == 32 and set(n) <= set("0123456789abcdef") for n in names)
    outside = Path(test_settings.instance_path).parent
    assert not (outside / "passwd").exists() and not (outside / "etc").exists()
