"""Every route declares who may use it (explicit authorisation rule), and staff routes enforce it."""

from __future__ import annotations

import re

from app.authz import BRIDGE, PUBLIC, REPORTER, STAFF, rule_of
from app.models.staff import Role
from tests.functional.conftest import csrf_token


def test_every_endpoint_declares_an_authorisation_rule(app):
    missing = [ep for ep, view in app.view_functions.items() if rule_of(view) is None]
    assert missing == []


def test_public_endpoints_are_exactly_the_expected_ones(app):
    public = {ep for ep, view in app.view_functions.items() if rule_of(view) == PUBLIC}
    assert public == {
        "static",
        "web.index",
        "web.healthz",
        "api_docs.openapi",
        "web.set_language",
        "staff_auth.login",
        "staff_auth.code",
        "staff_auth.enrol",
        "reporting.report",
        "reporting.receipt",
        "reporting.leave",
    }


def test_reporter_routes_send_anyone_without_an_inbox_session_to_the_receipt_page(app, client):
    reporter_routes = [
        rule for rule in app.url_map.iter_rules() if rule_of(app.view_functions[rule.endpoint]) == REPORTER
    ]
    assert {r.endpoint for r in reporter_routes} == {
        "reporting.inbox",
        "reporting.download",
        "reporter_support.support",
        "reporter_protection.check_ins",
        "reporter_protection.report_retaliation",
    }
    for rule in reporter_routes:
        r = client.get(re.sub(r"<int:\w+>", "1", rule.rule))
        assert r.status_code == 303 and r.location.endswith("/receipt"), rule.rule


def _staff_get_routes(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        r = rule_of(view)
        if isinstance(r, tuple) and r[0] == STAFF and "GET" in rule.methods:
            url = re.sub(r"<int:\w+>", "1", rule.rule)
            yield rule.endpoint, url, r[1]


def test_each_staff_page_answers_every_role_as_its_rule_says(staff, client):
    admin = staff.create("root", Role.ADMIN)  # user id 1, so /users/1 exists
    members = {role: staff.create(f"user-{role.value}", role) for role in Role}
    members[Role.ADMIN] = admin
    for role, member in members.items():
        staff.login(member)
        for endpoint, url, roles in _staff_get_routes(client.application):
            status = client.get(url).status_code
            allowed = not roles or role in roles
            if allowed:
                assert status in (200, 404), (role, endpoint, status)
            else:
                assert status == 403, (role, endpoint, status)
        staff.logout()


def test_every_state_changing_route_refuses_a_request_without_csrf_token(staff, client):
    member = staff.create("everyone", *Role)
    staff.login(member)
    for rule in client.application.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        url = re.sub(r"<int:\w+>", "1", rule.rule)
        r = client.post(url, data={"x": "1"})
        if rule_of(client.application.view_functions[rule.endpoint]) == REPORTER:
            # Without an inbox session nothing can change: sent back to the receipt page.
            assert r.status_code == 303 and r.location.endswith("/receipt"), rule.endpoint
        elif rule_of(client.application.view_functions[rule.endpoint]) == BRIDGE:
            # Machine feeds are CSRF-exempt; without a valid signature they refuse everything.
            assert r.status_code == 401, rule.endpoint
        else:
            assert r.status_code == 400, (rule.endpoint, r.status_code)


def test_each_staff_action_refuses_exactly_the_roles_its_rule_excludes(staff, client):
    """POST routes too: with a valid CSRF token, a role outside the rule gets 403, any other role does not."""
    admin = staff.create("root", Role.ADMIN)
    members = {role: staff.create(f"post-{role.value}", role) for role in Role}
    members[Role.ADMIN] = admin
    post_routes = []
    for rule in client.application.url_map.iter_rules():
        r = rule_of(client.application.view_functions[rule.endpoint])
        if isinstance(r, tuple) and r[0] == STAFF and "POST" in rule.methods:
            post_routes.append((rule.endpoint, re.sub(r"<int:\w+>", "1", rule.rule), r[1]))
    assert len(post_routes) >= 10
    for role, member in members.items():
        staff.login(member)
        token = csrf_token(client.get("/staff/").get_data(as_text=True))
        for endpoint, url, roles in post_routes:
            if endpoint == "staff_auth.logout":
                continue
            status = client.post(url, data={"csrf_token": token}).status_code
            if roles and role not in roles:
                assert status == 403, (role, endpoint, status)
            elif roles:
                # Allowed by role; what follows is the action's own answer (404 for a case it cannot open, …).
                assert status != 403, (role, endpoint, status)
        staff.logout()


def test_every_staff_page_exists_in_korean(app, staff):
    """A Korean-reading member with every role: each page's main heading is in Korean."""
    from tests.functional.conftest import StaffAuth

    korean = StaffAuth.__new__(StaffAuth)
    korean.__dict__.update(staff.__dict__)
    korean.client = app.test_client()  # a browser that keeps the default language (Korean)
    member = staff.create("hangul", *Role)
    korean.login(member)
    hangul = re.compile("[\uac00-\ud7a3]")
    checked = 0
    for endpoint, url, _roles in _staff_get_routes(app):
        r = korean.client.get(url)
        html = r.get_data(as_text=True)
        assert '<html lang="ko">' in html, endpoint
        h1 = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
        assert h1 and hangul.search(h1.group(1)), (endpoint, h1.group(1) if h1 else None)
        checked += 1
    assert checked >= 8
