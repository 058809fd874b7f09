"""Every id in a URL is a row id the database can hold: anything larger is a 404, never a 500.

An id past 2**31 - 1 used to reach the driver (OverflowError on SQLite,
"integer out of range" on PostgreSQL) as a 500 on every case, grant, identity,
subject and audit route.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from app.web.converters import MAX_ROW_ID

HUGE = "9" * 20


def _int_rules(app):
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        if ints:
            yield rule, ints


def _url(rule, ints, value: str) -> str:
    path = rule.rule
    for name in ints:
        path = path.replace(f"<int:{name}>", value)
    assert "<" not in path, path
    return path


def test_the_app_has_routes_with_ids(app):
    assert len(list(_int_rules(app))) >= 20


@pytest.mark.parametrize("value", [HUGE, str(MAX_ROW_ID + 1), "0"])
def test_an_id_no_database_row_can_have_matches_no_route(app, client, value):
    for rule, ints in _int_rules(app):
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        r = client.open(_url(rule, ints, value), method=method)
        # 404, or 405 where the same path has a route for another method (Werkzeug's answer
        # when no rule matches): either way no view runs and the id never reaches the database.
        assert r.status_code in (404, 405), (rule.rule, method, r.status_code)


def test_the_largest_row_id_still_reaches_the_route(app, client):
    """Matched, so the route's own rule answers (a login redirect for an anonymous visitor, not a 404)."""
    for rule, ints in _int_rules(app):
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        adapter = app.url_map.bind("localhost")
        endpoint, args = adapter.match(_url(rule, ints, str(MAX_ROW_ID)), method=method)
        assert endpoint == rule.endpoint and all(args[name] == MAX_ROW_ID for name in ints)
