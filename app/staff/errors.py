"""Errors of the staff area, caught at the edge (views and CLI)."""


class StaffError(Exception):
    """Base class of staff-area errors."""


class InvalidCredentials(StaffError):
    """Username or password wrong, or the account is disabled (one message for all)."""


class OwnRolesUnchangeable(StaffError):
    """Nobody changes their own roles; another administrator must."""


class AccountLocked(StaffError):
    """Too many failed attempts; the account is locked for a while."""


class InvalidTotp(StaffError):
    """The one-time code is wrong, expired or already used."""


class SessionInvalid(StaffError):
    """The staff session is missing, expired or does not open."""


class WeakPassword(StaffError):
    """The new password does not meet the password rules."""


class DuplicateUser(StaffError):
    """A user with that username already exists."""


class NotATeamMember(StaffError):
    """The acting user holds no key of this team, so cannot share it."""


class RecoveryKeyMissing(StaffError):
    """No organisation recovery key is configured yet (run `flask recovery init`)."""


class UnknownUser(StaffError):
    """No such staff user."""


class UnknownTeam(StaffError):
    """No such team."""


class InvalidEmail(StaffError):
    """Not one plain e-mail address (a list, a line break or no domain)."""


class LastToOpenCases(StaffError):
    """Removing this member would leave cases no staff member can open (``refs``: their public refs)."""

    def __init__(self, refs: list[str]) -> None:
        super().__init__(", ".join(refs))
        self.refs = refs
