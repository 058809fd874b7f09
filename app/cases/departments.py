"""Departments of the city: the list reporters choose from, maintained by admins."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.cases import Department
from app.web.i18n import lazy_gettext as _l


class DepartmentError(Exception):
    """A department code is malformed or taken."""


def all_departments(session: Session) -> list[Department]:
    """Every department, active or not, by code."""
    return list(session.scalars(select(Department).order_by(Department.code)))


def add_department(session: Session, code: str, name_ko: str, name_en: str) -> Department:
    """Add a department; codes are short upper-case identifiers, unique."""
    code = code.strip().upper()
    if not re.fullmatch(r"[A-Z0-9_-]{2,40}", code):
        raise DepartmentError(_l("code: 2 to 40 letters, digits, dash or underscore"))
    if not name_ko.strip() or not name_en.strip():
        raise DepartmentError(_l("both names are needed"))
    if session.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise DepartmentError(_l("code %(code)s exists", code=code))
    dept = Department(code=code, name_ko=name_ko.strip(), name_en=name_en.strip(), active=True)
    session.add(dept)
    session.flush()
    return dept


def set_department_active(session: Session, dept_id: int, active: bool) -> Department | None:
    """Show or hide a department in the reporter's list (cases keep pointing at it)."""
    dept = session.get(Department, dept_id)
    if dept is not None:
        dept.active = active
    return dept


DEMO_DEPARTMENTS = [
    ("FINANCE", "재정과", "Finance"),
    ("TAX", "세무과", "Local Tax"),
    ("PERMITS", "인허가과", "Permits and Licences"),
    ("CONTRACTS", "계약과", "Contracts and Procurement"),
    ("WELFARE", "복지정책과", "Welfare Policy"),
    ("CONSTRUCTION", "건설과", "Construction"),
    ("PERSONNEL", "인사과", "Personnel"),
]
