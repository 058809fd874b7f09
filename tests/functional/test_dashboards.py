"""Dashboards: supervisors see every case counted, a team its own; charts without JavaScript; CSV per panel."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.db import get_session
from app.models import AuditEvent, Case, Role, TeamKind
from tests.functional.conftest import csrf_token

CANARY = "CANARY-DASH-5b1e"


def _report(reporter) -> None:
    reporter.submit_ok(what=f"Cash at the permits desk {CANARY}")


def _cell(html: str, panel: str, row: str) -> list[str]:
    """The cells of one row of one panel's table."""
    section = html.split(f'id="{panel}-table"', 1)[1].split("</table>", 1)[0]
    m = re.search(rf'<th scope="row">{re.escape(row)}</th>(.*?)</tr>', section, re.S)
    assert m, (panel, row)
    return re.findall(r"<td>(.*?)</td>", m.group(1))


def test_the_supervisor_dashboard_counts_every_case_and_shows_no_reference_or_content(app, office, staff, reporter):
    _report(reporter)
    _report(reporter.__class__(app.test_client()).english())
    boss = staff.create("boss", Role.SUPERVISOR)
    staff.login(boss)
    r = staff.client.get("/staff/dashboards/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert _cell(html, "cases_kind", "Report") == ["2"]
    assert _cell(html, "cases_status", "Received") == ["2"]
    with app.app_context():
        refs = get_session().scalars(select(Case.public_ref)).all()
    for secret in (*refs, CANARY, "permits desk"):
        assert secret not in html


def test_every_chart_is_an_svg_image_with_a_title_and_its_numbers_in_a_captioned_table(app, office, staff, reporter):
    _report(reporter)
    boss = staff.create("boss", Role.SUPERVISOR)
    staff.login(boss)
    html = staff.client.get("/staff/dashboards/").get_data(as_text=True)
    svgs = re.findall(r"<svg [^>]*role=\"img\"[^>]*>", html)
    assert svgs, "no chart"
    for svg in svgs:
        chart_id = re.search(r'aria-labelledby="([^"]+)-title"', svg).group(1)
        assert f'<title id="{chart_id}-title">' in html
    assert html.count("<caption>") == 10  # one table per panel
    assert "<script" not in html and "style=" not in html  # no JavaScript, no inline style (CSP)


def test_a_team_dashboard_counts_only_the_teams_cases(app, office, staff, reporter):
    _report(reporter)
    investigator = staff.create("inv", Role.INVESTIGATOR)
    staff.team("investigation", TeamKind.INVESTIGATION, investigator)

    staff.login(office["intake"])
    html = staff.client.get("/staff/dashboards/team").get_data(as_text=True)
    assert "Team dashboard: intake" in html
    assert _cell(html, "cases_kind", "Report") == ["1"]
    staff.logout()

    staff.login(investigator)
    html = staff.client.get("/staff/dashboards/team").get_data(as_text=True)
    assert "Team dashboard: investigation" in html
    assert (
        'id="cases_kind-table"' in html and "Report" not in html.split('id="cases_kind-table"')[1].split("</table>")[0]
    )
    # Asking for a team one is not in gets the same answer as a team that does not exist.
    with app.app_context():
        from app.models import Team

        intake_id = get_session().scalars(select(Team.id).where(Team.name == "intake")).one()
    assert staff.client.get(f"/staff/dashboards/team?team={intake_id}").status_code == 404


def test_a_panel_downloads_as_csv_with_the_same_numbers_and_the_export_is_audited(app, office, staff, reporter):
    _report(reporter)
    boss = staff.create("boss", Role.SUPERVISOR)
    staff.login(boss)
    page = staff.client.get("/staff/dashboards/").get_data(as_text=True)
    r = staff.client.post(
        "/staff/dashboards/export",
        data={"csrf_token": csrf_token(page), "panel": "cases_kind", "year": "2026", "team": ""},
    )
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data(as_text=True).lstrip("\ufeff")
    assert text.splitlines()[:2] == ["Kind,Cases", "Report,1"]
    assert "attachment" in r.headers["Content-Disposition"]
    with app.app_context():
        actions = get_session().scalars(select(AuditEvent.target).where(AuditEvent.action == "dashboard.exported"))
        assert list(actions) == ["cases_kind:all:2026"]


def test_only_a_supervisor_exports_the_whole_office_and_an_unknown_panel_is_refused(app, office, staff):
    staff.login(office["intake"])
    page = staff.client.get("/staff/dashboards/team").get_data(as_text=True)
    token = csrf_token(page)
    r = staff.client.post(
        "/staff/dashboards/export", data={"csrf_token": token, "panel": "cases_kind", "year": "2026", "team": ""}
    )
    assert r.status_code == 403
    r = staff.client.post(
        "/staff/dashboards/export", data={"csrf_token": token, "panel": "reporters", "year": "2026", "team": "1"}
    )
    assert r.status_code == 400


def test_the_dashboards_and_notification_settings_are_in_korean_by_default(app, office, staff):
    from tests.functional.conftest import StaffAuth

    korean = StaffAuth.__new__(StaffAuth)
    korean.__dict__.update(staff.__dict__)
    korean.client = app.test_client()
    boss = staff.create("boss", Role.SUPERVISOR)
    korean.login(boss)
    html = korean.client.get("/staff/dashboards/").get_data(as_text=True)
    assert '<html lang="ko">' in html and "감독자 현황판" in html and "종류별 사건" in html
    assert "<h1>팀 현황판</h1>" in korean.client.get("/staff/dashboards/team").get_data(as_text=True)
    assert "<h1>알림 설정</h1>" in korean.client.get("/staff/notifications/").get_data(as_text=True)


def _import_alerts(app, tmp_path, *systems: str) -> None:
    from app.runtime import get_secrets, get_settings
    from monitoring_bridge.importer import import_file
    from tests.functional.test_bridge import alert, jsonl

    r = app.test_cli_runner().invoke(args=["bridge", "source", "add", "cheongbaek", "--kind", "cheongbaek"])
    assert r.exit_code == 0, r.output
    path = jsonl(tmp_path / "alerts.jsonl", [alert(n, system=s) for n, s in enumerate(systems)])
    with app.app_context():
        import_file(get_session(), get_settings(), "cheongbaek", path, bridge_key=get_secrets().bridge_key)


def test_open_alerts_are_counted_per_linked_system_named_in_english_and_korean(app, office, staff, tmp_path):
    from tests.functional.conftest import StaffAuth

    _import_alerts(app, tmp_path, "e_hojo", "e_hojo", "saeol")
    boss = staff.create("boss", Role.SUPERVISOR)
    staff.login(boss)
    html = staff.client.get("/staff/dashboards/").get_data(as_text=True)
    assert _cell(html, "alerts_system", "Local finance (e-Hojo)")[:1] == ["2"]
    assert _cell(html, "alerts_system", "Saeol permits and licences")[:1] == ["1"]
    assert "cheongbaek</th>" not in html  # grouped by system, no longer by bridge source
    korean = StaffAuth.__new__(StaffAuth)
    korean.__dict__.update(staff.__dict__)
    korean.client = app.test_client()
    korean.login(boss)
    html = korean.client.get("/staff/dashboards/").get_data(as_text=True)
    assert _cell(html, "alerts_system", "지방재정(e호조)")[:1] == ["2"]
    assert _cell(html, "alerts_system", "새올 인허가")[:1] == ["1"]


def test_the_protection_panel_is_only_on_custodian_team_dashboards_and_its_csv_is_refused_to_others(
    app, office, staff, reporter
):
    reporter.submit_ok(public_officer="yes", name="Kim", employee_number="CANARY-EMP-7731")
    staff.login(office["intake"])
    page = staff.client.get("/staff/dashboards/team").get_data(as_text=True)
    assert 'id="cases_kind-table"' in page and 'id="protection-table"' not in page
    with app.app_context():
        from app.models import Team

        intake_id = get_session().scalars(select(Team.id).where(Team.name == "intake")).one()
    r = staff.client.post(
        "/staff/dashboards/export",
        data={"csrf_token": csrf_token(page), "panel": "protection", "year": "2026", "team": str(intake_id)},
    )
    assert r.status_code == 403
    staff.logout()
    staff.login(office["protector"])
    page = staff.client.get("/staff/dashboards/team").get_data(as_text=True)
    assert 'id="protection-table"' in page


def test_a_team_or_year_that_is_not_a_short_ascii_number_is_refused_not_a_server_error(app, office, staff):
    staff.login(office["intake"])
    for bad in ("%C2%B2", "9" * 30, "-1"):
        assert staff.client.get(f"/staff/dashboards/team?team={bad}").status_code == 404
    token = csrf_token(staff.client.get("/staff/dashboards/team").get_data(as_text=True))
    for field in ("team", "year"):
        data = {"csrf_token": token, "panel": "cases_kind", "year": "2026", "team": "1", field: "²"}
        assert staff.client.post("/staff/dashboards/export", data=data).status_code == 400
