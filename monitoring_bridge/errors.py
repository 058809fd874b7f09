"""Errors of the monitoring bridge, caught at the edge (CLI, HTTP endpoint, importer)."""

from __future__ import annotations


class BridgeError(Exception):
    """Base of the bridge's errors."""


class RecordError(BridgeError):
    """One record failed decoding or validation; it goes to quarantine with this field and reason.

    ``reason`` is shown in the admin's plaintext queue, so it must describe the
    fault without quoting the record's values (they may name people).
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UnknownSource(BridgeError):
    """No active bridge source (or no adapter) by that name."""


class NotReady(BridgeError):
    """The instance lacks what the bridge needs to seal cases (an intake team, a recovery key)."""
