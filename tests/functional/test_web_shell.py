"""The shell as a visitor meets it: landing page, language switch, error pages, both layouts."""

from __future__ import annotations

import re

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NEXT = re.compile(r'name="next" value="([^"]*)"')


def _switch_language_from(client, page_html: str, lang: str):
    """Submit the header's language form exactly as the page rendered it."""
    token = TOKEN.search(page_html)
    next_path = NEXT.search(page_html)
    assert token and next_path
    return client.post("/language", data={"csrf_token": token.group(1), "next": next_path.group(1), "lang": lang})


def test_a_visitor_reads_the_landing_page_in_korean_then_english(client):
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="ko">' in html
    assert 'href="/report"' in html and 'href="/staff/login"' in html
    assert '<main id="main"' in html and 'href="#main"' in html

    response = _switch_language_from(client, html, "en")
    assert response.status_code == 303 and response.headers["Location"] == "/"

    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Make a report or check on one" in html
    assert "Staff sign-in" in html


def test_switching_language_on_an_error_page_comes_back_to_it(client):
    html = client.get("/missing/page?x=1").get_data(as_text=True)
    response = _switch_language_from(client, html, "en")
    assert response.headers["Location"] == "/missing/page?x=1"
    follow = client.get(response.headers["Location"])
    assert follow.status_code == 404
    assert "Page not found" in follow.get_data(as_text=True)


def test_reporter_pages_use_the_reporter_layout_without_any_script(client):
    html = client.get("/").get_data(as_text=True)
    assert 'class="surface-reporter"' in html
    assert "<script" not in html
    assert "IP" in html  # the reassurance line
    assert "surface-staff" not in html


def test_staff_pages_use_the_staff_layout(client):
    html = client.get("/staff/no-such-page").get_data(as_text=True)
    assert 'class="surface-staff"' in html
    assert 'name="robots" content="noindex, nofollow"' in html
    assert "surface-reporter" not in html


def test_a_method_not_allowed_keeps_its_allow_header(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "허용되지 않는 요청입니다" in response.get_data(as_text=True)


def test_a_json_client_gets_a_json_error(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json() == {"error": 404}


def test_every_error_page_renders_in_both_languages(app, client):
    from werkzeug.exceptions import abort

    codes = (400, 403, 404, 405, 413, 429, 500)

    @app.get("/__boom/<int:code>")
    def boom(code: int):
        abort(code)

    for code in codes:
        response = client.get(f"/__boom/{code}")
        assert response.status_code == code
        html = response.get_data(as_text=True)
        assert f"오류 {code}" in html, code
    with client.session_transaction() as session:
        session["lang"] = "en"
    for code in codes:
        assert f"Error {code}" in client.get(f"/__boom/{code}").get_data(as_text=True), code


def test_an_unexpected_exception_never_shows_its_text(test_settings):
    from app import create_app

    app = create_app(test_settings)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/__explode")
    def explode():
        raise RuntimeError("secret case content 4242")

    try:
        response = app.test_client().get("/__explode")
    finally:
        app.extensions["haechi.engine"].dispose()
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "secret case content" not in html
    assert "RuntimeError" not in html
    assert "문제가 발생했습니다" in html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
