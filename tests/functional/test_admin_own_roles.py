"""Nobody changes their own roles: an administrator cannot grant themselves what is kept from administrators.

Review finding: the user page only stopped an admin from dropping their own
admin role, so an admin could tick "supervisor" on themselves and then read
what only supervisors see (raw quarantined bridge bytes, the audit log).
Granting a role to someone else stays an administrator's action.
"""

from __future__ import annotations

import html

from sqlalchemy import select

from app.db import get_session
from app.models.audit import AuditEvent
from app.models.staff import Role, StaffUser

from .conftest import StaffAuth, StaffMember

REFUSED = "You cannot change your own roles; another administrator must do it."


def edit(staff: StaffAuth, member: StaffMember, roles: list[str], active: bool = True):
    url = f"/staff/admin/users/{member.id}"
    data: dict[str, object] = {"display_name": "Renamed", "email": "", "roles": roles}
    if active:
        data["active"] = "y"
    return staff.post(url, data, page=url)


def roles_of(app, member: StaffMember) -> set[str]:
    with app.app_context():
        return {r.value for r in get_session().get(StaffUser, member.id).role_set}


def user_audit(app, member: StaffMember) -> list[str]:
    with app.app_context():
        return list(
            get_session().scalars(
                select(AuditEvent.action)
                .where(AuditEvent.target == f"user:{member.id}", AuditEvent.action.like("user.%"))
                .order_by(AuditEvent.id)
            )
        )


def test_an_admin_cannot_grant_themselves_a_role(app, staff, client):
    admin = staff.create("root", Role.ADMIN)
    staff.login(admin)
    assert client.get("/staff/audit/").status_code == 403  # kept from administrators

    r = edit(staff, admin, ["admin", "supervisor"])

    assert r.status_code == 200 and REFUSED in html.unescape(r.get_data(as_text=True))
    assert roles_of(app, admin) == {"admin"}
    assert client.get("/staff/audit/").status_code == 403
    # Nothing of the form was saved (the name either), and nothing was audited as done.
    with app.app_context():
        assert get_session().get(StaffUser, admin.id).display_name == "Root"
    assert user_audit(app, admin) == []


def test_an_admin_cannot_drop_their_own_admin_role_or_swap_it(app, staff):
    admin = staff.create("root", Role.ADMIN, Role.INVESTIGATOR)
    staff.login(admin)
    for roles in (["investigator"], ["admin"], ["admin", "investigator", "protection"]):
        r = edit(staff, admin, roles)
        assert r.status_code == 200 and REFUSED in html.unescape(r.get_data(as_text=True)), roles
    assert roles_of(app, admin) == {"admin", "investigator"}


def test_an_admin_cannot_disable_themselves(app, staff):
    admin = staff.create("root", Role.ADMIN)
    staff.login(admin)
    r = edit(staff, admin, ["admin"], active=False)
    assert r.status_code == 200 and "You cannot disable your own account." in r.get_data(as_text=True)
    with app.app_context():
        assert get_session().get(StaffUser, admin.id).is_active


def test_an_admin_still_edits_their_own_name_with_their_roles_unchanged(app, staff):
    admin = staff.create("root", Role.ADMIN, Role.INVESTIGATOR)
    staff.login(admin)
    r = edit(staff, admin, ["admin", "investigator"])
    assert r.status_code == 302
    with app.app_context():
        assert get_session().get(StaffUser, admin.id).display_name == "Renamed"
    assert roles_of(app, admin) == {"admin", "investigator"}
    assert user_audit(app, admin) == ["user.edited"]


def test_another_admin_grants_and_removes_an_admins_roles(app, staff, client):
    first = staff.create("root", Role.ADMIN)
    second = staff.create("root2", Role.ADMIN)
    staff.login(second)

    r = edit(staff, first, ["admin", "supervisor"])
    assert r.status_code == 302
    assert roles_of(app, first) == {"admin", "supervisor"}
    r = edit(staff, first, ["supervisor"])
    assert r.status_code == 302
    assert roles_of(app, first) == {"supervisor"}
    assert user_audit(app, first) == ["user.edited", "user.roles_set", "user.edited", "user.roles_set"]

    staff.logout()
    staff.login(first)
    assert client.get("/staff/audit/").status_code == 200
