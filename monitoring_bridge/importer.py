"""The import pipeline every source shares: decode, validate, deduplicate, apply, quarantine, resume.

A file is streamed line by line (constant memory) and committed in batches;
each commit records in :class:`~app.models.bridge.BridgeImport` the byte
offset after the batch, so an import killed half-way and run again on the same
file (recognised by its SHA-256) starts from there and ends in the state one
uninterrupted run gives: nothing lost (the uncommitted batch is redone),
nothing doubled (what was committed is never redone, and a record seen before
is recognised by (source, external id)).

Idempotency: a record is kept once per (source, external id) with a keyed MAC
of its normalised data (:class:`~monitoring_bridge.keyring.RecordMac`; a plain
hash would let a dictionary of names recover the official a record names); the
same data again is a duplicate and changes nothing, different data is an
update, applied and audited (``bridge.record_updated``). A row from before
migration 0015 has no MAC: its stored payload is decrypted and compared once,
and if unchanged only the MAC is stored (a duplicate, not an update).

Nothing is dropped: a record that fails decoding, validation or its adapter's
checks is quarantined with its raw bytes (encrypted under the bridge key) and
the field and reason of the fault.

Speed: an adapter that plans whole batches (:mod:`monitoring_bridge.batch`;
Cheongbaek-e alerts, a million at a time) takes the bulk path: one query for
the batch's known records, the adapter's in-memory plan, then its cases,
entries and records written with a few ``executemany`` statements and one
commit. Other adapters are applied record by record through the ORM. Both
paths make the same decisions; at the end of a run the adapter's ``finish``
(if any) judges what needs the whole import (training: departments).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from app.audit import record as audit
from app.db import utcnow
from app.models.audit import ActorKind
from app.models.bridge import BridgeImport, BridgeRecord, BridgeSource, ImportStatus, QuarantinedRecord
from app.models.staff import RecoveryKey, Team
from config import Settings, load_secrets
from crypto.errors import DecryptionError
from monitoring_bridge import batch, decode, keyring, registry
from monitoring_bridge.adapter import ApplyContext, ParsedRecord, SourceAdapter
from monitoring_bridge.batch import BatchAdapter, Existing, sqlite_bulk_settings
from monitoring_bridge.errors import NotReady, RecordError, UnknownSource
from monitoring_bridge.payload import PayloadCipher

# Lines per transaction: a killed import redoes at most this many. Fewer, larger commits
# write each hot index page back less often (5,000 took a million alerts' commits from
# about a third of the import's time to a tenth; see sqlite_bulk_settings).
BATCH = 5000
# What the bulk path writes for a new record (received_at last: one timestamp per batch).
_INSERTED_COLUMNS = (
    "source_id",
    "external_id",
    "import_id",
    "case_id",
    "scenario",
    "department_code",
    "system",
    "occurred_on",
    "correlation_key",
    "occurred_at",
    "official_index",
    "contract_index",
    "data_mac",
    "payload_ct",
    "received_at",
)
_RECORDS = batch.FastInsert(BridgeRecord, _INSERTED_COLUMNS)
# What an update rewrites on a kept record (the bulk path's UPDATE ... WHERE id = :row_id).
_UPDATED_COLUMNS = (
    "import_id",
    "case_id",
    "scenario",
    "department_code",
    "system",
    "occurred_at",
    "occurred_on",
    "correlation_key",
    "official_index",
    "contract_index",
    "data_mac",
    "payload_ct",
)
Progress = Callable[[int], None]  # called with the number of bytes just processed


@dataclass
class ImportSummary:
    """What one run did; ``quarantined`` counts records newly put in quarantine."""

    accepted: int = 0
    updated: int = 0
    duplicates: int = 0
    linked: int = 0
    quarantined: int = 0

    def line(self) -> str:
        """One line for the CLI and logs."""
        return (
            f"accepted {self.accepted}, updated {self.updated}, duplicates {self.duplicates},"
            f" linked {self.linked}, quarantined {self.quarantined}"
        )


@dataclass
class _Line:
    position: int  # byte offset where the line starts
    raw: bytes  # what is quarantined (for CSV: header line + the line, so a retry can decode it)
    obj: dict[str, Any] | None = None
    error: RecordError | None = None
    oversized: bytes | None = None  # SHA-256 of a line too long to keep (raw is then empty)


def find_source(db: Session, name: str) -> tuple[BridgeSource, SourceAdapter]:
    """The active source of that name and its adapter, or UnknownSource."""
    source = db.scalar(select(BridgeSource).where(BridgeSource.name == name, BridgeSource.active.is_(True)))
    if source is None:
        raise UnknownSource(name)
    return source, registry.get(source.adapter)


class _Run:
    """One import run's state: its context, the records it has seen, its summary."""

    def __init__(
        self, db: Session, settings: Settings, source: BridgeSource, adapter: SourceAdapter, bridge_key: bytes
    ) -> None:
        self.db = db
        self.source = source
        self.adapter = adapter
        self.bridge_key = bridge_key
        self.summary = ImportSummary()
        self.planner = batch.as_batch_adapter(adapter)
        self.payloads = PayloadCipher(bridge_key, source.id)
        self.record_mac = keyring.RecordMac(bridge_key, source.id)
        recovery = db.scalar(select(RecoveryKey).where(RecoveryKey.active.is_(True)).order_by(RecoveryKey.id))
        if recovery is None:
            raise NotReady("no active recovery key")
        teams: dict[str, Team] = {}

        def team_public(kind: str) -> Team:
            if kind not in teams:
                team = db.scalar(select(Team).where(Team.kind == kind).order_by(Team.id))
                if team is None:
                    raise NotReady(f"no {kind} team")
                teams[kind] = team
            return teams[kind]

        self.ctx = ApplyContext(
            db=db,
            settings=settings,
            now=utcnow(),
            team_public=team_public,
            recovery=recovery,
            source=source,
            bridge_key=bridge_key,
        )

    def process(self, lines: list[_Line], job: BridgeImport | None) -> tuple[int, int]:
        """Validate and apply one batch (no commit); returns (records ok, records bad)."""
        batch.lock_batch(self.db)  # before the first read: see lock_batch
        parsed: list[tuple[_Line, ParsedRecord | None]] = []
        parse = self.adapter.parse
        for line in lines:
            rec = None
            if line.error is None and line.obj is not None:
                try:
                    rec = parse(line.obj)
                except RecordError as exc:
                    line.error = exc
            parsed.append((line, rec))
        if self.planner is not None:
            return self._process_planned(self.planner, parsed, job)
        ids = [rec.external_id for _, rec in parsed if rec is not None]
        known = (
            {
                r.external_id: r
                for r in self.db.scalars(
                    select(BridgeRecord).where(
                        BridgeRecord.source_id == self.source.id, BridgeRecord.external_id.in_(ids)
                    )
                )
            }
            if ids
            else {}
        )
        ok = bad = 0
        for line, rec in parsed:
            if rec is None:
                assert line.error is not None
                self.quarantine(line, line.error, job)
                bad += 1
                continue
            try:
                self.apply(rec, known, job)
                ok += 1
            except RecordError as exc:
                self.quarantine(line, exc, job)
                bad += 1
        return ok, bad

    def _process_planned(
        self,
        planner: BatchAdapter,
        parsed: list[tuple[_Line, ParsedRecord | None]],
        job: BridgeImport | None,
        *,
        raise_errors: bool = False,
    ) -> tuple[int, int]:
        """The bulk path: plan every record in memory, then write the batch in a few statements.

        Same decisions as :meth:`apply` record by record (duplicate, update,
        new; quarantine on a RecordError), but the batch's known records come
        in one query, its cases, entries and links are written by
        :func:`monitoring_bridge.batch.write`, and its records are inserted
        and updated with ``executemany``. ``raise_errors`` re-raises a
        record's error instead of quarantining it (quarantine retry).
        """
        items: list[tuple[_Line, ParsedRecord | None, bytes, bytes]] = []
        ids: list[str] = []
        record_mac = self.record_mac
        for line, rec in parsed:
            if rec is None:
                items.append((line, None, b"", b""))
                continue
            normalised = batch.normalise(rec.data)
            items.append((line, rec, normalised, record_mac(normalised)))
            ids.append(rec.external_id)
        known: dict[str, Existing] = {}
        if ids:
            for row_id, ext, digest, case in self.db.execute(
                select(BridgeRecord.id, BridgeRecord.external_id, BridgeRecord.data_mac, BridgeRecord.case_id).where(
                    BridgeRecord.source_id == self.source.id, BridgeRecord.external_id.in_(ids)
                )
            ):
                known[ext] = Existing(digest=digest or b"", case=case, row_id=row_id)
            if any(not ex.digest for ex in known.values()):
                self._upgrade_legacy(known, items)
            # A replayed record changes nothing: only the others need what prepare fetches.
            planner.prepare(
                self.ctx,
                [
                    (rec, ex)
                    for _, rec, _, digest in items
                    if rec is not None and ((ex := known.get(rec.external_id)) is None or ex.digest != digest)
                ],
            )
        summary = self.summary
        source_id = self.source.id
        import_id = job.id if job is not None else None
        seal_payload = self.payloads.encrypt
        plan = planner.plan
        ctx = self.ctx
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        audited: list[dict[str, Any]] = []  # rows whose update is audited once they have ids
        ok = bad = 0
        for line, rec, normalised, digest in items:
            if rec is None:
                assert line.error is not None
                if raise_errors:
                    raise line.error
                self.quarantine(line, line.error, job)
                bad += 1
                continue
            ext = rec.external_id
            existing = known.get(ext)
            if existing is not None and existing.digest == digest:
                summary.duplicates += 1
                ok += 1
                continue
            try:
                planned = plan(ctx, rec, existing, normalised)
            except RecordError as exc:
                if raise_errors:
                    raise
                self.quarantine(line, exc, job)
                bad += 1
                continue
            ok += 1
            summary.linked += planned.linked
            at = planned.occurred_at
            row: dict[str, Any] = {
                "source_id": source_id,
                "external_id": ext,
                "import_id": import_id,
                "case": planned.case,
                "scenario": planned.scenario,
                "department_code": planned.department_code,
                "system": planned.system,
                "occurred_at": at,
                "occurred_on": at.date() if at is not None else None,
                "correlation_key": planned.correlation_key,
                "official_index": planned.official_index,
                "contract_index": planned.contract_index,
                "data_mac": digest,
                "payload_ct": seal_payload(ext, normalised),
            }
            if existing is None:
                inserts.append(row)
                known[ext] = Existing(digest=digest, case=planned.case, row=row)
                summary.accepted += 1
                continue
            existing.digest, existing.case = digest, planned.case
            if existing.row_id is None:  # first seen earlier in this batch: its insert takes the new values
                assert existing.row is not None
                existing.row.update(row)
                audited.append(existing.row)
            else:
                row["row_id"] = existing.row_id
                updates.append(row)
                audited.append(row)
            summary.updated += 1
        batch.write(ctx)
        for row in inserts:
            row["case_id"] = batch.case_id(row.pop("case"))
        for row in updates:
            row["case_id"] = batch.case_id(row.pop("case"))
        if inserts:
            received = utcnow()
            _RECORDS.run(
                self.db,
                [[r[c] for c in _INSERTED_COLUMNS[:-1]] + [received] for r in inserts],
                same=("received_at",),
            )
        if updates:
            # Bind names must differ from column names in an UPDATE's SET clause.
            table = batch.table(BridgeRecord)
            self.db.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values({c: bindparam("new_" + c) for c in _UPDATED_COLUMNS}),
                [{"row_id": r["row_id"], **{"new_" + c: r[c] for c in _UPDATED_COLUMNS}} for r in updates],
            )
        if audited:
            self._audit_updates(audited)
        return ok, bad

    def _upgrade_legacy(
        self, known: dict[str, Existing], items: list[tuple[_Line, ParsedRecord | None, bytes, bytes]]
    ) -> None:
        """Give rows from before migration 0015 (no MAC) theirs when the batch brings the same data again.

        Why decrypt: the migration erased the old unkeyed hashes (they were the
        leak) and cannot compute MACs without the bridge key, so the stored
        payload is the only way to tell a replay from a change. Happens once per
        legacy row; a replay is then a duplicate with no audited update.
        """
        incoming: dict[str, tuple[bytes, bytes]] = {}
        for _, rec, normalised, digest in items:  # the first occurrence is what meets the stored row
            if rec is not None:
                incoming.setdefault(rec.external_id, (normalised, digest))
        legacy = [ex.row_id for ex in known.values() if not ex.digest and ex.row_id is not None]
        upgraded: list[dict[str, Any]] = []
        for row_id, ext, ct in self.db.execute(
            select(BridgeRecord.id, BridgeRecord.external_id, BridgeRecord.payload_ct).where(
                BridgeRecord.id.in_(legacy)
            )
        ):
            normalised, digest = incoming[ext]
            if self._stored_payload_is(ext, ct, normalised):
                known[ext].digest = digest
                upgraded.append({"row_id": row_id, "new_mac": digest})
        if upgraded:
            table = batch.table(BridgeRecord)
            self.db.execute(
                update(table).where(table.c.id == bindparam("row_id")).values(data_mac=bindparam("new_mac")),
                upgraded,
            )

    def _stored_payload_is(self, external_id: str, payload_ct: bytes, normalised: bytes) -> bool:
        """Whether a kept record's encrypted payload is exactly ``normalised`` (False if it does not open)."""
        try:
            return hmac.compare_digest(self.payloads.decrypt(external_id, payload_ct), normalised)
        except DecryptionError:
            return False

    def _audit_updates(self, rows: list[dict[str, Any]]) -> None:
        """``bridge.record_updated`` for each update (a record planned and updated in one batch has its id now)."""
        missing = [r["external_id"] for r in rows if "row_id" not in r]
        ids: dict[str, int] = {}
        if missing:
            ids = dict(
                self.db.execute(
                    select(BridgeRecord.external_id, BridgeRecord.id).where(
                        BridgeRecord.source_id == self.source.id, BridgeRecord.external_id.in_(missing)
                    )
                ).all()
            )
        for r in rows:
            row_id = r.get("row_id", ids.get(r["external_id"]))
            audit(
                self.db,
                "bridge.record_updated",
                actor_kind=ActorKind.BRIDGE,
                case_id=r["case_id"],
                target=f"bridge_record:{row_id}",
            )

    def apply(self, rec: ParsedRecord, known: dict[str, BridgeRecord], job: BridgeImport | None) -> None:
        """Apply one valid record unless it is an unchanged duplicate."""
        normalised = batch.normalise(rec.data)
        digest = self.record_mac(normalised)
        existing = known.get(rec.external_id)
        if existing is not None and existing.data_mac == digest:
            self.summary.duplicates += 1
            return
        if (
            existing is not None
            and existing.data_mac is None
            and self._stored_payload_is(rec.external_id, existing.payload_ct, normalised)
        ):  # a row from before migration 0015, unchanged: store its MAC, no update (see _upgrade_legacy)
            existing.data_mac = digest
            self.summary.duplicates += 1
            return
        result = self.adapter.apply(self.ctx, rec, existing)
        self.summary.linked += result.linked
        payload = self.payloads.encrypt(rec.external_id, normalised)
        # A new record is dated by the run's clock, as the bulk path dates its rows: training
        # judges a period by the enrolments received in it.
        row = existing or BridgeRecord(source_id=self.source.id, external_id=rec.external_id, received_at=self.ctx.now)
        row.import_id = job.id if job is not None else None
        row.case_id = result.case_id
        row.scenario = result.scenario
        row.department_code = result.department_code
        row.system = result.system
        row.occurred_at = result.occurred_at
        row.occurred_on = result.occurred_at.date() if result.occurred_at is not None else None
        row.correlation_key = result.correlation_key
        row.data_mac = digest
        row.payload_ct = payload
        if existing is None:
            self.db.add(row)
            known[rec.external_id] = row
            self.summary.accepted += 1
        else:
            self.db.flush()
            audit(
                self.db,
                "bridge.record_updated",
                actor_kind=ActorKind.BRIDGE,
                case_id=result.case_id,
                target=f"bridge_record:{row.id}",
            )
            self.summary.updated += 1

    def finish(self) -> None:
        """What the adapter does once the whole import is applied (training: judge departments), if anything.

        Run in the last transaction of the run, so a resumed import does it
        once, after the records it resumed, as an uninterrupted run would.
        """
        finish = getattr(self.adapter, "finish", None)
        if callable(finish):
            finish(self.ctx)
            self.ctx.cache.pop("batch", None)

    def quarantine(self, line: _Line, error: RecordError, job: BridgeImport | None) -> None:
        """Keep a bad record, encrypted, with its error; the same raw bytes are kept once while unresolved.

        An oversized line keeps no bytes, so it is recognised by the keyed MAC
        of its full content's SHA-256 instead (its own purpose, so it never
        meets a kept line's MAC): two different oversized lines are two rows,
        the same line imported again is one.
        """
        if line.oversized is not None:
            mac = keyring.mac(self.bridge_key, f"quarantine-oversized:{self.source.id}", line.oversized)
        else:
            mac = keyring.mac(self.bridge_key, f"quarantine:{self.source.id}", line.raw)
        dup = self.db.scalar(
            select(QuarantinedRecord.id).where(
                QuarantinedRecord.source_id == self.source.id,
                QuarantinedRecord.raw_mac == mac,
                QuarantinedRecord.resolved_at.is_(None),
            )
        )
        if dup is not None:
            return
        self.db.add(
            QuarantinedRecord(
                source_id=self.source.id,
                import_id=job.id if job is not None else None,
                position=line.position,
                raw_ct=keyring.encrypt_raw(self.bridge_key, self.source.id, line.raw),
                raw_mac=mac,
                error=str(error)[:500],
            )
        )
        self.db.flush()
        self.summary.quarantined += 1


