"""/healthz: tells the load balancer whether the database answers, and nothing more."""

from __future__ import annotations

from app import create_app

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"


def test_health_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_is_unavailable_when_the_database_does_not_answer(test_settings):
    broken = create_app(test_settings.with_(database_url=UNREACHABLE))
    try:
        response = broken.test_client().get("/healthz")
    finally:
        broken.extensions["haechi.engine"].dispose()
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    body = response.get_data(as_text=True)
    for leak in ("nobody", "127.0.0.1", "psycopg", "refused", "Error"):
        assert leak not in body


def test_health_needs_no_login_and_sets_no_cookie(client):
    response = client.get("/healthz")
    assert "Set-Cookie" not in response.headers
