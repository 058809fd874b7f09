"""One parser for numbers from requests: short ASCII digits only, never a 500."""

from __future__ import annotations

import pytest

from app.web.params import form_version, small_int
from tests.unit.web.helpers import csrf_token_from


@pytest.mark.parametrize(("raw", "expected"), [("7", 7), ("000123", 123), ("999999999", 999_999_999)])
def test_short_ascii_digits_are_numbers(raw, expected):
    assert small_int(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "²", "١٢", "-1", " 1", "1.0", "1" * 10, "1" * 5000])
def test_anything_else_is_no_number(raw):
    assert small_int(raw) is None


def test_the_bound_is_the_callers():
    assert small_int("2026", 4) == 2026 and small_int("20260", 4) is None


def test_a_form_without_a_readable_version_is_stale():
    assert form_version("3") == 3 and form_version(None) == -1 and form_version("²") == -1


def test_a_nul_character_in_a_form_or_query_is_refused_before_any_view(app, client):
    token = csrf_token_from(client, "/staff/login")

    # The same form with a plain wrong username is an ordinary refusal (401), not a 400.
    def login(username: str) -> int:
        form = {"csrf_token": token, "username": username, "password": "y"}
        return client.post("/staff/login", data=form).status_code

    assert login("x") == 401
    assert login("\x00") == 400
    assert client.get("/staff/login?next=%00").status_code == 400
    assert client.get("/staff/login").status_code == 200
