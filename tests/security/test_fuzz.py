"""Property-based fuzzing of every form and every bridge parser: no 500, no unhandled exception, and
nothing that was typed reaches the logs.

Parsers are fuzzed directly (each adapter's ``parse`` with valid records whose
fields are replaced by values of any JSON type, and the JSON Lines and CSV
decoders with arbitrary bytes): each must either accept or raise
``RecordError``. Forms are fuzzed through the app, as a browser would post
them. Example counts are small (the whole security suite must stay quick on
a 2-core machine); the profile in tests/conftest.py derandomises them in CI.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models.staff import Role
from monitoring_bridge.adapter import ParsedRecord
from monitoring_bridge.decode import csv_header, decode_csv, decode_json
from monitoring_bridge.errors import RecordError
from monitoring_bridge.registry import ADAPTERS
from tests.functional.conftest import REPORT_FIELDS, csrf_token, ticket
from tests.functional.test_bridge_sources import BY_NAME
from tests.functional.test_case_workflow import _act, _as

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
WEB_FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=300))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
# Text a person might type, hostile included: any Unicode but surrogates, control characters too.
typed = st.text(st.characters(exclude_categories=["Cs"]), max_size=400)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_each_adapter_parse_accepts_or_names_the_field_for_any_values(app, name):
    """(Some adapters read instance secrets, a blind-index key say, so this runs in the app's context.)"""
    adapter = ADAPTERS[name]
    source = BY_NAME[name]
    valid = source.record(1)

    @given(changes=st.dictionaries(st.sampled_from([*adapter.fields, "extra"]), json_values, max_size=4))
    @FUZZ
    def run(changes: dict[str, object]) -> None:
        rec = {**valid, **changes}
        try:
            parsed = adapter.parse(rec)
        except RecordError as exc:
            assert exc.args and isinstance(str(exc), str)
        else:
            assert isinstance(parsed, ParsedRecord)
            json.dumps(parsed.data)  # what is stored must be JSON-able

    with app.app_context():
        run()


@given(raw=st.binary(max_size=300) | typed.map(lambda t: t.encode("utf-8")))
@FUZZ
def test_the_json_lines_decoder_returns_an_object_or_a_record_error(raw):
    try:
        obj = decode_json(raw)
    except RecordError:
        return
    assert isinstance(obj, dict)


@given(raw=st.binary(max_size=300), header=st.binary(max_size=120))
@FUZZ
def test_the_csv_decoder_returns_a_row_or_a_record_error(raw, header):
    fields = ADAPTERS["training"].fields
    try:
        names = csv_header(header, fields)
    except RecordError:
        names = list(fields)
    try:
        row = decode_csv(raw, names)
    except RecordError:
        return
    assert set(row) <= set(names)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.text: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.text.append(self.format(record))


@pytest.fixture
def logs():
    handler = _Collect()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)


def _pieces(*values: str) -> set[str]:
    """Distinctive runs (8+ letters, digits or Hangul) of what was typed: what a leak would show."""
    return {p for v in values for p in re.findall(r"[A-Za-z0-9\uac00-\ud7a3]{8,}", v) if not p.isdigit()}


def _assert_not_logged(logs, *values: str) -> None:
    joined = "\n".join(logs.text)
    assert [p for p in _pieces(*values) if p in joined] == []


def test_the_report_form_never_fails_with_a_500_whatever_is_typed(app, office, reporter, logs):
    @given(what=typed, who=typed, when_where=typed, amount=typed, name=typed, contact=typed, category=typed)
    @WEB_FUZZ
    def run(**fields: str) -> None:
        page = reporter.client.get("/report").get_data(as_text=True)
        data = {**REPORT_FIELDS, **fields, "csrf_token": csrf_token(page), "ticket": ticket(page)}
        r = reporter.post_multipart("/report", data)
        assert r.status_code in (200, 400), r.status_code
        _assert_not_logged(logs, *fields.values())

    run()


