"""Fixtures of the security suite: the functional actors, plus a case with content to protect.

The actors (``staff``, ``office``, ``reporter``) are the functional suite's own,
so the security tests sign in and act exactly as the journeys do.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select

from app.authz import rule_of
from app.db import get_session
from app.models.cases import Attachment, Case
from tests.functional.conftest import office, reporter, staff  # noqa: F401  (fixtures shared with the journeys)

SECRET_WHAT = "SECRET-WHAT-7f3a: the permits head took cash in an envelope"
SECRET_FILE = b"SECRET-FILEBODY-91c2"
SECRET_NAME = "SECRET-FILENAME-55d0.txt"


@dataclass
class ReportedCase:
    """A submitted report: its case, its first attachment, the receipt that opens it."""

    case_id: int
    attachment_id: int
    receipt: str


@pytest.fixture
def reported(app, office, reporter) -> ReportedCase:  # noqa: F811
    """One report with a file, submitted through the reporter pages, sealed to the intake team."""
    receipt = reporter.submit_ok(files=[(io.BytesIO(SECRET_FILE), SECRET_NAME)], what=SECRET_WHAT)
    with app.app_context():
        db = get_session()
        case_id = db.scalar(select(Case.id))
        att_id = db.scalar(select(Attachment.id).where(Attachment.case_id == case_id))
    return ReportedCase(case_id, att_id, receipt)


def fill(rule: str, values: dict[str, int] | None = None, default: int = 1) -> str:
    """A concrete URL for a URL rule: each ``<int:name>`` replaced by ``values[name]`` or ``default``."""
    values = values or {}
    return re.sub(r"<(?:int:)?(\w+)>", lambda m: str(values.get(m.group(1), default)), rule)


def routes(app: Flask) -> Iterator[tuple[str, str, set[str], object]]:
    """Every route of the URL map: (endpoint, rule, methods without HEAD/OPTIONS, authorisation rule)."""
    for r in app.url_map.iter_rules():
        yield r.endpoint, r.rule, set(r.methods or ()) - {"HEAD", "OPTIONS"}, rule_of(app.view_functions[r.endpoint])
