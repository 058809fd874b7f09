"""Security headers on every response (issue 3: every route, HSTS only over HTTPS)."""

from __future__ import annotations

import pytest

from app import create_app
from app.web.headers import CONTENT_SECURITY_POLICY

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _assert_security_headers(response, where: str) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, f"{name} on {where}"
    policy = response.headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "interest-cohort=()"):
        assert feature in policy, f"{feature} on {where}"
    assert "Strict-Transport-Security" not in response.headers, where


def _argument_free_get_routes(app) -> list[str]:
    return sorted(
        rule.rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ()) and not rule.arguments
    )


def test_the_csp_forbids_inline_code_and_outside_origins():
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert "http" not in CONTENT_SECURITY_POLICY
    assert "*" not in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_every_argument_free_get_route_sends_the_security_headers(app, client):
    routes = _argument_free_get_routes(app)
    assert {"/", "/healthz"} <= set(routes)
    for path in routes:
        _assert_security_headers(client.get(path), path)


def test_html_pages_are_never_cached(app, client):
    for path in _argument_free_get_routes(app):
        response = client.get(path)
        if response.mimetype == "text/html":
            assert response.headers["Cache-Control"] == "no-store", path


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/no-such-page"), ("GET", "/staff/no-such-page"), ("POST", "/healthz"), ("POST", "/language")],
)
def test_error_responses_send_the_security_headers(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code >= 400
    _assert_security_headers(response, f"{method} {path}")
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_send_the_security_headers_but_may_be_cached(client):
    response = client.get("/static/css/haechi.css")
    assert response.status_code == 200
    _assert_security_headers(response, "stylesheet")
    assert response.headers.get("Cache-Control") != "no-store"
    response.close()


@pytest.mark.parametrize("path", ["/", "/no-such-page", "/staff/no-such-page"])
def test_pages_have_no_inline_script_or_style_and_load_nothing_from_outside(client, path):
    body = client.get(path).get_data(as_text=True)
    assert "<script" not in body
    assert "<style" not in body
    assert " style=" not in body
    assert 'src="http' not in body
    assert 'href="http' not in body
    assert 'href="//' not in body


def test_hsts_is_sent_only_when_served_over_https(test_settings):
    https_app = create_app(test_settings.with_(https=True))
    try:
        response = https_app.test_client().get("/", base_url="https://localhost")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        assert int(response.headers["Strict-Transport-Security"].split(";")[0].split("=")[1]) >= 31536000
    finally:
        https_app.extensions["haechi.engine"].dispose()


def test_no_hsts_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_the_server_access_log_with_client_ips_is_off(app, caplog):
    """A real server (the one `make run` uses) logs no client address or path of a request."""
    import logging
    import threading
    import urllib.request

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/report"
        with caplog.at_level(logging.DEBUG), urllib.request.urlopen(url) as resp:
            assert resp.status == 200
    finally:
        server.shutdown()
        server.server_close()
    assert "127.0.0.1" not in caplog.text
    assert "/report" not in caplog.text