def test_the_receipt_login_never_fails_with_a_500_whatever_is_typed(app, office, reporter, logs):
    @given(receipt=typed)
    @WEB_FUZZ
    def run(receipt: str) -> None:
        r = reporter.login(receipt)
        assert r.status_code in (200, 400, 401, 429), r.status_code
        _assert_not_logged(logs, receipt)

    run()


def test_the_reporters_forms_never_fail_with_a_500(app, office, reporter, logs):
    assert reporter.login(reporter.submit_ok(public_officer="yes", employee_number="2017-0042")).status_code == 303

    @given(body=typed, amount=typed, details=typed, kind=typed, what=typed)
    @WEB_FUZZ
    def run(body: str, amount: str, details: str, kind: str, what: str) -> None:
        r = reporter.send(body)
        assert r.status_code in (303, 400), r.status_code
        page = reporter.client.get("/receipt/support/").get_data(as_text=True)
        r = reporter.post_multipart(
            "/receipt/support/",
            {"csrf_token": csrf_token(page), "type": kind, "amount_requested": amount, "details": details},
        )
        assert r.status_code in (303, 400), r.status_code
        page = reporter.client.get("/receipt/retaliation").get_data(as_text=True)
        r = reporter.post_multipart("/receipt/retaliation", {"csrf_token": csrf_token(page), "what": what})
        assert r.status_code in (303, 400), r.status_code
        _assert_not_logged(logs, body, details, what)

    run()


def test_the_staff_case_forms_never_fail_with_a_500(app, staff, client, reporter, office, logs):
    reporter.submit_ok()
    _as(staff, client, office["intake"])

    @given(
        action=st.sampled_from(
            [
                "notes",
                "messages",
                "labels",
                "severity",
                "links",
                "subjects",
                "transition",
                "identity/request",
                "exclude",
            ]
        ),
        value=typed,
        other=typed,
    )
    @WEB_FUZZ
    def run(action: str, value: str, other: str) -> None:
        data = {
            "body": value,
            "labels": value,
            "severity": value,
            "other_ref": value,
            "relation": other,
            "kind": other,
            "value": value,
            "target": other,
            "reason": value,
            "user_id": other,
        }
        r = _act(staff, client, 1, action, **data)
        assert r.status_code in (302, 303, 400, 404, 409), (action, r.status_code)
        _assert_not_logged(logs, value, other)

    run()


def test_the_staff_login_and_admin_forms_never_fail_with_a_500(app, staff, logs):
    admin = staff.create("root", Role.ADMIN)
    other = staff.app.test_client()

    @given(username=typed, password=typed)
    @WEB_FUZZ
    def login(username: str, password: str) -> None:
        page = other.get("/staff/login").get_data(as_text=True)
        r = other.post(
            "/staff/login", data={"csrf_token": csrf_token(page), "username": username, "password": password}
        )
        if "\x00" in username + password:
            # A NUL is refused before any view (app.web.params.refuse_nul_bytes): PostgreSQL cannot store it.
            assert r.status_code == 400, r.status_code
        else:
            assert r.status_code in (200, 401, 429), r.status_code
        _assert_not_logged(logs, password)

    login()
    staff.login(admin)

    @given(code=typed, name_ko=typed, name_en=typed, display=typed)
    @WEB_FUZZ
    def admin_forms(code: str, name_ko: str, name_en: str, display: str) -> None:
        r = staff.post(
            "/staff/admin/departments",
            {"code": code, "name_ko": name_ko, "name_en": name_en},
            page="/staff/admin/departments",
        )
        assert r.status_code in (200, 302, 400), r.status_code
        r = staff.post(
            "/staff/admin/users/new",
            {"username": code, "display_name": display, "password": name_en, "roles": name_ko},
            page="/staff/admin/users/new",
        )
        assert r.status_code in (200, 302, 400), r.status_code

    admin_forms()


def test_a_nul_in_the_staff_login_form_is_a_400_and_never_logged(app, staff, logs):
    """The example hypothesis found: a NUL password is refused as a bad request, not a 500 or a login attempt."""
    client = staff.app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    r = client.post("/staff/login", data={"csrf_token": csrf_token(page), "username": "", "password": "\x00"})
    assert r.status_code == 400
    assert not any("\x00" in line for line in logs.text)
