"""Admins maintain the department list reporters choose from."""

from app.models.staff import Role

from .conftest import ReporterAuth, csrf_token


def test_an_admin_adds_and_hides_a_department_and_reporters_see_the_change(app, staff, client):
    admin = staff.create("root", Role.ADMIN)
    staff.login(admin)
    page = client.get("/staff/admin/departments").get_data(as_text=True)
    r = client.post(
        "/staff/admin/departments",
        data={"csrf_token": csrf_token(page), "code": "roads", "name_ko": "도로과", "name_en": "Roads"},
    )
    assert r.status_code == 302
    reporter = ReporterAuth(app.test_client())
    assert "도로과" in reporter.client.get("/report").get_data(as_text=True)
    page = client.get("/staff/admin/departments").get_data(as_text=True)
    assert "ROADS" in page
    r = client.post("/staff/admin/departments/1/toggle", data={"csrf_token": csrf_token(page), "active": "0"})
    assert r.status_code == 302
    assert "도로과" not in reporter.client.get("/report").get_data(as_text=True)


def test_a_bad_department_code_is_a_clear_error(app, staff, client):
    staff.login(staff.create("root", Role.ADMIN))
    page = client.get("/staff/admin/departments").get_data(as_text=True)
    r = client.post(
        "/staff/admin/departments", data={"csrf_token": csrf_token(page), "code": "a b", "name_ko": "x", "name_en": "y"}
    )
    assert r.status_code == 200 and "2 to 40" in r.get_data(as_text=True)
