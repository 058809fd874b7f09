"""Errors of the reporter surface, caught at the edge."""


class ReportingError(Exception):
    """Base class of reporter-surface errors."""


class WrongReceipt(ReportingError):
    """No case opens with this receipt (one error for unknown and wrong, after the same work)."""


class NotReady(ReportingError):
    """The office has not set up its intake or protection team or its recovery key yet."""


class SessionEnded(ReportingError):
    """The reporter's inbox session is missing, expired or damaged."""
