"""The one interface every bridge source implements (STYLE.md item 7: registries for variants).

An adapter knows its source's schema: ``parse`` validates one decoded record
and raises :class:`~monitoring_bridge.errors.RecordError` naming the field at
fault; ``apply`` turns a valid record into cases and links. Decoding,
idempotency, quarantine and batching are the importer's, shared by all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from app.models.bridge import BridgeRecord, BridgeSource
from app.models.staff import RecoveryKey, Team
from config import Settings


@dataclass(frozen=True)
class ParsedRecord:
    """One validated record: its id in the source system and its normalised data (JSON-able)."""

    external_id: str
    data: dict[str, Any]


@dataclass
class ApplyContext:
    """What an adapter needs to create or update cases: session, settings, clock and public keys."""

    db: Session
    settings: Settings
    now: dt.datetime
    team_public: Callable[[str], Team]  # the team cases of this TeamKind value are sealed to
    recovery: RecoveryKey
    source: BridgeSource
    # The instance bridge key (wraps case keys the bridge may still add to; see monitoring_bridge.cases).
    bridge_key: bytes = field(default=b"", repr=False)
    # Per-run memo an adapter may use (department ids, …); never the only copy of any state.
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass
class ApplyResult:
    """What applying one record did: the case it landed in, whether that case is new, links made."""

    case_id: int | None
    created: bool
    linked: int = 0
    # Optional plaintext index kept on the BridgeRecord (what correlation and queues need).
    scenario: str | None = None
    department_code: str | None = None
    system: str | None = None
    occurred_at: dt.datetime | None = None
    correlation_key: bytes | None = None


class SourceAdapter(Protocol):
    """A bridge source: its schema (``fields`` is the CSV column order), validation and effect."""

    name: str
    kind: str
    fields: tuple[str, ...]

    def parse(self, obj: dict[str, Any]) -> ParsedRecord:
        """Validate one decoded record; raise RecordError(field, reason) on the first fault."""
        ...

    def apply(self, ctx: ApplyContext, record: ParsedRecord, existing: BridgeRecord | None) -> ApplyResult:
        """Create or update the cases this record stands for (``existing`` is set on an update).

        May raise RecordError (an unknown department, say) only before it has
        changed anything, so the importer can quarantine the record cleanly.
        """
        ...
