"""The idea workflow in the one transition table: its own states, reasons for each decision, no mixing with reports."""

from app.cases.workflow import TRANSITIONS, allowed_from, applies, find
from app.models.cases import CaseStatus as S
from app.models.staff import Role as R

IDEA_STATES = {S.RECEIVED, S.UNDER_REVIEW, S.ADOPTED, S.NOT_ADOPTED, S.CLOSED}


def _reachable(start, kind):
    reached, frontier = {start}, [start]
    while frontier:
        state = frontier.pop()
        for t in TRANSITIONS:
            if t.source == state and t.target not in reached and applies(t, kind):
                reached.add(t.target)
                frontier.append(t.target)
    return reached


def test_an_idea_reaches_exactly_its_own_states_from_received():
    assert _reachable(S.RECEIVED, "idea") == IDEA_STATES


def test_adopting_or_not_always_needs_reasons():
    decisions = [t for t in TRANSITIONS if t.target in (S.ADOPTED, S.NOT_ADOPTED)]
    assert decisions and all(t.needs_reasons and t.source == S.UNDER_REVIEW for t in decisions)


def test_an_idea_is_never_acknowledged_and_a_report_never_adopted():
    assert find("received", "acknowledged", "idea") is None
    assert find("received", "under_review", "report") is None
    assert find("under_review", "adopted", "report") is None
    assert [t.target for t in allowed_from("received", frozenset({R.INTAKE}), "idea")] == [S.UNDER_REVIEW]
    assert [t.target for t in allowed_from("received", frozenset({R.INTAKE}), "report")] == [S.ACKNOWLEDGED]


def test_an_idea_cannot_skip_review_or_be_closed_before_a_decision():
    assert find("received", "adopted", "idea") is None
    assert find("received", "not_adopted", "idea") is None
    assert find("under_review", "closed", "idea") is None
    assert not [t for t in TRANSITIONS if t.source == S.CLOSED]


def test_only_the_intake_team_and_supervisors_work_ideas():
    for status in ("received", "under_review", "adopted", "not_adopted"):
        assert allowed_from(status, frozenset({R.INVESTIGATOR, R.LEGAL, R.PROTECTION, R.ADMIN}), "idea") == []
        assert allowed_from(status, frozenset({R.INTAKE}), "idea")
        assert allowed_from(status, frozenset({R.SUPERVISOR}), "idea")


def test_other_kinds_keep_the_shared_workflow():
    assert allowed_from("raised", frozenset({R.INTAKE}), "alert")
    assert allowed_from("received", frozenset({R.INTAKE}), "supporter")[0].target == S.ACKNOWLEDGED
