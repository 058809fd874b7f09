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


def test_a_bad_department_code_is_explained_in_korean_on_the_korean_page(app, staff, client):
    """The service's reason is translated: the default (Korean) page does not show an English sentence."""
    from tests.unit.web.helpers import choose_language

    staff.login(staff.create("root", Role.ADMIN))
    choose_language(client, "ko", "/staff/admin/departments")
    page = client.get("/staff/admin/departments").get_data(as_text=True)
    r = client.post(
        "/staff/admin/departments", data={"csrf_token": csrf_token(page), "code": "a b", "name_ko": "x", "name_en": "y"}
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "글자, 숫자, 대시, 밑줄 2~40자" in body and "2 to 40" not in body


def test_a_service_reason_read_outside_a_request_is_in_the_default_language(app):
    """A CLI command printing a refusal has no request: the locale selector answers the default, not an error."""
    from app.cases.departments import DepartmentError, add_department
    from app.db import get_session

    with app.app_context():
        try:
            add_department(get_session(), "a b", "x", "y")
        except DepartmentError as exc:
            assert str(exc) == "코드: 글자, 숫자, 대시, 밑줄 2~40자"
        else:
            raise AssertionError("a bad code was accepted")
