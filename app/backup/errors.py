"""Why a backup could not be made or restored (caught by the CLI, shown without a traceback)."""

from __future__ import annotations


class BackupError(Exception):
    """Base class of every backup and restore failure."""


class WrongPassphrase(BackupError):
    """The passphrase does not open the backup key (or the backup's header was changed)."""


class DamagedBackup(BackupError):
    """The archive is truncated, altered or not a Haechi backup."""


class RevisionMismatch(BackupError):
    """The database is at another migration revision than the backup (or than this code)."""


class TargetNotEmpty(BackupError):
    """Restoring would merge into a database that already holds rows."""


class MissingBlob(BackupError):
    """A file the snapshot refers to is gone from the blob store (purged during the backup)."""
