"""Retention: a real case is submitted, closed, reminded once and crypto-shredded on its day.

The case comes in through the reporter's web form with a file and an
identity; it is closed by setting what the workflow service will set.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import LargeBinary, func, or_, select

from app.cases import retention
from app.db import Base, get_session, utcnow
from app.models import (
    Attachment,
    AuditEvent,
    BridgeRecord,
    BridgeSource,
    Case,
    CaseAssignment,
    CaseEntry,
    CaseExcludedMember,
    CaseKeyGrant,
    CaseLabel,
    CaseLink,
    CaseSubject,
    CheckIn,
    ComplianceCheck,
    Disbursement,
    IdentityAccessRequest,
    IdentityApproval,
    IdentityRecord,
    IdentityRelease,
    PersonnelEvent,
    ProtectedPerson,
    RetaliationAlert,
    RetentionRecord,
    Role,
    SubjectKind,
    SupportRequest,
    Team,
)
from app.models.bridge import BridgeCaseKey
from app.runtime import get_blobs, get_settings

UTC = dt.UTC
CLOSED_AT = dt.datetime(2026, 3, 31, 16, 0, tzinfo=UTC)  # 2026-04-01 01:00 in Seoul
PURGE_DAY = dt.date(2031, 3, 31)  # 2026-04-01 + 1825 days
EVIDENCE = b"%PDF-1.4 the ledger of cash payments"
WRONG_RECEIPT = "No report opens with this receipt code"


def seoul_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(3, 0), tzinfo=UTC)  # 12:00 in Seoul


@dataclass
class ClosedCase:
    id: int
    public_ref: str
    receipt: str
    blob_paths: list[Path]


def close(db, case: Case, closed_at: dt.datetime) -> None:
    """What the workflow service will do when it closes a case."""
    case.status = "closed"
    case.outcome = "substantiated"
    case.closed_at = closed_at
    retention.set_retention(case, get_settings())


def submit_and_close(app, reporter, closed_at: dt.datetime = CLOSED_AT) -> ClosedCase:
    receipt = reporter.submit_ok(
        files=[(io.BytesIO(EVIDENCE), "ledger.pdf")],
        name="Hong Gildong",
        employee_number="E-12345",
        contact="010-1234-5678",
    )
    with app.app_context():
        db = get_session()
        case = db.scalars(select(Case).order_by(Case.id.desc())).first()
        close(db, case, closed_at)
        db.commit()
        store = get_blobs()
        paths = [store.root / a.blob_key[:2] / a.blob_key for a in case.attachments]
        return ClosedCase(case.id, case.public_ref, receipt, paths)


@pytest.fixture
def investigator(staff):
    return staff.create("investigator1", Role.INVESTIGATOR)


@pytest.fixture
def closed_case(app, office, reporter, investigator) -> ClosedCase:
    """A closed case with everything that hangs off a worked case, its reporter protected until last year."""
    other_receipt = reporter.submit_ok()
    assert other_receipt
    closed = submit_and_close(app, reporter)
    with app.app_context():
        db = get_session()
        other = db.scalars(select(Case).where(Case.id != closed.id)).one()
        intake = db.scalars(select(Team).where(Team.name == "intake")).one()
        db.add_all(
            [
                CaseLabel(case_id=closed.id, label="bribery"),
                # The official the report names: its blind index would match the bridge's feeds.
                CaseSubject(
                    case_id=closed.id,
                    kind=SubjectKind.OFFICIAL.value,
                    blind_index=b"s" * 32,
                    value_ct=b"ct-official",
                    created_by=investigator.id,
                ),
                CaseLink(from_case_id=other.id, to_case_id=closed.id, relation="related"),
                CaseAssignment(case_id=closed.id, team_id=intake.id),
                CaseExcludedMember(case_id=closed.id, user_id=office["intake"].id, reason_ct=b"ct-reason"),
                IdentityAccessRequest(
                    case_id=closed.id,
                    requested_by=investigator.id,
                    reason_ct=b"ct-why",
                    status="approved",
                    decided_by=office["protector"].id,
                    decided_at=utcnow(),
                    sealed_identity_key_ct=b"ct-released-key",
                ),
            ]
        )
        db.flush()
        request = db.scalars(select(IdentityAccessRequest)).one()
        db.add_all(
            [
                IdentityApproval(request_id=request.id, reporter_informed=False, jeopardy_reason_ct=b"ct-jeopardy"),
                IdentityRelease(
                    request_id=request.id,
                    user_id=investigator.id,
                    released_by=office["protector"].id,
                    sealed_key_ct=b"ct-identity-key",
                ),
            ]
        )
        person = ProtectedPerson(
            case_id=closed.id,
            blind_index=b"b" * 32,
            identity_ct=b"ct-identity",
            protected_from=dt.date(2026, 4, 1),
            protected_until=dt.date(2028, 4, 1),
        )
        event = PersonnelEvent(blind_index=b"b" * 32, event_type="transfer", effective_on=dt.date(2026, 6, 1))
        db.add_all([person, event])
        db.flush()
        db.add_all(
            [
                CheckIn(
                    case_id=closed.id,
                    protected_person_id=person.id,
                    due_on=dt.date(2026, 10, 1),
                    answer="concern",
                    free_text_ct=b"ct-check-in",
                ),
                RetaliationAlert(
                    protected_person_id=person.id, personnel_event_id=event.id, case_id=closed.id, days_since_report=61
                ),
            ]
        )
        source = BridgeSource(name="cheongbaek", kind="cheongbaek", adapter="jsonl")
        db.add(source)
        db.flush()
        db.add(
            BridgeRecord(
                source_id=source.id,
                external_id="W-1",
                case_id=closed.id,
                payload_ct=b"ct-payload",
                official_index=b"o" * 32,
                contract_index=b"k" * 32,
            )
        )
        db.add(
            ComplianceCheck(
                case_id=closed.id,
                due_on=dt.date(2026, 9, 1),
                checked_on=dt.date(2026, 9, 1),
                result="complied",
                notes_ct=b"ct-compliance-notes",
                checked_by=office["protector"].id,
            )
        )
        support = SupportRequest(
            case_id=closed.id,
            type="relief_medical",
            status="paid",
            amount_requested=1_500_000,
            amount_approved=1_200_000,
            decided_by=office["protector"].id,
            decided_at=utcnow(),
            reasons_ct=b"ct-reasons",
            details_ct=b"ct-details",
            requested_on=dt.date(2026, 3, 2),
        )
        db.add(support)
        db.flush()
        db.add(
            Disbursement(
                support_request_id=support.id,
                amount=1_200_000,
                paid_on=dt.date(2026, 3, 20),
                payment_ref="TX-0001",
                created_by=office["protector"].id,
            )
        )
        db.commit()
    return closed


def belongs_to_case(table, case_id: int, seen: frozenset[str] = frozenset()):
    """A WHERE clause selecting the rows of ``table`` that hang off the case, following foreign keys."""
    conditions = [table.c.id == case_id] if table.name == "cases" else []
    for column in table.columns:
        for fk in column.foreign_keys:
            parent = fk.column.table
            if parent.name == "cases":
                conditions.append(column == case_id)
            elif parent.name not in seen | {table.name}:
                inner = belongs_to_case(parent, case_id, seen | {table.name})
                if inner is not None:
                    conditions.append(column.in_(select(fk.column).where(inner)))
    return or_(*conditions) if conditions else None


def ciphertexts_of(db, case_id: int) -> dict[str, list[bytes]]:
    """Every non-empty binary value of any table whose rows hang off the case (a new table is checked too)."""
    found: dict[str, list[bytes]] = {}
    for table in Base.metadata.sorted_tables:
        binaries = [c for c in table.columns if isinstance(c.type, LargeBinary)]
        where = belongs_to_case(table, case_id)
        if not binaries or where is None:
            continue
        values = [v for row in db.execute(select(*binaries).where(where)) for v in row if v]
        if values:
            found[table.name] = values
    return found


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


# -- dates -----------------------------------------------------------------------


def test_closing_sets_the_purge_day_from_the_seoul_closing_day(app, closed_case):
    with app.app_context():
        assert get_session().get(Case, closed_case.id).retention_until == PURGE_DAY


def test_before_its_day_a_case_is_neither_due_nor_purgeable(app, closed_case):
    with app.app_context():
        db = get_session()
        day_before = PURGE_DAY - dt.timedelta(days=1)
        assert retention.due_for_purge(db, day_before) == []
        case = db.get(Case, closed_case.id)
        with pytest.raises(retention.NotDue):
            retention.purge_case(db, get_blobs(), case, seoul_noon(day_before))
        db.rollback()
        assert count(db, CaseKeyGrant, CaseKeyGrant.case_id == closed_case.id) == 3
        assert all(p.exists() for p in closed_case.blob_paths)


def test_an_open_case_is_never_due(app, office, reporter):
    reporter.submit_ok()
    with app.app_context():
        db = get_session()
        case = db.scalars(select(Case)).one()
        case.retention_until = dt.date(2020, 1, 1)  # stale date on a reopened case
        db.commit()
        assert retention.due_for_purge(db, PURGE_DAY) == []
        with pytest.raises(retention.NotDue):
            retention.purge_case(db, get_blobs(), case, seoul_noon(PURGE_DAY))


# -- the purge -----------------------------------------------------------------


def test_on_its_day_the_case_is_crypto_shredded_and_a_tombstone_remains(app, closed_case, reporter):
    assert closed_case.blob_paths and all(p.exists() for p in closed_case.blob_paths)
    with app.app_context():
        db = get_session()
        # The check after the purge would see ciphertext if there were any:
        assert set(ciphertexts_of(db, closed_case.id)) >= {
            "cases",  # the receipt's lookup id
            "case_key_grants",
            "case_entries",
            "attachments",
            "identity_records",
            "identity_access_requests",
            "identity_approvals",
            "identity_releases",
            "case_excluded_members",
            "protected_persons",
            "check_ins",
            "support_requests",
            "bridge_records",
            "case_subjects",
            "compliance_checks",
        }
        assert [c.id for c in retention.due_for_purge(db, PURGE_DAY)] == [closed_case.id]
        case = db.get(Case, closed_case.id)
        counts = retention.purge_case(db, get_blobs(), case, seoul_noon(PURGE_DAY))
        db.commit()
    assert counts == retention.PurgeCounts(
        grants=3,  # the intake team, the recovery key, the reporter's receipt
        entries=1,
        attachments=1,
        blobs=1,
        identity_records=1,
        identity_requests=1,
        identity_releases=1,
        links=1,
        labels=1,
        assignments=1,
        exclusions=1,
        protection_records=4,  # an alert, a check-in, the protected person; a compliance check's notes
        support_texts=1,
        bridge_payloads=1,
    )

    with app.app_context():
        db = get_session()
        cid = closed_case.id
        # No key to the case's ciphertext remains anywhere in the database, and no ciphertext either.
        assert count(db, CaseKeyGrant, CaseKeyGrant.case_id == cid) == 0
        assert ciphertexts_of(db, cid) == {}
        for model in (CaseEntry, Attachment, IdentityRecord, IdentityAccessRequest, CaseLabel, CaseAssignment):
            assert count(db, model, model.case_id == cid) == 0, model.__name__
        assert count(db, CaseExcludedMember, CaseExcludedMember.case_id == cid) == 0
        assert count(db, IdentityRelease) == 0 and count(db, IdentityApproval) == 0
        assert count(db, CaseLink, or_(CaseLink.from_case_id == cid, CaseLink.to_case_id == cid)) == 0
        assert count(db, ProtectedPerson, ProtectedPerson.case_id == cid) == 0
        assert count(db, CheckIn, CheckIn.case_id == cid) == 0
        assert count(db, RetaliationAlert, RetaliationAlert.case_id == cid) == 0
        # The officials and contracts it named can no longer be matched to it.
        assert count(db, CaseSubject, CaseSubject.case_id == cid) == 0
        assert count(db, CaseSubject, CaseSubject.blind_index == b"s" * 32) == 0
        assert count(db, BridgeRecord, BridgeRecord.official_index == b"o" * 32) == 0
        assert count(db, BridgeRecord, BridgeRecord.contract_index == b"k" * 32) == 0
        # The compliance check keeps its date and result for the record, not the officer's notes.
        check = db.scalars(select(ComplianceCheck).where(ComplianceCheck.case_id == cid)).one()
        assert (check.checked_on, check.result, check.notes_ct) == (dt.date(2026, 9, 1), "complied", None)
        # The other case lost only its link.
        assert count(db, CaseKeyGrant, CaseKeyGrant.case_id != cid) > 0

        tomb = db.get(Case, cid)
        assert tomb.public_ref == closed_case.public_ref
        assert (tomb.kind, tomb.source, tomb.status, tomb.outcome) == ("report", "web", "closed", "substantiated")
        assert tomb.category == "bribery" and tomb.channel == "web"
        assert tomb.received_on is not None and tomb.closed_at == CLOSED_AT and tomb.retention_until == PURGE_DAY
        assert tomb.receipt_lookup_id is None and tomb.receipt_scheme is None

        record = db.get(RetentionRecord, cid)
        assert record.purged_on == PURGE_DAY and record.grants == 3 and record.blobs == 1

        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purged")).one()
        assert (event.case_id, event.actor_kind, event.actor_user_id) == (cid, "system", None)
        assert retention.due_for_purge(db, PURGE_DAY) == []

    # The encrypted files are gone from the instance folder.
    assert not any(p.exists() for p in closed_case.blob_paths)
    # The reporter's receipt opens nothing: the same error as a receipt that never existed.
    r = reporter.login(closed_case.receipt)
    assert r.status_code == 400 and WRONG_RECEIPT in r.get_data(as_text=True)


def test_a_bridge_copy_of_the_case_key_left_behind_is_destroyed_too(app, closed_case):
    """Normally the first staff action destroys it (app.cases.handover); a purge never relies on that."""
    with app.app_context():
        db = get_session()
        db.add(BridgeCaseKey(case_id=closed_case.id, key_ct=b"ct-wrapped-case-key"))
        db.commit()
        counts = retention.purge_case(db, get_blobs(), db.get(Case, closed_case.id), seoul_noon(PURGE_DAY))
        db.commit()
        assert counts.grants == 4  # the three grants and the bridge's copy
        assert count(db, BridgeCaseKey, BridgeCaseKey.case_id == closed_case.id) == 0
        assert ciphertexts_of(db, closed_case.id) == {}


def test_money_rows_survive_a_purge_without_their_reasons(app, closed_case):
    with app.app_context():
        db = get_session()
        retention.purge_case(db, get_blobs(), db.get(Case, closed_case.id), seoul_noon(PURGE_DAY))
        db.commit()
        support = db.scalars(select(SupportRequest).where(SupportRequest.case_id == closed_case.id)).one()
        assert (support.type, support.status) == ("relief_medical", "paid")
        assert (support.amount_requested, support.amount_approved) == (1_500_000, 1_200_000)
        assert support.requested_on == dt.date(2026, 3, 2)
        assert support.reasons_ct is None and support.details_ct is None
        paid = db.scalars(select(Disbursement).where(Disbursement.support_request_id == support.id)).one()
        assert (paid.amount, paid.paid_on, paid.payment_ref) == (1_200_000, dt.date(2026, 3, 20), "TX-0001")
        bridge = db.scalars(select(BridgeRecord)).one()
        assert (bridge.external_id, bridge.case_id, bridge.payload_ct) == ("W-1", closed_case.id, b"")


def test_a_reporter_inside_the_inbox_is_let_out_after_the_purge(app, closed_case, reporter):
    assert reporter.login(closed_case.receipt).status_code == 303
    assert reporter.client.get("/receipt/inbox").status_code == 200
    with app.app_context():
        db = get_session()
        retention.purge_case(db, get_blobs(), db.get(Case, closed_case.id), seoul_noon(PURGE_DAY))
        db.commit()
    r = reporter.client.get("/receipt/inbox")
    assert r.status_code == 303 and r.location.endswith("/receipt")


def test_a_case_is_purged_once(app, closed_case):
    with app.app_context():
        db = get_session()
        retention.purge_case(db, get_blobs(), db.get(Case, closed_case.id), seoul_noon(PURGE_DAY))
        db.commit()
        with pytest.raises(retention.AlreadyPurged):
            retention.purge_case(db, get_blobs(), db.get(Case, closed_case.id), seoul_noon(PURGE_DAY))


def test_a_case_whose_reporter_is_still_protected_is_held(app, closed_case):
    with app.app_context():
        db = get_session()
        person = db.scalars(select(ProtectedPerson)).one()
        person.protected_until = PURGE_DAY
        db.commit()
        with pytest.raises(retention.ProtectionRunning):
            retention.purge_case(db, get_blobs(), db.get(Case, closed_case.id), seoul_noon(PURGE_DAY))
        db.rollback()
        assert count(db, CaseKeyGrant, CaseKeyGrant.case_id == closed_case.id) > 0
    assert all(p.exists() for p in closed_case.blob_paths)


# -- the commands ----------------------------------------------------------------


def run(app, *args: str):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def closed_today_minus(app, reporter, days_left: int) -> ClosedCase:
    """A case whose retention ends ``days_left`` days from today (the commands use the real clock)."""
    closed_at = utcnow() - dt.timedelta(days=1825 - days_left)
    return submit_and_close(app, reporter, closed_at)


def test_dry_run_lists_what_is_due_and_changes_nothing(app, office, reporter):
    due = closed_today_minus(app, reporter, 0)
    later = closed_today_minus(app, reporter, 1)
    out = run(app, "retention", "purge", "--dry-run")
    assert f"would purge {due.public_ref}" in out and later.public_ref not in out
    assert "1 case(s) would be purged" in out
    with app.app_context():
        db = get_session()
        assert count(db, CaseKeyGrant, CaseKeyGrant.case_id == due.id) > 0
        assert count(db, RetentionRecord) == 0
        assert count(db, AuditEvent, AuditEvent.action == "retention.purged") == 0
    assert all(p.exists() for p in due.blob_paths)


def test_purge_command_purges_what_is_due_today_and_prints_counts(app, office, reporter):
    due = closed_today_minus(app, reporter, 0)
    later = closed_today_minus(app, reporter, 1)
    out = run(app, "retention", "purge")
    assert f"purged {due.public_ref} (report): grants=3" in out and "blobs=1" in out
    assert later.public_ref not in out and "1 case(s) purged, 0 held" in out
    assert not any(p.exists() for p in due.blob_paths) and all(p.exists() for p in later.blob_paths)
    with app.app_context():
        db = get_session()
        assert count(db, CaseKeyGrant, CaseKeyGrant.case_id == due.id) == 0
        assert count(db, CaseKeyGrant, CaseKeyGrant.case_id == later.id) == 3
    assert "0 case(s) purged" in run(app, "retention", "purge")


def test_remind_lists_cases_per_team_once(app, office, reporter):
    soon = closed_today_minus(app, reporter, 10)
    far = closed_today_minus(app, reporter, 31)
    out = run(app, "retention", "remind")
    assert out.startswith("intake:\n") and soon.public_ref in out and far.public_ref not in out
    assert "1 case(s) reminded" in out
    assert "0 case(s) reminded" in run(app, "retention", "remind")
    with app.app_context():
        db = get_session()
        events = db.scalars(select(AuditEvent).where(AuditEvent.action == "retention.reminded")).all()
        assert [(e.case_id, e.actor_kind) for e in events] == [(soon.id, "system")]
        assert db.get(RetentionRecord, soon.id).purged_on is None
        # Reminding changes nothing of the case itself.
        assert count(db, CaseKeyGrant, CaseKeyGrant.case_id == soon.id) == 3
