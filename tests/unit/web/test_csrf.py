"""CSRF: every POST needs the token, and a missing one gets a kind "form expired" page."""

from __future__ import annotations

from tests.unit.web.helpers import csrf_token_from


def test_csrf_protection_stays_on_in_tests(app):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True


def test_a_post_without_a_token_gets_the_form_expired_page_in_korean(client):
    response = client.post("/language", data={"lang": "en", "next": "/"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert '<html lang="ko">' in body
    assert "입력 양식이 만료되었습니다" in body
    assert "새로 고친" in body
    assert response.headers["Cache-Control"] == "no-store"


def test_the_form_expired_page_speaks_english_when_english_was_chosen(client):
    with client.session_transaction() as session:
        session["lang"] = "en"
    response = client.post("/language", data={"lang": "ko"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "This form has expired" in body
    assert "Reload the page" in body


def test_a_forged_token_is_refused_and_changes_nothing(client):
    csrf_token_from(client)  # the browser has a real session with a real token
    response = client.post("/language", data={"csrf_token": "forged", "lang": "en"})
    assert response.status_code == 400
    assert "입력 양식이 만료되었습니다" in response.get_data(as_text=True)
    assert '<html lang="ko">' in client.get("/").get_data(as_text=True)


def test_a_token_from_another_browser_is_refused(app, client):
    other = app.test_client()
    token = csrf_token_from(other)
    csrf_token_from(client)
    response = client.post("/language", data={"csrf_token": token, "lang": "en"})
    assert response.status_code == 400


def test_a_post_with_the_token_from_the_page_is_accepted(client):
    token = csrf_token_from(client)
    response = client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/"})
    assert response.status_code == 303
