"""Four eyes over split requests: the order in which an officer decides them changes nothing.

Review finding: only older unconfirmed approvals were counted, so three requests
of 5,000,000 won decided (and paid) newest first were each alone under the
threshold and 15,000,000 won went out without a second approver.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from app.db import get_session
from app.models.cases import Case
from app.models.staff import Role
from app.models.support import SupportRequest
from app.runtime import get_settings
from app.staff import service as staff_service
from app.support import service
from app.support.errors import FourEyes

NOW = dt.datetime(2026, 5, 4, 3, 0, tzinfo=dt.UTC)
FIVE_MILLION = 5_000_000  # the threshold in the test settings: each request alone is within it


@pytest.fixture
def ctx(app):
    """A case, a legal officer and a supervisor (as in test_service.py)."""
    with app.app_context():
        db = get_session()
        settings = get_settings()
        assert settings.support_four_eyes_won == FIVE_MILLION
        people = {
            name: staff_service.create_user(
                db, settings, username=name, display_name=name, password="correct horse battery", roles={role}
            )
            for name, role in (("legal", Role.LEGAL), ("super", Role.SUPERVISOR))
        }
        case = Case(
            public_ref="HC-2026-SPLIT1",
            kind="report",
            source="web",
            status="investigating",
            received_on=dt.date(2026, 3, 2),
            internal_reporter=True,
        )
        db.add(case)
        db.flush()
        yield db, settings, case, os.urandom(32), people
        db.rollback()


def _requested(ctx, amount: int) -> SupportRequest:
    db, settings, case, key, p = ctx
    req = service.request_support(
        db, settings, case, key, service.NewRequest("legal_counsel", amount, "counsel"), [], NOW, staff=p["legal"]
    )
    service.start_review(db, req, p["legal"], req.version, NOW)
    return req


def _approve(ctx, req: SupportRequest) -> None:
    db, _settings, case, key, p = ctx
    service.decide(
        db,
        case,
        key,
        req,
        p["legal"],
        approve=True,
        amount=req.amount_requested,
        reasons="",
        expected_version=req.version,
        now=NOW,
    )


def _pay(ctx, req: SupportRequest, amount: int) -> None:
    db, settings, _case, _key, p = ctx
    service.pay(
        db, settings, req, p["legal"], amount=amount, paid_on=None, payment_ref="TX-1", expected_version=None, now=NOW
    )


@pytest.mark.parametrize("order", ["oldest_first", "newest_first"])
def test_split_requests_need_a_supervisor_whichever_is_decided_first(ctx, order):
    db, settings, _case, _key, p = ctx
    reqs = [_requested(ctx, FIVE_MILLION) for _ in range(3)]
    if order == "newest_first":
        reqs.reverse()
    first, second, third = reqs

    _approve(ctx, first)
    assert not service.needs_confirmation(settings, first)  # alone it is within the threshold
    _pay(ctx, first, FIVE_MILLION)

    for req in (second, third):
        _approve(ctx, req)
        assert service.needs_confirmation(settings, req), order
        assert service.awaiting_confirmation(settings, req), order
        with pytest.raises(FourEyes):
            _pay(ctx, req, FIVE_MILLION)
    assert sum(r.paid_total for r in reqs) == FIVE_MILLION

    # A supervisor's confirmation releases that one request only: the third, with the
    # unconfirmed first, is still above the threshold.
    service.confirm(db, settings, second, p["super"], second.version, NOW)
    _pay(ctx, second, FIVE_MILLION)
    with pytest.raises(FourEyes):
        _pay(ctx, third, FIVE_MILLION)
    assert [r.second_approver_id for r in reqs] == [None, p["super"].id, None]


@pytest.mark.parametrize("order", ["oldest_first", "newest_first"])
def test_an_unpaid_approval_waits_once_another_one_takes_the_case_above_the_threshold(ctx, order):
    db, settings, _case, _key, p = ctx
    reqs = [_requested(ctx, 3_000_000) for _ in range(2)]
    if order == "newest_first":
        reqs.reverse()
    first, second = reqs
    _approve(ctx, first)
    assert not service.awaiting_confirmation(settings, first)
    _approve(ctx, second)
    # 6,000,000 won approved on the case and nobody confirmed any of it: neither is paid alone.
    for req in reqs:
        assert service.awaiting_confirmation(settings, req), order
        with pytest.raises(FourEyes):
            _pay(ctx, req, 3_000_000)
    service.confirm(db, settings, first, p["super"], first.version, NOW)
    _pay(ctx, first, 3_000_000)
    assert first.paid_total == 3_000_000


def test_a_request_paid_within_the_threshold_is_not_shown_as_waiting_when_a_later_one_is(ctx):
    db, settings, case, key, _p = ctx
    paid, later = (_requested(ctx, FIVE_MILLION) for _ in range(2))
    _approve(ctx, paid)
    _pay(ctx, paid, FIVE_MILLION)
    _approve(ctx, later)
    assert service.read_request(db, settings, case, key, later).awaiting_confirmation
    shown = service.read_request(db, settings, case, key, paid)
    # Paid before anything else was approved: no second approval to wait for (and none asked of a supervisor).
    assert not shown.needs_confirmation and not shown.awaiting_confirmation
