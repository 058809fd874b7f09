"""`flask deadlines remind` names the people who work a case: never one excluded from it since."""

from __future__ import annotations

from app.db import get_session
from app.models.cases import Case
from tests.functional.test_case_workflow import _act, _as, _case, tf  # noqa: F401 (tf is a fixture)


def test_a_person_excluded_after_being_assigned_is_not_named_as_working_the_case(app, staff, client, reporter, tf):  # noqa: F811
    reporter.submit_ok()
    case_id = _case(app).id
    _as(staff, client, tf["intake"])
    assert _act(staff, client, case_id, "assign", user_id=str(tf["investigator"].id)).status_code == 302
    assert _act(staff, client, case_id, "assign", user_id=str(tf["conflicted"].id)).status_code == 302
    excluded = _act(staff, client, case_id, "exclude", user_id=str(tf["conflicted"].id), reason="brother-in-law")
    assert excluded.status_code == 302
    with app.app_context():
        due = get_session().get(Case, case_id).next_due_on
    out = app.test_cli_runner().invoke(args=["deadlines", "remind", "--today", str(due)]).output
    assert "(inv1):" in out and "(inv2)" not in out
