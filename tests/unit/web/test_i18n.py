"""Language: Korean by default, English on explicit choice, and a switch that cannot redirect away."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.web.i18n import TRANSLATIONS_DIR, compile_translations
from app.web.views import safe_next
from tests.unit.web.helpers import choose_language, csrf_token_from

KOREAN_HEADING = "해치: 안전하게 부패를 신고하세요"
ENGLISH_HEADING = "Haechi: report corruption safely"


def test_the_default_language_is_korean(client):
    body = client.get("/").get_data(as_text=True)
    assert '<html lang="ko">' in body
    assert KOREAN_HEADING in body
    assert ENGLISH_HEADING not in body


def test_the_browser_language_is_not_used_without_an_explicit_choice(client):
    body = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="ko">' in body
    assert KOREAN_HEADING in body


def test_choosing_english_switches_the_pages_to_english(client):
    response = choose_language(client, "en")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    body = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in body
    assert ENGLISH_HEADING in body
    assert KOREAN_HEADING not in body


def test_choosing_korean_again_switches_back(client):
    choose_language(client, "en")
    choose_language(client, "ko")
    body = client.get("/").get_data(as_text=True)
    assert '<html lang="ko">' in body
    assert KOREAN_HEADING in body


def test_the_choice_is_a_browser_session_cookie_not_a_lasting_one(client):
    response = choose_language(client, "en")
    cookie = response.headers["Set-Cookie"]
    assert "Expires" not in cookie
    assert "Max-Age" not in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


def test_an_unsupported_language_is_refused_and_nothing_changes(client):
    token = csrf_token_from(client)
    response = client.post("/language", data={"csrf_token": token, "lang": "fr"})
    assert response.status_code == 400
    assert '<html lang="ko">' in client.get("/").get_data(as_text=True)


def test_error_pages_follow_the_chosen_language(client):
    assert "페이지를 찾을 수 없습니다" in client.get("/no-such-page").get_data(as_text=True)
    choose_language(client, "en")
    assert "Page not found" in client.get("/no-such-page").get_data(as_text=True)


def test_the_switch_returns_to_a_local_page(client):
    response = choose_language(client, "en", next_path="/healthz?probe=1")
    assert response.headers["Location"] == "/healthz?probe=1"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/path",
        "///evil.example",
        "https://evil.example",
        "http://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "/\t/evil.example",
        "/\n/evil.example",
        "evil.example",
        "",
    ],
)
def test_the_switch_never_redirects_to_another_site(client, target):
    response = choose_language(client, "en", next_path=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/"),
        ("/", "/"),
        ("/report", "/report"),
        ("/staff/cases?page=2", "/staff/cases?page=2"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https:evil.example", "/"),
        ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),
        ("/\x7f", "/"),
    ],
)
def test_safe_next_keeps_only_local_paths(target, expected):
    assert safe_next(target) == expected


def test_every_korean_message_is_translated():
    with (TRANSLATIONS_DIR / "ko" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="ko")
    untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []
    assert len(catalog) > 10


def test_compile_translations_writes_missing_or_stale_catalogues_only(tmp_path: Path):
    target = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS_DIR, target, ignore=shutil.ignore_patterns("*.mo"))
    po = target / "ko" / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")

    written = compile_translations(target)
    assert mo in written
    assert mo.exists()
    assert oct(mo.stat().st_mode & 0o777) == oct(0o644)

    assert compile_translations(target) == []

    later = mo.stat().st_mtime + 10
    os.utime(po, (later, later))
    assert compile_translations(target) == [mo]
    assert not list(target.glob("*/LC_MESSAGES/.*.tmp"))


def test_the_english_catalogue_holds_no_korean_text():
    """An English page must not show Korean because a translation was copied into the wrong catalogue."""
    import re

    from babel.messages.pofile import read_po

    hangul = re.compile("[\uac00-\ud7a3]")
    path = Path(__file__).resolve().parents[3] / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    wrong = [
        m.id
        for m in catalog
        if m.id and isinstance(m.string, str) and hangul.search(m.string) and not hangul.search(str(m.id))
    ]
    assert wrong == []


def test_a_signed_in_staff_page_follows_the_chosen_language(app, client):
    from app.models.staff import Role
    from tests.functional.conftest import StaffAuth, csrf_token

    staff = StaffAuth(app, client)
    alice = staff.create("alice", Role.INTAKE)
    page = client.get("/staff/login").get_data(as_text=True)
    client.post("/language", data={"csrf_token": csrf_token(page), "lang": "en", "next": "/staff/login"})
    staff.login(alice)
    home = client.get("/staff/").get_data(as_text=True)
    assert "Welcome, Alice" in home and "환영합니다" not in home


def test_gettext_follows_the_request_language_and_force_locale(app):
    """The cached catalogue is chosen by the current locale, so ``force_locale`` (mail, PDFs) still switches it."""
    from flask_babel import force_locale

    from app.web.i18n import gettext, lazy_gettext, ngettext

    label = lazy_gettext("Signed in as %(name)s", name="Kim")
    with app.test_request_context("/"):
        assert gettext("Signed in as %(name)s", name="Kim") == "Kim 님으로 로그인됨"
        assert str(label) == "Kim 님으로 로그인됨"
        assert ngettext("%(num)d case", "%(num)d cases", 3) == "3건"
        with force_locale("en"):
            assert gettext("Signed in as %(name)s", name="Kim") == "Signed in as Kim"
            assert str(label) == "Signed in as Kim"
            assert ngettext("%(num)d case", "%(num)d cases", 1) == "1 case"
            assert ngettext("%(num)d case", "%(num)d cases", 2) == "2 cases"
        assert gettext("Signed in as %(name)s", name="Kim") == "Kim 님으로 로그인됨"
    # Outside a request (a CLI command before any locale is chosen) the message comes back untranslated.
    assert gettext("Signed in as %(name)s", name="Kim") == "Signed in as Kim"


def test_template_gettext_escapes_variables_and_follows_force_locale(app):
    from flask import render_template_string
    from flask_babel import force_locale

    source = (
        "{{ _('Signed in as %(name)s', name=who) }}|{{ ngettext('%(num)d case', '%(num)d cases', n) }}"
        "|{% trans %}Log out{% endtrans %}"
    )
    with app.test_request_context("/"):
        korean = render_template_string(source, who="<b>Kim</b>", n=2)
        assert korean == "&lt;b&gt;Kim&lt;/b&gt; 님으로 로그인됨|2건|로그아웃"
        with force_locale("en"):
            english = render_template_string(source, who="<b>Kim</b>", n=1)
        assert english == "Signed in as &lt;b&gt;Kim&lt;/b&gt;|1 case|Log out"


def test_template_variables_may_have_any_name(app):
    """Jinja's own gettext takes its string positionally, so a variable called ``string`` or ``num`` is fine."""
    from flask import render_template_string

    with app.test_request_context("/"):
        assert render_template_string("{{ _('A %(string)s', string='<b>') }}") == "A &lt;b&gt;"
        assert render_template_string("{{ _('%(eval_ctx)s', eval_ctx=1) }}") == "1"
        assert render_template_string("{{ ngettext('%(num)d x', '%(num)d xs', 2, num=5) }}") == "5 xs"


def test_application_code_translates_through_app_web_i18n():
    """Flask-Babel's own gettext family finds the catalogue per string; the app's cached one is the only way in."""
    import ast

    root = Path(__file__).resolve().parents[3]
    offenders = []
    for folder in ("app", "monitoring_bridge"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                imported = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.ImportFrom) and node.module == "flask_babel"
                    else []
                )
                used = (
                    [node.attr]
                    if isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "flask_babel"
                    else []
                )
                offenders += [f"{path.relative_to(root)}:{name}" for name in imported + used if "gettext" in name]
    assert offenders == []
