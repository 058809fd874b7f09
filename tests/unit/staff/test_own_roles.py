"""The roles rule of the staff service: a user's roles are always set by someone else."""

from __future__ import annotations

import pytest

from app.models.staff import Role, StaffRole, StaffUser
from app.staff import service
from app.staff.errors import OwnRolesUnchangeable


def user(user_id: int, *roles: Role) -> StaffUser:
    return StaffUser(id=user_id, username=f"user{user_id}", roles=[StaffRole(role=r.value) for r in roles])


@pytest.mark.parametrize(
    "wanted",
    [
        {Role.ADMIN, Role.SUPERVISOR},  # granting oneself what is kept from administrators
        {Role.ADMIN, Role.PROTECTION},
        {Role.INVESTIGATOR},  # dropping one's own administrator role
        set(),
    ],
)
def test_nobody_changes_their_own_roles(wanted):
    admin = user(1, Role.ADMIN)
    with pytest.raises(OwnRolesUnchangeable):
        service.set_roles(admin, wanted, actor=admin)
    assert admin.role_set == {Role.ADMIN}


def test_saving_ones_own_roles_unchanged_is_no_change():
    admin = user(1, Role.ADMIN, Role.INVESTIGATOR)
    service.set_roles(admin, {Role.INVESTIGATOR, Role.ADMIN}, actor=admin)
    assert admin.role_set == {Role.ADMIN, Role.INVESTIGATOR}


def test_an_administrator_sets_another_administrators_roles():
    first, second = user(1, Role.ADMIN), user(2, Role.ADMIN)
    service.set_roles(first, {Role.ADMIN, Role.SUPERVISOR}, actor=second)
    assert first.role_set == {Role.ADMIN, Role.SUPERVISOR}
