"""Retention: which closed cases were reminded of their purge, and what each purge destroyed.

A purged case keeps its ``cases`` row as a content-free tombstone (DESIGN.md
section 6); this table says when it was purged and how many rows of each kind
went, so statistics and audits can tell a purged case from an empty one
without any content surviving. Counts only: nothing here was typed by anyone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class RetentionRecord(Base):
    """One row per case that was reminded of or went through a purge."""

    __tablename__ = "retention_records"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    # The reminder is sent once per retention date: a case reopened and closed
    # again gets a new date and so a new reminder.
    reminded_on: Mapped[dt.date | None] = mapped_column(Date)
    reminded_for: Mapped[dt.date | None] = mapped_column(Date)
    purged_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    # What the purge destroyed (rows deleted, or ciphertext columns emptied).
    grants: Mapped[int] = mapped_column(Integer, default=0)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    attachments: Mapped[int] = mapped_column(Integer, default=0)
    blobs: Mapped[int] = mapped_column(Integer, default=0)
    identity_records: Mapped[int] = mapped_column(Integer, default=0)
    identity_requests: Mapped[int] = mapped_column(Integer, default=0)
    identity_releases: Mapped[int] = mapped_column(Integer, default=0)
    links: Mapped[int] = mapped_column(Integer, default=0)
    labels: Mapped[int] = mapped_column(Integer, default=0)
    assignments: Mapped[int] = mapped_column(Integer, default=0)
    exclusions: Mapped[int] = mapped_column(Integer, default=0)
    protection_records: Mapped[int] = mapped_column(Integer, default=0)
    support_texts: Mapped[int] = mapped_column(Integer, default=0)
    bridge_payloads: Mapped[int] = mapped_column(Integer, default=0)
