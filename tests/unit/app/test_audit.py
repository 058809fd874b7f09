"""The audit chain: appending, checkpoints, and verification that names the first broken row.

Runs on SQLite, and on PostgreSQL under HAECHI_TEST_DB=postgresql.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select, text, update

from app import audit
from app.models.audit import ActorKind, AuditCheckpoint, AuditEvent
from crypto.signing import generate_signing_key

KEY = generate_signing_key()
NOW = dt.datetime(2025, 3, 3, 14, 30, 15, 123456, tzinfo=dt.UTC)


def _append(db, n: int, policy: audit.CheckpointPolicy | None = None, start: int = 0) -> list[AuditEvent]:
    events = [
        audit.record(
            db,
            f"test.action{i % 3}",
            actor_user_id=1 + i % 2,
            case_id=(i if i % 2 else None),
            target=f"user:{i}",
            now=NOW + dt.timedelta(minutes=i),
            checkpoint_policy=policy or audit.CheckpointPolicy(0, KEY.private),
        )
        for i in range(start, start + n)
    ]
    db.commit()
    return events


def _verify(db, **kw) -> audit.VerifyResult:
    db.expire_all()
    return audit.verify(db, KEY.public, **kw)


def test_rows_chain_from_genesis_and_each_hash_covers_the_previous(db_session):
    events = _append(db_session, 4)
    assert events[0].prev_hash == audit.GENESIS
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.row_hash
    e = events[2]
    assert e.row_hash == audit.row_hash(e.prev_hash, e.at, e.actor_kind, e.actor_user_id, e.action, e.case_id, e.target)
    result = _verify(db_session)
    assert result.ok and result.rows == 4 and result.checkpoints == 0 and result.unsigned_tail == 4


def test_a_reporter_action_is_stored_with_the_day_only(db_session):
    late_evening_seoul = dt.datetime(2025, 3, 3, 16, 59, tzinfo=dt.UTC)  # 01:59 on 4 March in Seoul
    event = audit.record(
        db_session, "reporter.message", actor_kind=ActorKind.REPORTER, case_id=5, now=late_evening_seoul
    )
    db_session.commit()
    db_session.expire_all()
    stored = db_session.get(AuditEvent, event.id)
    assert stored.at == dt.datetime(2025, 3, 4, tzinfo=dt.UTC)
    assert _verify(db_session).ok


def test_an_append_racing_another_writer_chains_onto_the_new_head(db_session, monkeypatch):
    first, second = _append(db_session, 2)
    real_scalars = db_session.scalars
    calls = {"n": 0}

    def stale_once(stmt, *args, **kwargs):
        # The first head lookup sees the chain as it was before `second` was appended by someone else.
        calls["n"] += 1
        if calls["n"] == 1:
            return real_scalars(select(AuditEvent).where(AuditEvent.id == first.id), *args, **kwargs)
        return real_scalars(stmt, *args, **kwargs)

    monkeypatch.setattr(db_session, "scalars", stale_once)
    third = audit.record(db_session, "test.racing", checkpoint_policy=audit.CheckpointPolicy(0, KEY.private))
    monkeypatch.undo()
    db_session.commit()
    assert calls["n"] >= 2  # retried after the unique prev_hash refused the fork
    assert third.prev_hash == second.row_hash
    assert _verify(db_session).ok


def test_a_checkpoint_is_signed_every_n_rows(db_session):
    _append(db_session, 7, audit.CheckpointPolicy(3, KEY.private))
    signed = db_session.scalars(select(AuditCheckpoint.event_id).order_by(AuditCheckpoint.event_id)).all()
    assert len(signed) == 2 and signed[1] - signed[0] == 3
    result = _verify(db_session)
    assert result.ok and result.rows == 7 and result.checkpoints == 2
    assert result.last_checkpoint_id == signed[1] and result.unsigned_tail == 1


def test_checkpoint_signs_the_head_and_is_idempotent(db_session):
    assert audit.checkpoint(db_session, KEY.private) is None  # nothing to sign yet
    events = _append(db_session, 2)
    cp = audit.checkpoint(db_session, KEY.private, now=NOW)
    again = audit.checkpoint(db_session, KEY.private)
    db_session.commit()
    assert cp is not None and again is not None and again.id == cp.id
    assert cp.event_id == events[-1].id and cp.row_hash == events[-1].row_hash
    assert len(cp.signature) == 65 and cp.public_key == KEY.public


def test_without_an_app_context_record_makes_no_checkpoint(app):
    assert audit.app_checkpoint_policy() is None
    session = app.extensions["haechi.sessionmaker"]()
    try:
        for _ in range(3):
            audit.record(session, "test.plain")
        session.commit()
        assert session.scalar(select(AuditCheckpoint.id)) is None
    finally:
        session.close()


def test_in_an_app_context_the_settings_interval_and_instance_key_are_used(db_session):
    policy = audit.app_checkpoint_policy()
    assert policy is not None and policy.every == 100
    assert "private" not in repr(policy) and policy.signing_private.hex() not in repr(policy)


def test_changed_content_is_named_at_its_row(db_session):
    events = _append(db_session, 5)
    db_session.execute(update(AuditEvent).where(AuditEvent.id == events[2].id).values(action="test.innocent"))
    db_session.commit()
    result = _verify(db_session)
    assert (result.broken_id, result.reason) == (events[2].id, audit.CONTENT_CHANGED)
    assert result.rows == 3


def test_a_deleted_row_is_named_at_the_row_after_the_gap(db_session):
    events = _append(db_session, 5)
    db_session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[2].id})
    db_session.commit()
    result = _verify(db_session)
    assert (result.broken_id, result.reason) == (events[3].id, audit.LINK_BROKEN)


def test_deleting_the_first_row_is_seen(db_session):
    events = _append(db_session, 3)
    db_session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[0].id})
    db_session.commit()
    assert _verify(db_session).broken_id == events[1].id


def test_swapped_rows_are_named_at_the_first_of_them(db_session):
    events = _append(db_session, 5)
    a, b = events[1].id, events[3].id
    for old, new in ((a, -1), (b, a), (-1, b)):
        db_session.execute(text("UPDATE audit_events SET id = :new WHERE id = :old"), {"old": old, "new": new})
    db_session.commit()
    result = _verify(db_session)
    assert (result.broken_id, result.reason) == (a, audit.LINK_BROKEN)


def _rewrite_chain_from(db, first_id: int) -> None:
    """An attacker without the key: edit a row, then recompute every hash after it."""
    db.execute(update(AuditEvent).where(AuditEvent.id == first_id).values(target="user:999"))
    prev = None
    for ev in db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all():
        if prev is not None and ev.id >= first_id:
            ev.prev_hash = prev
        if ev.id >= first_id:
            # Two-step: unique hashes would collide mid-update otherwise.
            ev.row_hash = audit.row_hash(
                ev.prev_hash, ev.at, ev.actor_kind, ev.actor_user_id, ev.action, ev.case_id, ev.target
            )
        db.flush()
        prev = ev.row_hash
    db.commit()


def test_a_chain_recomputed_after_an_edit_is_caught_by_the_signed_checkpoint(db_session):
    events = _append(db_session, 4)
    cp = audit.checkpoint(db_session, KEY.private)
    _append(db_session, 1, start=10)
    db_session.commit()
    _rewrite_chain_from(db_session, events[1].id)
    result = _verify(db_session)
    assert (result.broken_id, result.reason) == (cp.event_id, audit.CHECKPOINT_MISMATCH)


def test_a_bad_checkpoint_signature_is_named(db_session):
    _append(db_session, 3)
    cp = audit.checkpoint(db_session, KEY.private)
    db_session.commit()
    forged = cp.signature[:-1] + bytes([cp.signature[-1] ^ 1])
    db_session.execute(update(AuditCheckpoint).where(AuditCheckpoint.id == cp.id).values(signature=forged))
    db_session.commit()
    result = _verify(db_session)
    assert (result.broken_id, result.reason) == (cp.event_id, audit.BAD_SIGNATURE)


def test_a_checkpoint_signed_with_another_key_is_refused(db_session):
    _append(db_session, 2)
    cp = audit.checkpoint(db_session, generate_signing_key().private)
    db_session.commit()
    result = _verify(db_session)
    assert (result.broken_id, result.reason) == (cp.event_id, audit.UNKNOWN_KEY)


def test_the_quick_check_walks_only_from_the_newest_checkpoint(db_session):
    events = _append(db_session, 6, audit.CheckpointPolicy(3, KEY.private))
    db_session.execute(update(AuditEvent).where(AuditEvent.id == events[0].id).values(action="test.old_edit"))
    db_session.commit()
    quick = _verify(db_session, since_last_checkpoint=True)
    assert quick.ok and quick.from_event_id == events[5].id and quick.rows == 1
    assert _verify(db_session).broken_id == events[0].id  # the full walk sees it


def test_verify_streams_past_one_batch(db_session, monkeypatch):
    monkeypatch.setattr(audit, "_BATCH", 4)
    events = _append(db_session, 11, audit.CheckpointPolicy(2, KEY.private))
    result = _verify(db_session)
    assert result.ok and result.rows == 11 and result.checkpoints == 5
    db_session.execute(update(AuditEvent).where(AuditEvent.id == events[9].id).values(case_id=77))
    db_session.commit()
    assert _verify(db_session).broken_id == events[9].id


def test_find_events_pages_newest_first_and_filters(db_session):
    events = _append(db_session, 7)
    flt = audit.EventFilter()
    first = audit.find_events(db_session, flt, limit=3)
    assert [e.id for e in first.rows] == [e.id for e in reversed(events[4:])]
    assert first.has_older and not first.has_newer
    second = audit.find_events(db_session, flt, before=first.rows[-1].id, limit=3)
    assert [e.id for e in second.rows] == [e.id for e in reversed(events[1:4])]
    assert second.has_older and second.has_newer
    back = audit.find_events(db_session, flt, after=second.rows[0].id, limit=3)
    assert [e.id for e in back.rows] == [e.id for e in first.rows] and not back.has_newer and back.has_older
    only = audit.find_events(db_session, audit.EventFilter(action="test.action1", actor_user_id=2))
    assert [e.id for e in only.rows] == [events[1].id]  # i=1: action1, user 2; i=4: action1, user 1
    by_case = audit.find_events(db_session, audit.EventFilter(case_id=5))
    assert [e.id for e in by_case.rows] == [events[5].id]
    window = audit.EventFilter(since=NOW + dt.timedelta(minutes=2), until=NOW + dt.timedelta(minutes=4))
    assert [e.id for e in audit.find_events(db_session, window).rows] == [events[3].id, events[2].id]
    assert audit.known_actions(db_session) == ["test.action0", "test.action1", "test.action2"]


@pytest.mark.parametrize("every", [0, -1])
def test_a_zero_interval_never_checkpoints(db_session, every):
    _append(db_session, 3, audit.CheckpointPolicy(every, KEY.private))
    assert db_session.scalar(select(AuditCheckpoint.id)) is None


def test_a_checkpoint_signed_right_after_a_reporter_row_carries_its_day_not_the_instant(db_session):
    # The reporter's row keeps the day only; a checkpoint naming that row must not add the instant.
    instant = dt.datetime(2026, 3, 2, 5, 17, 42, tzinfo=dt.UTC)  # 14:17:42 in Seoul
    event = audit.record(
        db_session,
        "report.submitted",
        actor_kind=ActorKind.REPORTER,
        now=instant,
        checkpoint_policy=audit.CheckpointPolicy(1, KEY.private),
    )
    cp = db_session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.event_id == event.id)).one()
    assert cp.created_at == event.at == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # the Seoul day, nothing finer
