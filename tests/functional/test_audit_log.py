"""Staff actions leave audit rows (never a typed username), and only supervisors read the audit page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import get_session
from app.models.audit import AuditEvent
from app.models.staff import Role


def _rows(app) -> list[tuple[str, int | None, str | None]]:
    with app.app_context():
        events = get_session().scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(e.action, e.actor_user_id, e.target) for e in events]


def test_login_and_logout_are_audited(app, staff):
    alice = staff.create("alice", Role.INVESTIGATOR)
    staff.login(alice)
    staff.logout()
    assert [r for r in _rows(app) if r[0].startswith("staff.")] == [
        ("staff.login", alice.id, None),
        ("staff.logout", alice.id, None),
    ]


def test_a_failed_login_names_the_account_by_id_and_never_the_typed_name(app, staff):
    alice = staff.create("alice", Role.INVESTIGATOR)
    assert staff.password_step(alice, password="wrong password entirely").status_code == 401
    ghost = type(alice)(0, "nobody-by-this-name", "whatever password", alice.totp_secret)
    assert staff.password_step(ghost).status_code == 401
    failed = [r for r in _rows(app) if r[0] == "staff.login_failed"]
    assert failed == [("staff.login_failed", None, f"user:{alice.id}"), ("staff.login_failed", None, None)]
    assert not any("nobody" in (r[2] or "") or "alice" in (r[2] or "") for r in _rows(app))


def test_a_wrong_second_factor_is_audited(app, staff):
    alice = staff.create("alice", Role.INVESTIGATOR)
    staff.password_step(alice)
    assert staff.code_step(alice, code="000000").status_code == 401
    assert ("staff.totp_failed", None, f"user:{alice.id}") in _rows(app)


def test_first_login_enrolment_is_audited(app, staff, client):
    import re

    import pyotp

    from tests.functional.conftest import csrf_token

    bob = staff.create("bob", Role.INTAKE, enrolled=False)
    r = staff.password_step(bob)
    assert r.location.endswith("/staff/login/enrol")
    page = client.get("/staff/login/enrol").get_data(as_text=True)
    secret = re.search(r'class="secret"[^>]*>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    r = client.post("/staff/login/enrol", data={"csrf_token": csrf_token(page), "code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302
    actions = [a for a, _u, _t in _rows(app)]
    assert actions[-2:] == ["staff.totp_enrolled", "staff.login"]


def test_admin_changes_are_audited(app, staff):
    admin = staff.create("root", Role.ADMIN)
    staff.login(admin)
    r = staff.post(
        "/staff/admin/users/new",
        {"username": "carol", "display_name": "Carol", "password": "a long enough passphrase 1", "roles": "legal"},
        page="/staff/admin/users/new",
    )
    assert r.status_code == 302
    with app.app_context():
        carol_id = get_session().scalar(select(AuditEvent.target).where(AuditEvent.action == "user.created"))
    assert carol_id and carol_id.startswith("user:")
    r = staff.post(
        f"/staff/admin/{carol_id.replace(':', 's/')}",
        {"display_name": "Carol", "email": "", "roles": "investigator"},  # active unchecked: disables
        page=f"/staff/admin/{carol_id.replace(':', 's/')}",
    )
    assert r.status_code == 302
    r = staff.post(
        "/staff/admin/departments",
        {"code": "AUDITX", "name_ko": "감사과", "name_en": "Audit"},
        page="/staff/admin/departments",
    )
    assert r.status_code == 302
    mine = [(a, t) for a, u, t in _rows(app) if u == admin.id and a != "staff.login"]
    assert [a for a, _t in mine] == [
        "user.created",
        "user.edited",
        "user.roles_set",
        "user.disabled",
        "department.added",
    ]
    assert all(t and ":" in t for _a, t in mine)


def test_a_supervisor_reads_the_audit_page_with_the_chain_state(app, staff, client):
    boss = staff.create("boss", Role.SUPERVISOR)
    staff.login(boss)
    page = client.get("/staff/audit/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<caption>" in html and 'scope="col"' in html
    assert "staff.login" in html and "Chain intact" in html


@pytest.mark.parametrize("role", [r for r in Role if r != Role.SUPERVISOR])
def test_the_audit_page_is_forbidden_to_every_other_role(staff, client, role):
    member = staff.create("someone", role)
    staff.login(member)
    assert client.get("/staff/audit/").status_code == 403


def test_the_audit_page_sends_strangers_to_the_login(client):
    r = client.get("/staff/audit/")
    assert r.status_code == 302 and "/staff/login" in r.location


def test_the_audit_page_filters(app, staff, client):
    boss = staff.create("boss", Role.SUPERVISOR)
    alice = staff.create("alice", Role.INVESTIGATOR)
    staff.login(alice)
    staff.logout()
    staff.login(boss)

    def rows(query: str) -> list[str]:
        html = client.get("/staff/audit/?" + query).get_data(as_text=True)
        body = html.split("<tbody>")[1].split("</tbody>")[0]
        return [chunk.split("</code>")[0] for chunk in body.split("<code>")[1:]]

    assert rows("") == ["staff.login", "staff.logout", "staff.login"]
    assert rows("action=staff.logout") == ["staff.logout"]
    assert rows(f"actor={alice.id}") == ["staff.logout", "staff.login"]
    assert rows("action=staff.login&actor=" + str(boss.id)) == ["staff.login"]
    assert rows("date_from=2000-01-01&date_to=2000-01-31") == []
    assert rows("case=12345") == []
    assert client.get("/staff/audit/?actor=abc").status_code == 400


@pytest.mark.parametrize(
    "query",
    ["case=99999999999999999999", "actor=2147483648", "date_to=9999-12-31", "date_from=0001-01-01"],
)
def test_the_audit_page_answers_an_out_of_range_filter_with_a_form_error_not_a_500(app, staff, client, query):
    staff.login(staff.create("boss", Role.SUPERVISOR))
    r = client.get("/staff/audit/?" + query)
    assert r.status_code == 400
    assert "<tbody>" in r.get_data(as_text=True)  # the page itself, with the form and its error


def test_the_audit_page_pages_by_fifty(app, staff, client):
    from app import audit

    boss = staff.create("boss", Role.SUPERVISOR)
    with app.app_context():
        db = get_session()
        for i in range(60):
            audit.record(db, "test.filler", target=f"user:{i}")
        db.commit()
    staff.login(boss)
    first = client.get("/staff/audit/").get_data(as_text=True)
    assert first.count("<code>") == 50 and "Older rows" in first and "Newer rows" not in first
    href = next(h.split('"')[0] for h in first.split('href="') if "before=" in h.split('"')[0])
    second = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count("<code>") == 11 and "Newer rows" in second


def test_removing_a_team_member_audits_the_removal_and_the_rekey(app, staff):
    from app.models.staff import TeamKind

    boss = staff.create("boss", Role.SUPERVISOR)
    gone = staff.create("gone", Role.INVESTIGATOR)
    team_id = staff.team("investigation", TeamKind.INVESTIGATION, boss, gone)
    staff.login(boss)
    r = staff.post(f"/staff/admin/teams/{team_id}/members/{gone.id}/remove", page="/staff/admin/teams")
    assert r.status_code == 302
    tail = _rows(app)[-2:]
    assert tail == [
        ("team.member_removed", boss.id, f"team:{team_id},user:{gone.id}"),
        ("team.rekeyed", boss.id, f"team:{team_id}"),
    ]
