"""Small helpers shared by the web shell tests."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token_from(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token of the language form on a rendered page, as a browser would see it."""
    match = _TOKEN.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def choose_language(client: FlaskClient, lang: str, next_path: str = "/"):
    """Switch language through the header form, like a user pressing the button."""
    token = csrf_token_from(client)
    return client.post("/language", data={"csrf_token": token, "lang": lang, "next": next_path})
