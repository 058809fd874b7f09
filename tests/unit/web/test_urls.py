"""url_parts splits a URL around its integer parameter: joined with any id, exactly the URL url_for would build."""

from __future__ import annotations

import pytest
from flask import url_for

from app.web.urls import route_url, url_parts


@pytest.mark.parametrize("case_id", [1, 7, 42, 1_000_000])
def test_url_parts_around_an_id_make_the_url_url_for_builds(app, case_id):
    with app.test_request_context("/"):
        head, tail = url_parts("staff_cases.case_detail", "case_id")
        assert f"{head}{case_id}{tail}" == url_for("staff_cases.case_detail", case_id=case_id)


def test_url_parts_also_split_around_a_query_string_parameter(app):
    with app.test_request_context("/"):
        head, tail = url_parts("queues.index", "page", view="state")
        assert f"{head}{3}{tail}" == url_for("queues.index", view="state", page=3)


def test_url_parts_follow_the_script_root(app):
    with app.test_request_context("/", base_url="http://localhost/haechi"):
        head, _tail = url_parts("staff_cases.case_detail", "case_id")
        assert head.startswith("/haechi/")


def test_route_url_is_the_url_for_of_a_route_without_parameters(app):
    with app.test_request_context("/"):
        assert route_url("queues.index") == url_for("queues.index")
    with app.test_request_context("/", base_url="http://localhost/haechi"):
        assert route_url("queues.index") == "/haechi/staff/queues/"
