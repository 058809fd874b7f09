"""The blob store: where encrypted files live (DESIGN.md section 8: instance/blobs by default).

Only ciphertext ever reaches it: writers are fed by crypto.stream. A blob is
written under a temporary name beside its final place and renamed when
complete, so a reader never sees half a file and a crash leaves only an
orphan ``.part`` file of ciphertext, which :meth:`LocalBlobStore.sweep` removes.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import IO, Protocol


class BlobStore(Protocol):
    """What the app needs of a blob store (local folder now; S3-compatible later)."""

    def new_key(self) -> str: ...
    def open_write(self, key: str) -> IO[bytes]: ...
    def commit(self, key: str) -> None: ...
    def discard(self, key: str) -> None: ...
    def open_read(self, key: str) -> IO[bytes]: ...
    def delete(self, key: str) -> None: ...


class LocalBlobStore:
    """Blobs as files in one folder, two levels of fan-out by key prefix."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def new_key(self) -> str:
        """A random key: it names the blob and says nothing about its case or content."""
        return secrets.token_hex(16)

    def _path(self, key: str) -> Path:
        if len(key) != 32 or not all(c in "0123456789abcdef" for c in key):
            # Keys come from the database; refuse anything that could walk out of the folder.
            raise ValueError("malformed blob key")
        return self.root / key[:2] / key

    def open_write(self, key: str) -> IO[bytes]:
        """A file to write the ciphertext of a new blob into (becomes visible on :meth:`commit`)."""
        path = self._path(key)
        path.parent.mkdir(exist_ok=True, mode=0o700)
        fd = os.open(path.with_suffix(".part"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return os.fdopen(fd, "wb")

    def commit(self, key: str) -> None:
        """Make a completely written blob visible under its key, its times kept to the day.

        Threat: a file's modification time would tell when a reporter uploaded
        it, to the microsecond (DESIGN.md section 5 keeps reporter times to
        the day). The blob and its folder are set to midnight UTC. The inode
        change time cannot be set from user space; on a local disk it still
        holds the exact time, which object storage does not expose.
        """
        path = self._path(key)
        os.replace(path.with_suffix(".part"), path)
        midnight = int(time.time()) // 86400 * 86400
        os.utime(path, (midnight, midnight))
        os.utime(path.parent, (midnight, midnight))

    def discard(self, key: str) -> None:
        """Forget a blob that was started but not committed."""
        self._path(key).with_suffix(".part").unlink(missing_ok=True)

    def open_read(self, key: str) -> IO[bytes]:
        """Open a committed blob's ciphertext."""
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        """Delete a committed blob (purge, or a submission that was rolled back)."""
        self._path(key).unlink(missing_ok=True)

    def sweep(self, older_than_seconds: int = 3600) -> int:
        """Remove orphan ``.part`` files left by a crash; returns how many.

        Only parts older than ``older_than_seconds`` go, so an upload still
        streaming in another worker is left alone.
        """
        cutoff = time.time() - older_than_seconds
        count = 0
        for part in self.root.glob("*/*.part"):
            if part.stat().st_mtime < cutoff:
                part.unlink(missing_ok=True)
                count += 1
        return count
