"""Errors of the support service, caught at the edge (a message to the officer or the reporter)."""


class SupportError(Exception):
    """A support action that cannot be done; the message says why, in plain English."""


class NotAllowed(SupportError):
    """This step does not exist from the request's current state, or not for this person."""


class InvalidInput(SupportError):
    """An amount, date, type or text that the rules refuse."""


class FourEyes(SupportError):
    """The four-eyes rule refuses this: a second, different approver is missing or the same person acts twice."""


class OverPayment(SupportError):
    """A payment would take the total paid past the approved amount."""


class ChangedMeanwhile(SupportError):
    """Someone else changed the request since the page was shown."""