def _bridge_key(settings: Settings, bridge_key: bytes | None) -> bytes:
    return bridge_key if bridge_key is not None else load_secrets(settings.instance_path).bridge_key


def file_mac(bridge_key: bytes, source_id: int, path: Path) -> bytes:
    """Keyed fingerprint (HMAC-SHA256) of a file, streamed: recognises the same file dropped again (to resume it).

    Keyed, not a plain SHA-256: a small file of a predictable shape (one
    training record, say) could otherwise be confirmed by hashing guesses, as
    the review showed for record digests. Stored in ``bridge_imports.file_sha256``.
    """
    h = hmac.new(bridge_key, b"import-file\x00" + str(source_id).encode(), hashlib.sha256)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def import_file(
    db: Session,
    settings: Settings,
    source_name: str,
    path: str | os.PathLike[str],
    progress: Progress | None = None,
    *,
    fmt: str | None = None,
    bridge_key: bytes | None = None,
    batch_size: int = BATCH,
) -> ImportSummary:
    """Import a JSON Lines or CSV file, resuming a run of the same file that was cut short.

    ``fmt`` is "jsonl" or "csv"; by default the file's suffix decides (".csv"
    is CSV, anything else JSON Lines). Commits after every ``batch_size`` lines.
    """
    path = Path(path)
    key = _bridge_key(settings, bridge_key)
    source, adapter = find_source(db, source_name)
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    sha = file_mac(key, source.id, path)
    job = db.scalar(
        select(BridgeImport)
        .where(
            BridgeImport.source_id == source.id,
            BridgeImport.file_sha256 == sha,
            BridgeImport.status == ImportStatus.RUNNING.value,
        )
        .order_by(BridgeImport.id.desc())
    )
    if job is None:
        job = BridgeImport(source_id=source.id, label=path.name[:200], file_sha256=sha, position=0)
        db.add(job)
        db.commit()
    run = _Run(db, settings, source, adapter, key)
    header: list[str] | None = None
    header_raw = b""
    with sqlite_bulk_settings(db), path.open("rb") as fh:
        if fmt == "csv":
            header_raw = fh.readline(decode.MAX_LINE + 1)
            header = decode.csv_header(header_raw, adapter.fields)
            if job.position < len(header_raw):
                job.position = len(header_raw)
        if progress is not None and job.position:
            progress(job.position)
        fh.seek(job.position)
        batch: list[_Line] = []
        start = job.position
        last = job.position
        for end, raw in decode.read_lines(fh):
            line = _decode_line(raw, start, header, header_raw)
            start = end
            if line is not None:
                batch.append(line)
            if len(batch) >= batch_size:
                _commit_batch(db, run, job, batch, end)
                if progress is not None:
                    progress(end - last)
                last = end
                batch = []
        if batch or start != job.position:
            _commit_batch(db, run, job, batch, start)
            if progress is not None:
                progress(start - last)
    run.finish()
    job.status = ImportStatus.FINISHED.value
    job.finished_at = utcnow()
    audit(db, "bridge.import_finished", actor_kind=ActorKind.BRIDGE, target=f"bridge_import:{job.id}")
    db.commit()
    return run.summary


