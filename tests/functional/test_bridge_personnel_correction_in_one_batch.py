"""A personnel event and its correction in one batch: the correction changes that event, nobody else's.

The correction's record came earlier in the same batch and had no id yet; the
event lookup compared with that None ("bridge_record_id IS NULL") and rewrote
whichever unlinked event came first: another employee's, possibly a protected
reporter's retaliation evidence.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from app.db import get_session
from app.models.protection import PersonnelEvent
from app.runtime import get_secrets, get_settings
from monitoring_bridge.blind_index import blind_index
from monitoring_bridge.importer import import_file


def _event(event_id: str, number: str, kind: str, day: str) -> dict[str, str]:
    return {"event_id": event_id, "employee_number": number, "event_type": kind, "effective_on": day}


def _import(app, path, records):
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records))
    with app.app_context():
        return import_file(get_session(), get_settings(), "personnel", path, bridge_key=get_secrets().bridge_key)


def test_a_correction_in_the_same_batch_changes_only_its_own_event(app, office, tmp_path):
    r = app.test_cli_runner().invoke(args=["bridge", "source", "add", "personnel", "--kind", "personnel"])
    assert r.exit_code == 0, r.output
    _import(app, tmp_path / "day1.jsonl", [_event("HR-A", "A-0001", "transfer", "2026-05-01")])
    summary = _import(
        app,
        tmp_path / "day2.jsonl",
        [_event("HR-B", "B-0002", "demotion", "2026-05-02"), _event("HR-B", "B-0002", "demotion", "2026-05-03")],
    )
    assert (summary.accepted, summary.updated) == (1, 1)
    with app.app_context():
        key = get_secrets().protection_key
        a, b = blind_index(key, "A-0001"), blind_index(key, "B-0002")
        events = get_session().execute(
            select(PersonnelEvent.blind_index, PersonnelEvent.event_type, PersonnelEvent.effective_on).order_by(
                PersonnelEvent.id
            )
        )
        people = {a: "A", b: "B"}
        got = [(people.get(idx, "?"), kind, day.isoformat()) for idx, kind, day in events]
    assert got == [("A", "transfer", "2026-05-01"), ("B", "demotion", "2026-05-03")]
