"""What the bridge wrote into a case, as staff read it: every alert, finding or training judgement.

The bridge stores each record it adds to an ``alert``, ``supporter`` or
``training`` case as a ``report`` entry, its normalised JSON encrypted under
the case key (``monitoring_bridge``). Such a case has no web-report fields,
so without this the case page would show an empty report; DESIGN.md (and
issue 7) want the case to list every alert it correlates. This decrypts the
entries for a staff member who opened the case key and labels the fields in
the reader's language; a field without a label is shown under its own name
rather than dropped, so nothing a source sends is hidden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.models.cases import Case, CaseKind, EntryKind
from app.reporting.service import case_cipher, entry_purpose
from app.web.i18n import lazy_gettext as _l

FEED_KINDS = frozenset({CaseKind.ALERT.value, CaseKind.SUPPORTER.value, CaseKind.TRAINING.value})

FIELD_LABELS = {
    "alert_id": _l("Alert number"),
    "scenario_id": _l("Scenario"),
    "scenario_name": _l("Scenario name"),
    "system": _l("Linked system"),
    "department": _l("Department"),
    "official": _l("Official handling the task"),
    "amount": _l("Amount"),
    "record_ref": _l("Record concerned"),
    "raised_at": _l("Raised at"),
    "severity": _l("Severity"),
    "contract": _l("Contract"),
    "record_type": _l("Record type"),
    "supporter": _l("Transparency Supporter"),
    "period_from": _l("Designated from"),
    "period_to": _l("Designated until"),
    "finding": _l("Finding"),
    "found_on": _l("Found on"),
}
MONEY_FIELDS = frozenset({"amount"})
_ORDER = {name: i for i, name in enumerate(FIELD_LABELS)}  # the sources' own order; unknown fields last


@dataclass(frozen=True)
class FeedRecord:
    """One record the bridge added: its fields in the sources' order, labelled, as text."""

    fields: list[tuple[str, str]]


def _text(name: str, value: object) -> str:
    if name in MONEY_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,} {_l('won')}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else str(value)


def records(case: Case, case_key: bytes) -> list[FeedRecord]:
    """The bridge's records on a feed case, oldest first (empty for a report, an idea or a retaliation case)."""
    if case.kind not in FEED_KINDS:
        return []
    cipher = case_cipher(case, case_key)
    out = []
    for entry in sorted(case.entries, key=lambda e: e.id):
        if entry.kind != EntryKind.REPORT.value or entry.body_ct is None or entry.author_user_id is not None:
            continue
        body = cipher.decrypt(entry_purpose(entry.kind), entry.body_ct)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            ordered = sorted(data.items(), key=lambda kv: (_ORDER.get(kv[0], len(_ORDER)), kv[0]))
            fields = [(str(FIELD_LABELS.get(k, k)), _text(k, v)) for k, v in ordered]
        else:
            fields = [("", body.decode("utf-8", errors="replace"))]
        out.append(FeedRecord(fields=fields))
    return out
