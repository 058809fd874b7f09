"""The monitoring bridge's bookkeeping: sources, imports that resume, records, quarantine.

A record is kept once per (source, external id), so a replayed feed or a
re-run import changes nothing; a bad record is quarantined with its raw bytes,
never dropped. Raw and normalised payloads may name people, so they are
stored encrypted (``*_ct``); only what correlation and queues need is plain.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, ciphertext, intpk, one_of, str40, str200, timestamp, utcnow


class SourceKind(enum.StrEnum):
    """What a bridge source feeds in."""

    CHEONGBAEK = "cheongbaek"
    PERSONNEL = "personnel"
    TRAINING = "training"
    SUPPORTER = "supporter"
    IDEA = "idea"


class ImportStatus(enum.StrEnum):
    """Where an import stands; a ``running`` one left by a crash resumes from ``position``."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class BridgeSource(Base):
    """A configured source with its adapter (registry key) and its HMAC key for signed requests."""

    __tablename__ = "bridge_sources"
    __table_args__ = (CheckConstraint(one_of("kind", SourceKind), name="kind"),)

    id: Mapped[intpk]
    name: Mapped[str40] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    adapter: Mapped[str40]
    # Encrypted at rest: a database thief must not be able to forge signed feed requests.
    hmac_key_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)


class BridgeImport(Base):
    """One run over a file or feed, with the position it reached so a crash resumes without loss."""

    __tablename__ = "bridge_imports"
    __table_args__ = (
        CheckConstraint(one_of("status", ImportStatus), name="status"),
        CheckConstraint("position >= 0 AND records_ok >= 0 AND records_bad >= 0", name="counters"),
    )

    id: Mapped[intpk]
    source_id: Mapped[int] = mapped_column(ForeignKey("bridge_sources.id", ondelete="RESTRICT"), index=True)
    label: Mapped[str200]  # file name or feed batch label
    # HMAC-SHA256 under the bridge key (monitoring_bridge.importer.file_mac): recognises the same file dropped again.
    file_sha256: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    status: Mapped[str] = mapped_column(String(20), default=ImportStatus.RUNNING.value)
    position: Mapped[int] = mapped_column(BigInteger, default=0)  # byte offset after the last committed record
    records_ok: Mapped[int] = mapped_column(Integer, default=0)
    records_bad: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[timestamp] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]

    source: Mapped[BridgeSource] = relationship()


class BridgeRecord(Base):
    """A validated record, once per (source, external id), correlated into a case.

    ``correlation_key`` is an HMAC of what ties records together (a task, an
    account), so related records find each other without plaintext.
    """

    __tablename__ = "bridge_records"
    __table_args__ = (UniqueConstraint("source_id", "external_id"),)

    id: Mapped[intpk]
    source_id: Mapped[int] = mapped_column(ForeignKey("bridge_sources.id", ondelete="RESTRICT"))
    external_id: Mapped[str200]
    import_id: Mapped[int | None] = mapped_column(ForeignKey("bridge_imports.id", ondelete="SET NULL"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    scenario: Mapped[str | None] = mapped_column(String(40))  # Cheongbaek-e rule code: a category
    department_code: Mapped[str | None] = mapped_column(String(40))
    # Cheongbaek-e linked system (one of five fixed codes, not sensitive) for the dashboard;
    # NULL for records imported before migration 0014 and for other sources.
    system: Mapped[str | None] = mapped_column(String(20))
    occurred_on: Mapped[dt.date | None] = mapped_column(Date)
    correlation_key: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    occurred_at: Mapped[dt.datetime | None]  # the instant correlation windows are measured on
    # Blind index of the official the record names (monitoring_bridge.subjects): matched against
    # training records and case subjects without the name ever being stored.
    official_index: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    # Blind index of the contract an alert names (same keyed HMAC), so that a contract staff name on a
    # report later finds the open alerts about it; NULL before migration 0014 and without a contract.
    contract_index: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    # HMAC of the normalised data under the bridge key (monitoring_bridge.keyring.RecordMac): a replay is
    # recognised as unchanged without decrypting. Keyed, since a plain hash let a dictionary of names
    # recover the official a record names. NULL for rows from before migration 0015 (upgraded on replay).
    data_mac: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    payload_ct: Mapped[ciphertext]
    received_at: Mapped[timestamp] = mapped_column(default=utcnow)

    source: Mapped[BridgeSource] = relationship()


class QuarantinedRecord(Base):
    """A record that failed validation, kept with its raw bytes (encrypted) and the error.

    ``error`` is plaintext for the admin's queue, so validators must describe
    the fault without quoting field values.
    """

    __tablename__ = "quarantined_records"

    id: Mapped[intpk]
    source_id: Mapped[int] = mapped_column(ForeignKey("bridge_sources.id", ondelete="RESTRICT"), index=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("bridge_imports.id", ondelete="SET NULL"), index=True)
    position: Mapped[int | None] = mapped_column(BigInteger)  # where in the file, to find it again
    raw_ct: Mapped[ciphertext]
    error: Mapped[str] = mapped_column(String(500))
    # HMAC of the raw bytes under the bridge key: the same bad line imported twice is kept once.
    raw_mac: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    received_at: Mapped[timestamp] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]


class FeedSignature(Base):
    """A signed feed request already accepted, kept until its timestamp leaves the replay window.

    Why: the window alone let a captured request be sent again for a few
    minutes, and sent after a newer batch it rolled the newer records back (an
    audited update to older data). Each signature is accepted once; the row
    is written in the import's transaction, so a batch that failed can be sent
    again. Rows past ``expires_at`` are deleted as new ones come in.
    """

    __tablename__ = "bridge_feed_signatures"

    source_id: Mapped[int] = mapped_column(ForeignKey("bridge_sources.id", ondelete="CASCADE"), primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    expires_at: Mapped[timestamp] = mapped_column(index=True)


class BridgeCaseKey(Base):
    """A bridge-made case's key, wrapped under the instance bridge key, while the bridge still feeds it.

    The bridge holds no private key, so without this it could not add a later
    correlated alert to a case it made. Threat accepted: whoever holds both the
    database and the instance folder reads these cases; that is the party the
    feed's plaintext passes through anyway. The row is kept only while the case
    holds nothing but feed data: the first staff action that adds content or
    assigns the case deletes it (``app.cases.handover``), and later alerts open
    a new, linked case instead (``monitoring_bridge.cases``).
    """

    __tablename__ = "bridge_case_keys"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    key_ct: Mapped[ciphertext]
