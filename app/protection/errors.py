"""Errors of the protection services, caught at the edge (a message to the officer or the reporter)."""


class ProtectionError(Exception):
    """A protection action that cannot be done; the message says why, in plain English."""


class NoIdentity(ProtectionError):
    """The case has no identity record (or no employee number in it) to protect the reporter by."""


class AlreadyProtected(ProtectionError):
    """This case's reporter is protected already; extend the period instead."""


class InvalidInput(ProtectionError):
    """A date, answer, type or text that the rules refuse."""


class NotAllowed(ProtectionError):
    """This step does not exist from the current state, or not for this person."""
