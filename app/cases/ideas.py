"""Idea-contest cases as staff read them: the proposal, every version the contest sent.

The bridge stores each version of a proposal as a ``report`` entry encrypted
under the case key (``monitoring_bridge.adapters.idea``); nothing of it is
plain in the database. This decrypts them for a staff member who opened the
case key, so the case page can show title, text and contact instead of the
web-report fields an idea does not have.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from app.models.cases import Case, CaseKind, EntryKind
from app.reporting.service import case_cipher, entry_purpose


@dataclass(frozen=True)
class IdeaProposal:
    """One version of a proposal, as the contest system sent it."""

    proposal_id: str
    title: str
    proposal: str
    proposer_contact: str | None
    submitted_at: dt.datetime | None


def proposals(case: Case, case_key: bytes) -> list[IdeaProposal]:
    """The proposal versions of an ``idea`` case, oldest first (empty for any other kind)."""
    if case.kind != CaseKind.IDEA.value:
        return []
    cipher = case_cipher(case, case_key)
    out = []
    for entry in sorted(case.entries, key=lambda e: e.id):
        if entry.kind != EntryKind.REPORT.value or entry.body_ct is None:
            continue
        data = json.loads(cipher.decrypt(entry_purpose(entry.kind), entry.body_ct))
        submitted = data.get("submitted_at")
        out.append(
            IdeaProposal(
                proposal_id=str(data.get("proposal_id", "")),
                title=str(data.get("title", "")),
                proposal=str(data.get("proposal", "")),
                proposer_contact=data.get("proposer_contact") or None,
                submitted_at=dt.datetime.fromisoformat(submitted) if submitted else None,
            )
        )
    return out
