"""Blobs kept in the database (``HAECHI_BLOB_STORE=database``) for setups of several machines.

Same content as the folder store: only crypto.stream ciphertext, under random
keys that say nothing about their case. A blob is a row in ``blob_objects``
and its ciphertext in ordered ``blob_chunks`` rows, so it streams in and out a
chunk at a time instead of living in memory as one value.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class BlobObject(Base):
    """One blob: visible to readers only once ``committed`` (the folder store's rename)."""

    __tablename__ = "blob_objects"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    committed: Mapped[bool] = mapped_column(default=False)
    # The day only (DESIGN.md section 5: reporter actions keep the day): enough for
    # `flask blobs sweep` to find parts a crash left behind.
    started_on: Mapped[dt.date] = mapped_column(Date, index=True)


class BlobChunk(Base):
    """One piece of a blob's ciphertext, in order of ``seq``."""

    __tablename__ = "blob_chunks"

    blob_key: Mapped[str] = mapped_column(
        String(32), ForeignKey("blob_objects.key", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
