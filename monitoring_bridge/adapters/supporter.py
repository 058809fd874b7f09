"""Transparency Supporter records: designations, and the audit findings that become cases.

Two record types share the source (``record_type``):

* ``designation``: a Supporter named for a department for a period. Kept as
  a record (name only in the importer's encrypted payload; department and
  start date plain on the bridge record), no case.
* ``finding``: what a Supporter's audit found in a department. Each becomes a
  ``supporter`` case sealed to the intake team, its text encrypted under the
  case key, linked ``related`` to every other open case of the department.
  A changed finding is added to its case while the case is still
  ``received``; once staff have moved it on, a new case ``follow_up_of`` the
  first is opened instead (the bridge keeps no key to cases staff work).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from app.models.bridge import BridgeRecord, SourceKind
from app.models.cases import Case, CaseKind, CaseStatus, EntryKind, LinkRelation
from monitoring_bridge import cases as bridge_cases
from monitoring_bridge import validate
from monitoring_bridge.adapter import ApplyContext, ApplyResult, ParsedRecord
from monitoring_bridge.adapters import _common
from monitoring_bridge.errors import RecordError

DESIGNATION = "designation"
FINDING = "finding"
MAX_FINDING = 20000


class SupporterAdapter:
    """Supporter designations (supporter, department, period) and audit findings (text encrypted)."""

    name = "supporter"
    kind = SourceKind.SUPPORTER.value
    fields: tuple[str, ...] = (
        "record_id",
        "record_type",
        "department",
        "supporter",
        "period_from",
        "period_to",
        "finding",
        "found_on",
    )

    def parse(self, obj: dict[str, Any]) -> ParsedRecord:
        """Validate a designation or a finding; each type requires its own fields."""
        record_id = _common.external_id(obj, "record_id")
        record_type = validate.choice(obj, "record_type", (DESIGNATION, FINDING))
        department = _common.department_code(obj, "department")
        data: dict[str, Any] = {"record_type": record_type, "department": department}
        if record_type == DESIGNATION:
            start = _common.required_day(obj, "period_from")
            end = _common.required_day(obj, "period_to")
            if end < start:
                raise RecordError("period_to", "before period_from")
            data |= {
                "supporter": _common.required_text(obj, "supporter", 200),
                "period_from": start.isoformat(),
                "period_to": end.isoformat(),
            }
        else:
            data |= {
                "supporter": validate.text(obj, "supporter", max_len=200, required=False),
                "finding": _common.required_text(obj, "finding", MAX_FINDING),
                "found_on": _common.required_day(obj, "found_on").isoformat(),
            }
        return ParsedRecord(external_id=record_id, data=data)

    def apply(self, ctx: ApplyContext, record: ParsedRecord, existing: BridgeRecord | None) -> ApplyResult:
        """Keep a designation; turn a finding into a linked ``supporter`` case (or add to it on update)."""
        data = record.data
        department_id = _common.department_id(ctx, data["department"])
        if data["record_type"] == DESIGNATION:
            start = dt.date.fromisoformat(data["period_from"])
            return ApplyResult(
                case_id=None,
                created=False,
                scenario=DESIGNATION,
                department_code=data["department"],
                occurred_at=dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC),
            )
        found_on = dt.date.fromisoformat(data["found_on"])
        index: dict[str, Any] = {
            "scenario": FINDING,
            "department_code": data["department"],
            "occurred_at": dt.datetime.combine(found_on, dt.time(0), tzinfo=dt.UTC),
        }
        content = {"finding_id": record.external_id, **data}
        previous = ctx.db.get(Case, existing.case_id) if existing is not None and existing.case_id else None
        if previous is not None:
            key = bridge_cases.fed_case_key(ctx, previous)
            if key is not None and previous.status == CaseStatus.RECEIVED.value:
                body = json.dumps(content, ensure_ascii=False, sort_keys=True).encode()
                bridge_cases.add_entry(ctx, previous, key, EntryKind.REPORT.value, body)
                return ApplyResult(case_id=previous.id, created=False, **index)
        case, _key = _common.open_sealed_case(
            ctx,
            CaseKind.SUPPORTER,
            department_id=department_id,
            category="supporter_finding",
            content=content,
            keep_key=True,
        )
        linked = 0
        if previous is not None:  # the earlier version: a follow-up, not merely related
            linked += bridge_cases.link(ctx, case.id, previous.id, LinkRelation.FOLLOW_UP_OF.value)
        exclude = (previous.id,) if previous is not None else ()
        linked += _common.link_to_open_cases_of_department(ctx, case, LinkRelation.RELATED, exclude)
        return ApplyResult(case_id=case.id, created=True, linked=linked, **index)
