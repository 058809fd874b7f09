"""Backup and restore of a whole instance: database rows, blobs and instance secrets.

The database is dumped logically, table by table in foreign-key order, inside
one read transaction (REPEATABLE READ on PostgreSQL, a deferred read
transaction on SQLite's WAL), so the rows are one consistent snapshot and a
backup made on one engine restores on the other. Only blobs the snapshot
refers to (``attachments.blob_key``) are copied: blobs are write-once under
random keys, so the snapshot's rows name exactly the files it needs, and an
upload still streaming in is never half-copied.

A restore goes into a freshly migrated, empty database at the backup's
revision. Rows are inserted in one transaction that commits only after the
whole archive has been read and authenticated; blobs written before a failure
are deleted again, and instance secrets are written last, so a damaged
backup leaves the target as it was.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from app import models  # noqa: F401  (every table registered on Base.metadata)
from app.backup.archive import ArchiveReader, ArchiveWriter
from app.backup.errors import DamagedBackup, MissingBlob, RevisionMismatch, TargetNotEmpty
from app.blobs import BlobStore
from app.db import Base
from app.schema import alembic_config
from config import SECRET_FILES
from crypto.kdf import Argon2Params

FORMAT = 1
BLOB_TABLES = frozenset({"blob_objects", "blob_chunks"})
ROW_BATCH = 500
BLOB_PIECE = 64 * 1024

# Record tags (app/backup/README.md).
MANIFEST, TABLE, ROW, BLOB, BLOB_DATA, BLOB_END, SECRET, END = (bytes([c]) for c in b"MTRBDESZ")


@dataclass(frozen=True)
class BackupSummary:
    """What a backup holds (printed by the CLI, checked again by a restore)."""

    revision: str
    rows: int
    blobs: int
    secrets: int


def dumped_tables() -> list[sa.Table]:
    """Every table of the models in foreign-key order, except the database blob store's own.

    Blobs travel as blob records whatever store holds them, so a backup moves
    between a folder and a database store; dumping ``blob_*`` rows too would
    carry every file twice.
    """
    return [t for t in Base.metadata.sorted_tables if t.name not in BLOB_TABLES]


def code_head() -> str:
    """The newest migration revision this code knows (the one its models describe)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one moment of the database."""
    if engine.dialect.name == "sqlite":
        # pysqlite opens no transaction for SELECTs on its own; without an explicit
        # BEGIN every query would read a newer state than the one before it.
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN DEFERRED")
            try:
                yield conn
            finally:
                conn.exec_driver_sql("ROLLBACK")
    else:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin() as tx:
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield conn
                tx.rollback()


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"b": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dt.datetime):
        return {"t": value.astimezone(dt.UTC).isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "b" in value:
            return base64.b64decode(value["b"])
        if "t" in value:
            return dt.datetime.fromisoformat(value["t"])
        if "d" in value:
            return dt.date.fromisoformat(value["d"])
        raise DamagedBackup("the backup holds a value of an unknown kind")
    return value


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def create_backup(
    engine: Engine, store: BlobStore, instance_path: Path, out: Path, passphrase: str, params: Argon2Params
) -> BackupSummary:
    """Write one encrypted archive of the database snapshot, its blobs and the instance secrets."""
    writer = ArchiveWriter(out, passphrase, params)
    try:
        summary = _write(writer, engine, store, instance_path)
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    return summary


def _write(writer: ArchiveWriter, engine: Engine, store: BlobStore, instance_path: Path) -> BackupSummary:
    rows = 0
    blob_keys: list[str] = []
    with _snapshot(engine) as conn:
        revision = _revision(conn)
        if revision != code_head():
            raise RevisionMismatch(f"the database is at {revision}, this code at {code_head()}: migrate first")
        tables = dumped_tables()
        writer.record(
            MANIFEST,
            _json({"format": FORMAT, "revision": revision, "tables": [t.name for t in tables]}),
        )
        # Blobs first (a restore writes them through the blob store, which may be this same
        # database, before the rows' transaction starts), copied while the snapshot is open:
        # a purge that deletes a file after the snapshot would otherwise leave a row whose
        # blob is missing.
        blob_keys = list(conn.scalars(sa.text("SELECT blob_key FROM attachments ORDER BY blob_key")))
        for key in blob_keys:
            _write_blob(writer, store, key)
        for table in tables:
            columns = [c.name for c in table.columns]
            writer.record(TABLE, _json({"name": table.name, "columns": columns}))
            order = list(table.primary_key.columns) or list(table.columns)
            result = conn.execution_options(yield_per=ROW_BATCH).execute(sa.select(table).order_by(*order))
            for row in result:
                writer.record(ROW, _json([_encode(v) for v in row]))
                rows += 1
    secrets_dir = instance_path / "secrets"
    for name in SECRET_FILES:
        value = (secrets_dir / name).read_bytes()
        writer.record(SECRET, _json({"name": name, "value": _encode(value)}))
    summary = BackupSummary(revision=revision, rows=rows, blobs=len(blob_keys), secrets=len(SECRET_FILES))
    writer.record(END, _json({"rows": rows, "blobs": len(blob_keys), "secrets": len(SECRET_FILES)}))
    return summary


def _write_blob(writer: ArchiveWriter, store: BlobStore, key: str) -> None:
    try:
        source = store.open_read(key)
    except (FileNotFoundError, KeyError):
        raise MissingBlob(f"blob {key} is referenced but missing; run the backup again") from None
    writer.record(BLOB, key.encode())
    with source:
        while piece := source.read(BLOB_PIECE):
            writer.record(BLOB_DATA, piece)
    writer.record(BLOB_END, b"")


def read_passphrase_file(path: Path) -> str:
    """The passphrase in a file (one line; the trailing newline is not part of it)."""
    return path.read_text(encoding="utf-8").rstrip("\r\n")


def restore_backup(
    engine: Engine, store: BlobStore, instance_path: Path, source: IO[bytes], passphrase: str
) -> BackupSummary:
    """Restore an archive into an empty database at the same revision, its blobs and secrets."""
    reader = ArchiveReader(source, passphrase)
    tag, payload = reader.next()
    if tag != MANIFEST:
        raise DamagedBackup("the backup does not start with its manifest")
    manifest = json.loads(payload)
    if manifest.get("format") != FORMAT:
        raise DamagedBackup(f"backup format {manifest.get('format')} is not supported")
    written_blobs: list[str] = []
    with engine.connect() as conn:
        _check_target(conn, manifest["revision"])
        tx = conn.begin()
        try:
            summary, secrets = _restore_records(conn, store, reader, manifest, written_blobs)
            _write_secrets(instance_path, secrets)
            if engine.dialect.name == "postgresql":
                _reset_sequences(conn)
            tx.commit()
        except BaseException:
            tx.rollback()
            for key in written_blobs:
                store.delete(key)
            raise
    return summary


def _check_target(conn: Connection, revision: str) -> None:
    have = _revision(conn)
    if have != revision:
        raise RevisionMismatch(f"the backup is at revision {revision}, the database at {have}")
    if revision != code_head():
        raise RevisionMismatch(f"the backup is at revision {revision}, this code at {code_head()}")
    for table in dumped_tables():
        if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None:
            raise TargetNotEmpty(f"table {table.name} already has rows; restore only into an empty database")
    conn.rollback()  # end the autobegun read so the restore's own transaction starts clean


def _restore_records(
    conn: Connection, store: BlobStore, reader: ArchiveReader, manifest: dict[str, Any], written_blobs: list[str]
) -> tuple[BackupSummary, dict[str, bytes]]:
    tables = {t.name: t for t in dumped_tables()}
    table: sa.Table | None = None
    columns: list[str] = []
    batch: list[dict[str, Any]] = []
    secrets: dict[str, bytes] = {}
    rows = 0

    def flush() -> None:
        if table is not None and batch:
            conn.execute(table.insert(), batch)
            batch.clear()

    while True:
        tag, payload = reader.next()
        if tag == TABLE:
            flush()
            head = json.loads(payload)
            table = tables.get(head["name"])
            columns = head["columns"]
            if table is None or columns != [c.name for c in table.columns]:
                raise RevisionMismatch(f"table {head['name']} in the backup does not match this schema")
        elif tag == ROW:
            if table is None:
                raise DamagedBackup("a row outside any table")
            batch.append(dict(zip(columns, (_decode(v) for v in json.loads(payload)), strict=True)))
            rows += 1
            if len(batch) >= ROW_BATCH:
                flush()
        elif tag == BLOB:
            flush()
            _restore_blob(store, reader, payload.decode("ascii"), written_blobs)
        elif tag == SECRET:
            item = json.loads(payload)
            name, value = item["name"], _decode(item["value"])
            if SECRET_FILES.get(name) != len(value):
                raise DamagedBackup(f"instance secret {name!r} in the backup is not one this code uses")
            secrets[name] = value
        elif tag == END:
            flush()
            counts = json.loads(payload)
            reader.expect_end()
            if counts != {"rows": rows, "blobs": len(written_blobs), "secrets": len(secrets)} or set(secrets) != set(
                SECRET_FILES
            ):
                raise DamagedBackup("the backup's contents do not match its own counts")
            return BackupSummary(manifest["revision"], rows, len(written_blobs), len(secrets)), secrets
        else:
            raise DamagedBackup("the backup holds a record of an unknown kind")


def _restore_blob(store: BlobStore, reader: ArchiveReader, key: str, written_blobs: list[str]) -> None:
    try:
        sink = store.open_write(key)  # refuses a malformed key, and an existing one (rows; local .part)
    except (FileExistsError, sa.exc.IntegrityError):
        raise TargetNotEmpty(f"blob {key} is already in the blob store; restore only into an empty one") from None
    try:
        while True:
            tag, payload = reader.next()
            if tag == BLOB_END:
                break
            if tag != BLOB_DATA:
                raise DamagedBackup("a blob in the backup is cut short")
            sink.write(payload)
        sink.close()
        try:
            store.commit(key)  # never replaces a committed blob (local: a link, not a rename)
        except FileExistsError:
            raise TargetNotEmpty(f"blob {key} is already in the blob store; restore only into an empty one") from None
        written_blobs.append(key)  # only blobs this restore created are removed if it fails
    except BaseException:
        if not sink.closed:
            sink.close()
        store.discard(key)
        raise


def _write_secrets(instance_path: Path, secrets: dict[str, bytes]) -> None:
    """Replace the instance secrets with the backup's, each atomically and readable by the owner only."""
    secrets_dir = instance_path / "secrets"
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, value in secrets.items():
        tmp = secrets_dir / f".{name}.restore"
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(value)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, secrets_dir / name)


def _reset_sequences(conn: Connection) -> None:
    """Move PostgreSQL's id sequences past the restored ids (rows were inserted with their ids)."""
    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, sa.Integer) or pk[0].autoincrement is False:
            continue
        col = pk[0].name
        seq = conn.scalar(sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": col})
        if seq is None:
            continue
        # Table and column names come from the models, never from the backup file.
        highest = sa.select(sa.func.max(table.c[col])).scalar_subquery()
        conn.execute(sa.select(sa.func.setval(seq, sa.func.coalesce(highest, 1), highest.is_not(None))))
