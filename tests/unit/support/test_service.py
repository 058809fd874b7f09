"""The support service: reward arithmetic, the life of a request, four-eyes, the ledger and what the database refuses.

Runs on SQLite, and on PostgreSQL under HAECHI_TEST_DB=postgresql (the ``app`` fixture's database).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from app.db import get_session
from app.models.audit import AuditEvent
from app.models.cases import Case
from app.models.staff import Role
from app.models.support import Disbursement, SupportRequest
from app.runtime import get_settings
from app.staff import service as staff_service
from app.support import service
from app.support.errors import FourEyes, InvalidInput, NotAllowed, OverPayment

NOW = dt.datetime(2026, 5, 4, 3, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 5, 4)


@pytest.mark.parametrize(
    ("recovered", "rate_bp", "expected"),
    [
        (123_456_789, 2000, 24_691_357),  # 24,691,357.8 rounds down
        (1_000_000, 3000, 300_000),
        (9, 2000, 1),  # 1.8 won: one won, never two
        (4, 2000, 0),
        (0, 2000, 0),
        (10**15, 3000, 3 * 10**14),
    ],
)
def test_a_reward_is_recovered_times_rate_in_whole_won_rounded_down(recovered, rate_bp, expected):
    assert service.reward_amount(recovered, rate_bp) == expected


@pytest.mark.parametrize(("recovered", "rate_bp"), [(1_000, 3001), (1_000, -1), (-1, 2000)])
def test_a_reward_above_thirty_percent_or_from_a_negative_recovery_is_refused(recovered, rate_bp):
    with pytest.raises(InvalidInput):
        service.reward_amount(recovered, rate_bp)


@pytest.fixture
def ctx(app):
    with app.app_context():
        db = get_session()
        settings = get_settings()

        def person(name: str, *roles: Role):
            return staff_service.create_user(
                db, settings, username=name, display_name=name, password="correct horse battery", roles=set(roles)
            )

        people = {
            "legal": person("legal", Role.LEGAL),
            "legal2": person("legal2", Role.LEGAL),
            "super": person("super", Role.SUPERVISOR),
            "both": person("both", Role.LEGAL, Role.SUPERVISOR),
            "investigator": person("inv", Role.INVESTIGATOR),
        }
        case = Case(
            public_ref="HC-2026-TEST01",
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


def _approved(ctx, amount_requested: int, approved: int, decider: str = "legal", type_: str = "legal_counsel"):
    db, settings, case, key, p = ctx
    req = service.request_support(
        db,
        settings,
        case,
        key,
        service.NewRequest(type_, amount_requested, "counsel for the hearing"),
        [],
        NOW,
        staff=p["legal"],
    )
    service.start_review(db, req, p[decider], req.version, NOW)
    service.decide(
        db,
        case,
        key,
        req,
        p[decider],
        approve=True,
        amount=approved,
        reasons="" if approved == amount_requested else "only the hearing",
        expected_version=req.version,
        now=NOW,
    )
    return req


def _pay(ctx, req, amount: int, who: str = "legal", ref: str = "TX-1", on: dt.date = TODAY):
    db, settings, _case, _key, p = ctx
    return service.pay(
        db, settings, req, p[who], amount=amount, paid_on=on, payment_ref=ref, expected_version=None, now=NOW
    )


def test_below_the_threshold_one_approval_suffices(ctx):
    req = _approved(ctx, 3_000_000, 3_000_000)
    assert req.status == "approved" and not service.needs_confirmation(ctx[1], req)
    _pay(ctx, req, 3_000_000)
    assert (req.status, req.paid_total) == ("paid", 3_000_000)


def test_above_the_threshold_payment_waits_for_a_supervisors_confirmation(ctx):
    db, settings, _case, _key, p = ctx
    req = _approved(ctx, 8_000_000, 8_000_000)
    with pytest.raises(FourEyes):
        _pay(ctx, req, 1_000_000)
    service.confirm(db, settings, req, p["super"], req.version, NOW)
    assert req.second_approver_id == p["super"].id
    _pay(ctx, req, 8_000_000)
    assert req.paid_total == 8_000_000


def test_splitting_a_large_amount_into_requests_under_the_threshold_still_needs_a_supervisor(ctx):
    """Review finding: 3 x 5,000,000 won by one officer must not be payable without a second approver."""
    db, settings, _case, _key, p = ctx
    first = _approved(ctx, 5_000_000, 5_000_000)
    _pay(ctx, first, 5_000_000)  # the first stays within the threshold on its own
    second = _approved(ctx, 5_000_000, 5_000_000)
    assert service.needs_confirmation(settings, second)
    with pytest.raises(FourEyes):
        _pay(ctx, second, 5_000_000)
    service.confirm(db, settings, second, p["super"], second.version, NOW)
    _pay(ctx, second, 5_000_000)
    third = _approved(ctx, 1, 1)
    assert service.needs_confirmation(settings, third)  # the first is still unconfirmed


def test_the_same_person_can_never_approve_twice(ctx):
    db, settings, _case, _key, p = ctx
    req = _approved(ctx, 8_000_000, 8_000_000, decider="both")
    with pytest.raises(FourEyes):
        service.confirm(db, settings, req, p["both"], req.version, NOW)
    service.confirm(db, settings, req, p["super"], req.version, NOW)
    with pytest.raises(FourEyes):
        service.confirm(db, settings, req, p["super"], req.version, NOW)


def test_the_database_refuses_a_second_approver_equal_to_the_decider(ctx):
    db, _settings, _case, _key, p = ctx
    req = _approved(ctx, 8_000_000, 8_000_000)
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(
            text("UPDATE support_requests SET second_approver_id = :u WHERE id = :r"), {"u": p["legal"].id, "r": req.id}
        )


def test_only_a_legal_officer_decides_and_only_a_supervisor_confirms(ctx):
    db, settings, case, key, p = ctx
    req = service.request_support(
        db, settings, case, key, service.NewRequest("legal_counsel", 100_000), [], NOW, staff=p["legal"]
    )
    with pytest.raises(NotAllowed):
        service.start_review(db, req, p["super"], None, NOW)
    service.start_review(db, req, p["legal"], None, NOW)
    with pytest.raises(NotAllowed):
        service.decide(
            db, case, key, req, p["super"], approve=True, amount=1, reasons="", expected_version=None, now=NOW
        )
    with pytest.raises(NotAllowed):
        service.request_support(
            db, settings, case, key, service.NewRequest("legal_counsel", 1), [], NOW, staff=p["investigator"]
        )
    big = _approved(ctx, 9_000_000, 9_000_000)
    with pytest.raises(NotAllowed):
        service.confirm(db, settings, big, p["legal2"], None, NOW)


def test_partial_approval_and_refusal_need_reasons(ctx):
    db, settings, case, key, p = ctx
    req = service.request_support(
        db, settings, case, key, service.NewRequest("relief_medical", 1_000_000), [], NOW, staff=p["legal"]
    )
    service.start_review(db, req, p["legal"], None, NOW)
    for approve, amount in ((True, 500_000), (False, None)):
        with pytest.raises(InvalidInput):
            service.decide(
                db,
                case,
                key,
                req,
                p["legal"],
                approve=approve,
                amount=amount,
                reasons=" ",
                expected_version=None,
                now=NOW,
            )
    with pytest.raises(InvalidInput):
        service.decide(
            db, case, key, req, p["legal"], approve=True, amount=1_000_001, reasons="x", expected_version=None, now=NOW
        )
    service.decide(
        db,
        case,
        key,
        req,
        p["legal"],
        approve=True,
        amount=600_000,
        reasons="Only two visits",
        expected_version=None,
        now=NOW,
    )
    assert req.status == "partly_approved" and req.amount_approved == 600_000


def test_over_payment_is_refused_by_the_service(ctx):
    req = _approved(ctx, 2_000_000, 2_000_000)
    _pay(ctx, req, 1_500_000)
    with pytest.raises(OverPayment):
        _pay(ctx, req, 500_001, ref="TX-2")
    _pay(ctx, req, 500_000, ref="TX-2")
    assert req.paid_total == 2_000_000


def test_over_payment_inserted_directly_is_refused_by_the_database(ctx):
    db, _settings, _case, _key, p = ctx
    req = _approved(ctx, 2_000_000, 2_000_000)
    _pay(ctx, req, 1_500_000)
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(
            Disbursement(
                support_request_id=req.id, amount=500_001, paid_on=TODAY, payment_ref="X", created_by=p["legal"].id
            )
        )
        db.flush()
    db.expire_all()
    assert db.get(SupportRequest, req.id).paid_total == 1_500_000


def test_an_unapproved_request_cannot_be_paid_even_directly(ctx):
    db, settings, case, key, p = ctx
    req = service.request_support(
        db, settings, case, key, service.NewRequest("legal_counsel", 100_000), [], NOW, staff=p["legal"]
    )
    with pytest.raises(NotAllowed):
        _pay(ctx, req, 1)
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(
            Disbursement(support_request_id=req.id, amount=1, paid_on=TODAY, payment_ref="X", created_by=p["legal"].id)
        )
        db.flush()


def test_ledger_entries_are_never_updated_or_deleted(ctx):
    db, _settings, _case, _key, _p = ctx
    entry = _pay(ctx, _approved(ctx, 100_000, 100_000), 100_000)
    for statement in ("UPDATE disbursements SET amount = 1 WHERE id = :i", "DELETE FROM disbursements WHERE id = :i"):
        with pytest.raises(IntegrityError), db.begin_nested():
            db.execute(text(statement), {"i": entry.id})


def test_a_reversal_undoes_a_payment_once_and_frees_the_amount(ctx):
    db, _settings, _case, _key, p = ctx
    req = _approved(ctx, 1_000_000, 1_000_000)
    entry = _pay(ctx, req, 1_000_000)
    reversal = service.reverse(db, req, entry, p["legal"], paid_on=TODAY, payment_ref="TX-1-R", now=NOW)
    assert (reversal.amount, reversal.reverses_id) == (-1_000_000, entry.id)
    assert (req.paid_total, req.status) == (0, "approved")
    with pytest.raises(NotAllowed):
        service.reverse(db, req, entry, p["legal"], paid_on=TODAY, payment_ref="TX-1-R2", now=NOW)
    with pytest.raises(NotAllowed):
        service.reverse(db, req, reversal, p["legal"], paid_on=TODAY, payment_ref="TX-1-RR", now=NOW)
    # And the database refuses a second reversal or a reversal of the wrong amount written by hand.
    for amount, reverses in ((-1_000_000, entry.id), (-5, entry.id)):
        with pytest.raises(IntegrityError), db.begin_nested():
            db.add(
                Disbursement(
                    support_request_id=req.id,
                    amount=amount,
                    paid_on=TODAY,
                    payment_ref="H",
                    reverses_id=reverses,
                    created_by=p["legal"].id,
                )
            )
            db.flush()
    _pay(ctx, req, 1_000_000, ref="TX-3")
    assert req.paid_total == 1_000_000


def test_reward_for_an_internal_reporter_is_computed_and_compensation_refused(ctx):
    db, settings, case, key, p = ctx
    data = service.NewRequest("reward", None, "recovered subsidy", 123_456_789, dt.date(2026, 4, 30))
    req = service.request_support(db, settings, case, key, data, [], NOW, staff=p["legal"])
    assert (req.amount_requested, req.reward_rate_bp) == (24_691_357, 2000)
    assert (req.recovered_amount, req.final_decision_on) == (123_456_789, dt.date(2026, 4, 30))
    with pytest.raises(InvalidInput):
        service.request_support(
            db, settings, case, key, service.NewRequest("compensation", 10), [], NOW, staff=p["legal"]
        )
    with pytest.raises(InvalidInput):
        service.request_support(
            db, settings, case, key, service.NewRequest("reward", None, "", None, None), [], NOW, staff=p["legal"]
        )
    with pytest.raises(NotAllowed):
        service.request_support(db, settings, case, key, data, [], NOW, staff=None)


def test_budget_remaining_is_budget_minus_paid_in_that_year(ctx):
    db, _settings, _case, _key, p = ctx
    service.set_budget(db, p["super"], 2026, "legal_counsel", 10_000_000, NOW)
    service.set_budget(db, p["legal"], 2026, "legal_counsel", 12_000_000, NOW)  # changed, not duplicated
    req = _approved(ctx, 3_000_000, 3_000_000)
    first = _pay(ctx, req, 1_000_000, on=dt.date(2026, 1, 5))
    _pay(ctx, req, 500_000, ref="TX-2", on=dt.date(2025, 12, 30))
    service.reverse(db, req, first, p["legal"], paid_on=dt.date(2026, 2, 1), payment_ref="TX-1-R", now=NOW)
    _pay(ctx, req, 2_000_000, ref="TX-3", on=dt.date(2026, 3, 1))
    lines = {b.support_type: b for b in service.budget_lines(db, 2026)}
    assert (lines["legal_counsel"].budget, lines["legal_counsel"].paid) == (12_000_000, 2_000_000)
    assert lines["legal_counsel"].remaining == 10_000_000
    assert lines["reward"].budget is None and lines["reward"].paid == 0
    assert {b.support_type: b.paid for b in service.budget_lines(db, 2025)}["legal_counsel"] == 500_000


def test_csv_export_sums_match_the_ledger_and_carry_no_free_text(ctx):
    db, _settings, case, _key, p = ctx
    a = _approved(ctx, 3_000_000, 3_000_000)
    b = _approved(ctx, 900_000, 700_000, type_="relief_medical")
    e1 = _pay(ctx, a, 1_000_000)
    with pytest.raises(InvalidInput):  # a formula never reaches the accountant's spreadsheet
        _pay(ctx, a, 2_000_000, ref="=HYPERLINK(1)")
    _pay(ctx, a, 2_000_000, ref="TX-A2")
    _pay(ctx, b, 700_000, ref="TX-B")
    service.reverse(db, a, e1, p["legal"], paid_on=TODAY, payment_ref="TX-1-R", now=NOW)
    # The export lists only cases the exporter can open: without a grant, nothing.
    assert list(csv.DictReader(io.StringIO(service.export_csv(db, p["super"], 2026, NOW)))) == []
    from app.cases.keys import grant_user

    grant_user(case, os.urandom(32), p["super"])
    db.flush()
    body = service.export_csv(db, p["super"], 2026, NOW)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 4
    assert sum(int(r["amount"]) for r in rows) == db.scalar(select(func.sum(Disbursement.amount))) == 2_700_000
    assert sum(int(r["amount"]) for r in rows) == service.ledger(db, 2026).total
    assert {r["case_ref"] for r in rows} == {case.public_ref}
    assert any(r["reverses_entry_id"] == str(e1.id) and int(r["amount"]) == -1_000_000 for r in rows)
    assert "for the hearing" not in body and "only the hearing" not in body
    assert set(db.scalars(select(AuditEvent.target).where(AuditEvent.action == "ledger.exported"))) == {"year:2026"}


def test_details_and_reasons_are_stored_encrypted_under_the_agreed_purposes(ctx):
    db, settings, case, key, _p = ctx
    req = _approved(ctx, 900_000, 700_000)
    raw = db.execute(text("SELECT details_ct, reasons_ct FROM support_requests WHERE id = :i"), {"i": req.id}).one()
    assert b"counsel for the hearing" not in raw[0] and b"only the hearing" not in raw[1]
    cipher = service.case_cipher(case, key)
    assert cipher.decrypt_text(f"support.details:{req.id}", raw[0]) == "counsel for the hearing"
    assert cipher.decrypt_text(f"support.reasons:{req.id}", raw[1]) == "only the hearing"
    view = service.read_request(db, settings, case, key, req)
    assert (view.details, view.reasons) == ("counsel for the hearing", "only the hearing")


def test_every_step_is_audited(ctx):
    db, settings, _case, _key, p = ctx
    req = _approved(ctx, 8_000_000, 8_000_000)
    service.confirm(db, settings, req, p["super"], None, NOW)
    entry = _pay(ctx, req, 8_000_000)
    service.reverse(db, req, entry, p["legal"], paid_on=TODAY, payment_ref="R", now=NOW)
    _pay(ctx, req, 8_000_000, ref="TX-2")
    service.close(db, req, p["legal"], None, NOW)
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.case_id == req.case_id)))
    assert {
        "support.requested",
        "support.reviewed",
        "support.approved",
        "support.confirmed",
        "support.paid",
        "support.reversed",
        "support.closed",
    } <= actions
    with pytest.raises(NotAllowed):
        _pay(ctx, req, 1, ref="late")


def test_a_stale_page_cannot_decide(ctx):
    db, settings, case, key, p = ctx
    req = service.request_support(
        db, settings, case, key, service.NewRequest("legal_counsel", 100_000), [], NOW, staff=p["legal"]
    )
    old = req.version
    service.start_review(db, req, p["legal"], old, NOW)
    from app.support.errors import ChangedMeanwhile

    with pytest.raises(ChangedMeanwhile):
        service.decide(
            db, case, key, req, p["legal2"], approve=False, amount=None, reasons="no", expected_version=old, now=NOW
        )
