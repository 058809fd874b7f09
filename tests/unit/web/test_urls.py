"""url_pattern builds, per row, exactly the URL url_for would."""

from __future__ import annotations

import pytest
from flask import url_for

from app.web.urls import url_pattern


@pytest.mark.parametrize("case_id", [1, 7, 42, 1_000_000])
def test_url_pattern_matches_url_for(app, case_id):
    with app.test_request_context("/"):
        build = url_pattern("staff_cases.case_detail", "case_id")
        assert build(case_id) == url_for("staff_cases.case_detail", case_id=case_id)


def test_url_pattern_also_fills_a_query_string_parameter(app):
    with app.test_request_context("/"):
        build = url_pattern("queues.index", "page", view="state")
        assert build(3) == url_for("queues.index", view="state", page=3)


def test_url_pattern_keeps_non_digits_out_of_the_url(app):
    with app.test_request_context("/"):
        build = url_pattern("staff_cases.case_detail", "case_id")
        with pytest.raises(ValueError):
            build("1/../../admin")  # type: ignore[arg-type]