def _decode_line(
    raw: bytes | decode.Oversized, start: int, header: list[str] | None, header_raw: bytes
) -> _Line | None:
    if isinstance(raw, decode.Oversized):
        error = RecordError(decode.LINE, f"longer than {decode.MAX_LINE} bytes")
        return _Line(start, b"", error=error, oversized=raw.digest)
    if not raw.strip():
        return None  # blank lines (a trailing newline, say) are not records
    kept = header_raw + raw if header is not None else raw
    try:
        obj = decode.decode_csv(raw, header) if header is not None else decode.decode_json(raw)
    except RecordError as exc:
        return _Line(start, kept, error=exc)
    return _Line(start, kept, obj=obj)


def _commit_batch(db: Session, run: _Run, job: BridgeImport, batch: list[_Line], position: int) -> None:
    try:
        ok, bad = run.process(batch, job)
        job.position = position
        job.records_ok += ok
        job.records_bad += bad
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        run.ctx.cache.pop("batch", None)


def import_batch(
    db: Session,
    settings: Settings,
    source_name: str,
    body: bytes | Iterable[bytes],
    *,
    bridge_key: bytes | None = None,
    label: str = "http",
) -> ImportSummary:
    """Import one batch of JSON Lines records (the HTTP endpoint), in one transaction.

    ``body`` is the request body (or lines, which are joined): it is split by
    :func:`monitoring_bridge.decode.read_lines`, the file import's reader, so
    a feed and a file agree on where lines end (LF only, never a bare CR) and
    how long one may be.
    """
    key = _bridge_key(settings, bridge_key)
    source, adapter = find_source(db, source_name)
    job = BridgeImport(source_id=source.id, label=label[:200], position=0)
    db.add(job)
    db.flush()
    run = _Run(db, settings, source, adapter, key)
    data = body if isinstance(body, bytes) else b"".join(body)
    batch: list[_Line] = []
    position = 0
    for end, raw in decode.read_lines(io.BytesIO(data)):
        line = _decode_line(raw, position, None, b"")
        position = end
        if line is not None:
            batch.append(line)
    try:
        ok, bad = run.process(batch, job)
        run.finish()
        job.position = position
        job.records_ok, job.records_bad = ok, bad
        job.status = ImportStatus.FINISHED.value
        job.finished_at = utcnow()
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return run.summary


