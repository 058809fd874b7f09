"""Transparent Policy Idea Contest proposals: each becomes an ``idea`` case for the intake team.

Title, proposal text and the proposer's optional contact are all encrypted
under the case key (a citizen's contact is personal data; a title may name an
official); only the kind, state and dates are plain. The proposer has no
receipt: contact, when given, is how the team answers. A changed proposal is
added to its case while the case is still ``received``; afterwards it opens
a new case ``follow_up_of`` the first.
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

MAX_PROPOSAL = 20000


class IdeaAdapter:
    """Idea-contest proposals: title, proposal text, optional proposer contact, submitted-at."""

    name = "idea"
    kind = SourceKind.IDEA.value
    fields: tuple[str, ...] = ("proposal_id", "title", "proposal", "proposer_contact", "submitted_at")

    def parse(self, obj: dict[str, Any]) -> ParsedRecord:
        """Validate one proposal; ``submitted_at`` needs its UTC offset."""
        proposal_id = _common.external_id(obj, "proposal_id")
        data = {
            "title": _common.required_text(obj, "title", 200),
            "proposal": _common.required_text(obj, "proposal", MAX_PROPOSAL),
            "proposer_contact": validate.text(obj, "proposer_contact", max_len=200, required=False),
            "submitted_at": validate.instant(obj, "submitted_at").isoformat(),
        }
        return ParsedRecord(external_id=proposal_id, data=data)

    def apply(self, ctx: ApplyContext, record: ParsedRecord, existing: BridgeRecord | None) -> ApplyResult:
        """Open the proposal's ``idea`` case (state received), or add a changed proposal to it."""
        content = {"proposal_id": record.external_id, **record.data}
        submitted_at = dt.datetime.fromisoformat(record.data["submitted_at"])
        previous = ctx.db.get(Case, existing.case_id) if existing is not None and existing.case_id else None
        if previous is not None:
            key = bridge_cases.fed_case_key(ctx, previous)
            if key is not None and previous.status == CaseStatus.RECEIVED.value:
                body = json.dumps(content, ensure_ascii=False, sort_keys=True).encode()
                bridge_cases.add_entry(ctx, previous, key, EntryKind.REPORT.value, body)
                return ApplyResult(case_id=previous.id, created=False, occurred_at=submitted_at)
        case, _key = _common.open_sealed_case(
            ctx, CaseKind.IDEA, department_id=None, category="idea_contest", content=content, keep_key=True
        )
        linked = 0
        if previous is not None:
            linked = int(bridge_cases.link(ctx, case.id, previous.id, LinkRelation.FOLLOW_UP_OF.value))
        return ApplyResult(case_id=case.id, created=True, linked=linked, occurred_at=submitted_at)
