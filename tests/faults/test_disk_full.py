"""Disk full on the blob store: the reporter gets a clear page, and nothing is half-written."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.blobs import _PartFile
from app.db import get_session
from app.models.cases import Case

BIG = os.urandom(2 * 1024 * 1024)


@contextlib.contextmanager
def tiny_disk(path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The blob folder on a 512 KiB tmpfs (as root), else writes that fail with ENOSPC at the file layer."""
    mounted = (
        os.geteuid() == 0
        and (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", str(path)], capture_output=True
            )
        ).returncode
        == 0
    )
    if mounted:
        try:
            yield "tmpfs"
        finally:
            subprocess.run(["umount", str(path)], check=True)
        return
    written: dict[int, int] = {}
    real = _PartFile.write

    def write(self, data):
        written[id(self)] = written.get(id(self), 0) + len(data)
        if written[id(self)] > 512 * 1024:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(_PartFile, "write", write)
    yield "patched"


def test_a_full_blob_store_refuses_the_report_cleanly_and_keeps_nothing(app, office, reporter, monkeypatch):
    blobs = Path(app.instance_path) / "blobs"
    with tiny_disk(blobs, monkeypatch):
        r = reporter.submit(files=[(io.BytesIO(BIG), "ledger.pdf")])
        left = [p for p in blobs.rglob("*") if p.is_file()]
    assert r.status_code == 507
    html = r.get_data(as_text=True)
    assert "No room to store what you sent" in html and "nothing of what you sent was kept" in html
    assert "Traceback" not in html and "ENOSPC" not in html and "No space" not in html
    assert left == []  # no .part, no blob
    with app.app_context():
        assert get_session().query(Case).count() == 0
    # Once there is room again the same reporter's next try goes through.
    receipt = reporter.submit_ok(files=[(io.BytesIO(b"small evidence"), "note.txt")])
    assert receipt