def retry_quarantined(db: Session, settings: Settings, qid: int, *, bridge_key: bytes | None = None) -> ImportSummary:
    """Run a quarantined record through the pipeline again (after its department was added, say).

    On success the quarantine row is resolved; on failure its error is updated.
    """
    key = _bridge_key(settings, bridge_key)
    q = db.get(QuarantinedRecord, qid)
    if q is None or q.resolved_at is not None:
        raise LookupError(qid)
    source = db.get(BridgeSource, q.source_id)
    assert source is not None
    adapter = registry.get(source.adapter)
    raw = keyring.decrypt_raw(key, source.id, q.raw_ct)
    run = _Run(db, settings, source, adapter, key)
    header_raw, _, rest = raw.partition(b"\n")
    try:
        if rest.strip():  # a CSV record is kept with its header line
            obj = decode.decode_csv(rest, decode.csv_header(header_raw + b"\n", adapter.fields))
        else:
            obj = decode.decode_json(raw)
        rec = adapter.parse(obj)
        batch.lock_batch(db)
        if run.planner is not None:
            run._process_planned(run.planner, [(_Line(0, raw, obj=obj), rec)], None, raise_errors=True)
        else:
            run.apply(rec, _known(db, source.id, rec.external_id), None)
    except RecordError as exc:
        db.rollback()
        q = db.get(QuarantinedRecord, qid)
        assert q is not None
        q.error = str(exc)[:500]
        db.commit()
        run.summary.quarantined = 1
        return run.summary
    run.finish()
    q.resolved_at = utcnow()
    audit(db, "bridge.quarantine_retried", actor_kind=ActorKind.BRIDGE, target=f"quarantined_record:{qid}")
    db.commit()
    return run.summary


def _known(db: Session, source_id: int, external_id: str) -> dict[str, BridgeRecord]:
    row = db.scalar(
        select(BridgeRecord).where(BridgeRecord.source_id == source_id, BridgeRecord.external_id == external_id)
    )
    return {external_id: row} if row is not None else {}


def discard_quarantined(db: Session, qid: int, now: dt.datetime | None = None) -> None:
    """Resolve a quarantined record without importing it; its raw bytes are erased (audited)."""
    q = db.get(QuarantinedRecord, qid)
    if q is None or q.resolved_at is not None:
        raise LookupError(qid)
    q.resolved_at = now or utcnow()
    q.raw_ct = b""
    audit(db, "bridge.quarantine_discarded", actor_kind=ActorKind.BRIDGE, target=f"quarantined_record:{qid}")
    db.commit()
