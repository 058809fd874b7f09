"""Bulk application of a batch of records: plan each in memory, then write the batch in a few statements.

Why: applying records one by one through the ORM (a flush, a correlation
query and a case lookup per record) made a million-alert import take over ten
minutes. An adapter that implements :class:`BatchAdapter` instead

1. ``prepare``\\ s the batch: everything it will look up (correlation
   candidates, the cases they belong to, whether the bridge still holds their
   keys) is fetched in a handful of queries;
2. ``plan``\\ s each record in order, in memory: new cases are
   :class:`PendingCase` objects, entries and links are collected in
   :class:`BatchWrites`; a later record of the same batch sees what earlier
   ones planned, exactly as if they had been written;
3. lets the importer call :func:`write` once, which inserts the batch's cases
   (to learn their ids), seals their keys (X25519, once per *case*, not per
   record), then encrypts and inserts entries, links and severity changes with
   ``executemany``.

Everything happens in the batch's transaction; the importer commits once per
batch, so an import killed mid-batch loses nothing (the batch is redone).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from sqlalchemy import LargeBinary, Table, bindparam, insert, select, tuple_, update
from sqlalchemy.orm import Session

from app.cases.deadlines import local_today
from app.cases.refs import random_ref
from app.models.bridge import BridgeCaseKey
from app.models.cases import Case, CaseEntry, CaseKeyGrant, CaseLink, Channel, GranteeKind
from app.reporting.service import entry_purpose
from app.staff.keyring import case_key_context
from crypto import FieldCipher, aead, seal
from monitoring_bridge import cases as bridge_cases
from monitoring_bridge import keyring
from monitoring_bridge.adapter import ApplyContext, ParsedRecord, SourceAdapter


@dataclass(eq=False)
class PendingCase:
    """A case this batch opens; ``id`` is set by :func:`write`, before any record points at it."""

    kind: str
    status: str
    team_kind: str
    department_id: int | None
    severity: int
    category: str | None
    next_due_on: dt.date | None
    key: bytes = field(repr=False)
    keep_key: bool = True
    id: int | None = None


CaseRef = int | PendingCase


def table(model: type[Any]) -> Table:
    """The Core table of a model: bulk statements on it skip the ORM's per-object bookkeeping."""
    found = model.__table__
    assert isinstance(found, Table)
    return found


# Drivers that store a plain ``bytes`` value as a BLOB/bytea as they are given
# it (SQLAlchemy's own comment on LargeBinary: "sqlite3 doesn't need the
# Binary conversion"; psycopg 3 adapts bytes to bytea). Skipping the wrapper
# saved five calls per alert on the bridge's bulk path.
_BYTES_AS_IS = frozenset({"pysqlite", "psycopg"})


_BYTES_LIKE = (bytes, bytearray, memoryview)


class _Compiled(NamedTuple):
    sql: str
    positional: bool
    procs: list[tuple[int, Any]]  # (column position, bind processor)
    binary: tuple[int, ...]  # positions of LargeBinary columns passed to the driver as they are
    multi: tuple[str, str] | None  # SQLite: ("INSERT INTO t (a, b) VALUES ", "(?, ?)") for multi-row VALUES


# Rows per multi-row INSERT on SQLite: 100 rows of the widest table (15 columns) stay far
# below SQLite's limit of 32,766 variables per statement.
_ROWS_PER_STATEMENT = 100


class FastInsert:
    """``INSERT`` of many rows through the DB-API cursor's ``executemany``, for the per-record tables.

    Why: SQLAlchemy's Core executemany spends about as long preparing each
    row's parameters as SQLite spends inserting it. The statement is still
    compiled by SQLAlchemy for the session's dialect, and each value still goes
    through the column type's own bind processor (UTC datetimes, dates), so
    what is stored is exactly what a Core insert stores; only the generic
    per-row bookkeeping is skipped. Column defaults are not applied: callers
    pass every column.
    """

    def __init__(self, model: type[Any], columns: Sequence[str]) -> None:
        self.table = table(model)
        self.columns = tuple(columns)
        # Compiled INSERTs list their columns in table order; callers build rows in that order too.
        in_table_order = tuple(col.key for col in self.table.c if col.key in self.columns)
        assert self.columns == in_table_order, f"list the columns in table order: {in_table_order}"
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _for(self, dialect: Any) -> _Compiled:
        found = self._compiled.get((dialect.name, dialect.driver))
        if found is None:
            compiled = insert(self.table).compile(dialect=dialect, column_keys=list(self.columns))
            if compiled.positional:
                assert compiled.positiontup is not None
                assert list(compiled.positiontup) == list(self.columns), "bind order differs from column order"
            procs = []
            binary = []
            for i, name in enumerate(self.columns):
                impl = self.table.c[name].type.dialect_impl(dialect)
                if isinstance(impl, LargeBinary) and dialect.driver in _BYTES_AS_IS:
                    # Its processor only wraps the value in DBAPI.Binary, which these drivers do not
                    # need; the wrapper also refused anything not bytes-like, so run() still does.
                    binary.append(i)
                    continue
                proc = impl.bind_processor(dialect)
                if proc is not None:
                    procs.append((i, proc))
            sql = str(compiled)
            multi = None
            if dialect.name == "sqlite" and compiled.positional:
                head, marker, values = sql.partition(" VALUES ")
                assert marker and values.startswith("(") and values.endswith(")"), sql
                multi = (head + marker, values)
            found = _Compiled(sql, bool(compiled.positional), procs, tuple(binary), multi)
            self._compiled[(dialect.name, dialect.driver)] = found
        return found

    def run(self, db: Session, rows: list[list[Any]], *, same: Collection[str] = ()) -> None:
        """Insert ``rows`` (each a list of values in ``columns`` order; modified in place).

        ``same`` names columns whose value is the same in every row (the
        batch's clock, say): it is converted once, not once per row.
        """
        if not rows:
            return
        conn = db.connection()
        sql, positional, procs, binary, multi = self._for(conn.dialect)
        for row in rows:
            for i in binary:
                value = row[i]
                if value is not None and value.__class__ is not bytes and not isinstance(value, _BYTES_LIKE):
                    raise TypeError(f"{self.columns[i]}: a bytes-like value is required, not {type(value).__name__}")
        if same:
            fixed = {self.columns.index(c) for c in same}
            first = rows[0]
            for i, proc in procs:
                if i in fixed and first[i] is not None:
                    value = proc(first[i])
                    for row in rows:
                        row[i] = value
            procs = [(i, proc) for i, proc in procs if i not in fixed]
        if procs:
            for row in rows:
                for i, proc in procs:
                    value = row[i]
                    if value is not None:
                        row[i] = proc(value)
        if multi is not None:
            # SQLite: one statement per hundred rows rather than executemany's one execution per
            # row; each execution rebuilds the lookup list of every ``col IN (...)`` CHECK of the
            # table (about 5 µs per constraint per row on case entries and grants).
            head, values = multi
            full = head + ",".join([values] * _ROWS_PER_STATEMENT)
            for start in range(0, len(rows), _ROWS_PER_STATEMENT):
                chunk = rows[start : start + _ROWS_PER_STATEMENT]
                statement = full if len(chunk) == _ROWS_PER_STATEMENT else head + ",".join([values] * len(chunk))
                conn.exec_driver_sql(statement, tuple([value for row in chunk for value in row]))
        elif positional:
            conn.exec_driver_sql(sql, [tuple(r) for r in rows])
        else:
            cols = self.columns
            conn.exec_driver_sql(sql, [dict(zip(cols, r, strict=True)) for r in rows])


def lock_batch(db: Session) -> None:
    """Start the batch's transaction so that no staff take-over can commit between its reads and writes.

    Why: a batch reads which cases the bridge still holds keys of in
    ``prepare`` and writes entries into them later; a take-over
    (:func:`app.cases.handover.take_over`) committed in between would let the
    bridge write into a case staff already own. On PostgreSQL the adapters
    read the kept keys ``FOR UPDATE`` (a take-over waits for the batch's
    commit, or the batch sees the key gone). SQLite has no row locks, and
    pysqlite only opens a transaction at the first write, so the batch's
    reads would see whatever staff committed meanwhile: ``BEGIN IMMEDIATE``
    takes the database's write lock before the first read, serialising the
    whole batch with staff writes (readers are not blocked, under WAL).
    A transaction that already wrote holds that lock already and is left as is.
    """
    conn = db.connection()
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.driver_connection
    if raw is not None and not raw.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# A long file import's SQLite settings, on its own connection (see sqlite_bulk_settings).
BULK_CACHE_KIB = 64 * 1024
BULK_WAL_PAGES = 20_000


@contextlib.contextmanager
def sqlite_bulk_settings(db: Session) -> Iterator[None]:
    """A larger page cache and rarer WAL checkpoints on the import's connection, restored afterwards.

    Why: every alert adds a row to indexes keyed by MACs (correlation key,
    official), which land on random pages, so each batch dirties pages all
    over them. With SQLite's defaults (a 2 MiB cache, a checkpoint once the
    WAL holds 1,000 pages) those pages were re-read and written back to the
    database at nearly every commit; measured on a million alerts, commits and
    inserts were half the import's time. A 64 MiB cache and a checkpoint
    every 20,000 pages write each hot page back once per many batches.

    Only this connection changes (the web app's keep their settings); the WAL
    may grow to about 80 MB during an import, and the cache counts towards the
    import's memory (``bridge.import_peak_mib``). Nothing about durability
    changes: every commit is in the WAL as before. Other databases: no-op.
    """
    conn = db.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    cache = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    checkpoint = int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())
    conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB:d}")
    conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={BULK_WAL_PAGES:d}")

    def restore() -> None:
        # On the connection in use now: after commits the session may hold another one from the
        # pool, which never had the bulk settings; the first one keeps a larger cache until closed.
        again = db.connection()
        again.exec_driver_sql(f"PRAGMA cache_size={cache:d}")
        again.exec_driver_sql(f"PRAGMA wal_autocheckpoint={checkpoint:d}")

    try:
        yield
    except BaseException:
        # An import that failed (a dead connection, say) reports its own error, not the restore's.
        with contextlib.suppress(Exception):
            restore()
        raise
    restore()


def case_id(ref: CaseRef | None) -> int | None:
    """The id of a case reference (a pending case must have been written)."""
    if ref is None or isinstance(ref, int):
        return ref
    assert ref.id is not None, "pending case not written yet"
    return ref.id


@dataclass
class Existing:
    """What the importer knows of a record already kept (in the database or earlier in this batch)."""

    digest: bytes
    case: CaseRef | None
    row_id: int | None = None  # None while the record is only planned in this batch
    row: dict[str, Any] | None = None  # the planned insert row, while row_id is None


@dataclass
class Planned:
    """What planning one record decided: its case (maybe pending), links made and its plain index."""

    case: CaseRef | None
    linked: int = 0
    scenario: str | None = None
    department_code: str | None = None
    system: str | None = None
    occurred_at: dt.datetime | None = None
    correlation_key: bytes | None = None
    official_index: bytes | None = None
    contract_index: bytes | None = None


@dataclass
class BatchWrites:
    """Everything a batch will write once its new cases have ids."""

    new_cases: list[PendingCase] = field(default_factory=list)
    entries: list[tuple[CaseRef, str, bytes]] = field(default_factory=list)  # (case, kind, plaintext body)
    severities: dict[int, int] = field(default_factory=dict)  # existing case id -> raised severity
    links: list[tuple[CaseRef, CaseRef, str]] = field(default_factory=list)
    link_keys: set[tuple[CaseRef, CaseRef, str]] = field(default_factory=set)  # planned, to plan each once

    def open_case(
        self,
        *,
        kind: str,
        status: str,
        team_kind: str,
        department_id: int | None,
        severity: int,
        category: str | None,
        next_due_on: dt.date | None,
    ) -> PendingCase:
        """A new case with a fresh key, written (and sealed) by :func:`write`."""
        case = PendingCase(
            kind=kind,
            status=status,
            team_kind=team_kind,
            department_id=department_id,
            severity=severity,
            category=category,
            next_due_on=next_due_on,
            key=aead.generate_key(),
        )
        self.new_cases.append(case)
        return case

    def add_entry(self, case: CaseRef, kind: str, body: bytes) -> None:
        """An entry for ``case``, encrypted under its key when written."""
        self.entries.append((case, kind, body))

    def raise_severity(self, case: int, severity: int) -> None:
        """Raise an existing case's severity to at least ``severity``."""
        if severity > self.severities.get(case, -1):
            self.severities[case] = severity

    def link(self, from_case: CaseRef, to_case: CaseRef, relation: str) -> bool:
        """Plan a link once (False if already planned); between two existing cases :func:`write` skips one
        the database already has, so callers that count links check that first (see the Cheongbaek adapter).
        """
        if from_case is to_case or (isinstance(from_case, int) and from_case == to_case):
            return False
        key = (from_case, to_case, relation)
        if key in self.link_keys:
            return False
        self.link_keys.add(key)
        self.links.append((from_case, to_case, relation))
        return True


class BatchAdapter(SourceAdapter, Protocol):
    """An adapter that plans a whole batch in memory (see the module docstring)."""

    def prepare(self, ctx: ApplyContext, records: Sequence[tuple[ParsedRecord, Existing | None]]) -> None:
        """Fetch, in a few queries, what planning this batch will look up."""
        ...

    def plan(self, ctx: ApplyContext, record: ParsedRecord, existing: Existing | None, normalised: bytes) -> Planned:
        """Decide one record's effect in memory; RecordError only before anything is planned for it."""
        ...


# What json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")) builds at every
# call, built once: the same bytes, without a new encoder per record.
_NORMALISED = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def normalise(data: dict[str, Any]) -> bytes:
    """A record's data as stored and hashed: sorted keys, compact, UTF-8 (its SHA-256 decides duplicates)."""
    return _NORMALISED(data).encode()


def as_batch_adapter(adapter: SourceAdapter) -> BatchAdapter | None:
    """``adapter`` if it plans whole batches (has ``prepare`` and ``plan``), else None."""
    if callable(getattr(adapter, "plan", None)) and callable(getattr(adapter, "prepare", None)):
        return adapter  # type: ignore[return-value]
    return None


_ENTRIES = FastInsert(
    CaseEntry, ("case_id", "kind", "author_user_id", "body_ct", "created_on", "created_at", "visible_to_reporter")
)


_GRANTS = FastInsert(
    CaseKeyGrant,
    ("case_id", "grantee_kind", "team_id", "user_id", "recovery_key_id", "key_version", "sealed_key_ct"),
)
_KEPT_KEYS = FastInsert(BridgeCaseKey, ("case_id", "key_ct"))
# Every column write() gives a new case, in table order (the others have no default to apply).
_CASE_COLUMNS = {
    "public_ref",
    "kind",
    "source",
    "status",
    "category",
    "department_id",
    "severity",
    "received_on",
    "next_due_on",
    "channel",
    "created_at",
    "waiting_on_reporter",
    "version",
}
_CASES = FastInsert(Case, tuple(c.key for c in table(Case).c if c.key in _CASE_COLUMNS))


def writes(ctx: ApplyContext) -> BatchWrites:
    """The current batch's writes (dropped with the batch memo at each commit)."""
    memo: dict[str, Any] = ctx.cache.setdefault("batch", {})
    found = memo.get("writes")
    if found is None:
        found = memo["writes"] = BatchWrites()
    assert isinstance(found, BatchWrites)
    return found


def _public_refs(ctx: ApplyContext, year: int, count: int) -> list[str]:
    # Random, not sequential, like reports: a sequence would tell how many came before.
    refs: list[str] = []
    taken: set[str] = set()
    while len(refs) < count:
        fresh: set[str] = set()
        while len(fresh) < count - len(refs):
            ref = random_ref(year)
            if ref not in taken:
                fresh.add(ref)
        used = set(ctx.db.scalars(select(Case.public_ref).where(Case.public_ref.in_(fresh))))
        for ref in fresh - used:
            refs.append(ref)
            taken.add(ref)
    return refs


def write(ctx: ApplyContext) -> None:
    """Write the batch's planned cases, grants, kept keys, entries, severities and links."""
    w = writes(ctx)
    db = ctx.db
    today = local_today(ctx.now)
    if w.new_cases:
        refs = _public_refs(ctx, today.year, len(w.new_cases))
        rows = [
            {
                "public_ref": ref,
                "kind": c.kind,
                "source": ctx.source.name,
                "status": c.status,
                "category": c.category,
                "department_id": c.department_id,
                "severity": c.severity,
                "received_on": today,
                "next_due_on": c.next_due_on,
                "channel": Channel.BRIDGE.value,
                "created_at": ctx.now,
                "waiting_on_reporter": False,
                "version": 1,  # the ORM's optimistic-lock counter starts at 1
            }
            for ref, c in zip(refs, w.new_cases, strict=True)
        ]
        # Through FastInsert, then their ids by reference (unique): INSERT ... RETURNING through
        # SQLAlchemy spent four times as long on each row's parameters as the database did.
        assert rows[0].keys() == _CASE_COLUMNS, "a new case column must be listed in _CASE_COLUMNS"
        _CASES.run(db, [[row[c] for c in _CASES.columns] for row in rows])
        cases = table(Case)
        by_ref = dict(db.execute(select(cases.c.public_ref, cases.c.id).where(cases.c.public_ref.in_(refs))).all())
        ids = [by_ref[ref] for ref in refs]
        grants: list[list[Any]] = []
        kept: list[list[Any]] = []
        for c, new_id in zip(w.new_cases, ids, strict=True):
            c.id = new_id
            team = ctx.team_public(c.team_kind)
            context = case_key_context(new_id)
            grants.append(
                [
                    new_id,
                    GranteeKind.TEAM.value,
                    team.id,
                    None,
                    None,
                    team.key_version,
                    seal(team.public_key, c.key, context),
                ]
            )
            grants.append(
                [
                    new_id,
                    GranteeKind.RECOVERY.value,
                    None,
                    None,
                    ctx.recovery.id,
                    1,
                    seal(ctx.recovery.public_key, c.key, context),
                ]
            )
            if c.keep_key:
                kept.append([new_id, keyring.wrap_case_key(ctx.bridge_key, new_id, c.key)])
        _GRANTS.run(db, grants)
        _KEPT_KEYS.run(db, kept)
        if ctx.settings.mail_enabled:  # checked here too: with mail off the batch builds no list
            bridge_cases.notify_new_cases(ctx, [(c.id, c.team_kind) for c in w.new_cases if c.id is not None])
    if w.entries:
        ciphers: dict[int, FieldCipher] = {}
        keys: dict[int, bytes | None] = ctx.cache.setdefault("batch", {}).setdefault("keys", {})
        for c in w.new_cases:
            assert c.id is not None
            keys[c.id] = c.key
        entry_rows: list[list[Any]] = []
        for ref, kind, body in w.entries:
            cid = case_id(ref)
            assert cid is not None
            cipher = ciphers.get(cid)
            if cipher is None:
                key = ref.key if isinstance(ref, PendingCase) else keys.get(cid)
                assert key is not None, "an entry planned for a case the bridge holds no key of"
                cipher = ciphers[cid] = FieldCipher(key, str(cid))
            entry_rows.append([cid, kind, None, cipher.encrypt(entry_purpose(kind), body), today, ctx.now, False])
        _ENTRIES.run(db, entry_rows, same=("created_on", "created_at"))
    if w.severities:
        # The version bump keeps staff's optimistic lock honest: a form opened before this import is stale.
        cases = table(Case)
        db.execute(
            update(cases)
            .where(cases.c.id == bindparam("cid"), cases.c.severity < bindparam("sev"))
            .values(severity=bindparam("sev"), version=cases.c.version + 1),
            [{"cid": cid, "sev": sev} for cid, sev in w.severities.items()],
        )
    if w.links:
        _write_links(ctx, w.links)
    memo: dict[str, Any] = ctx.cache.setdefault("batch", {})
    memo.pop("writes", None)


def _write_links(ctx: ApplyContext, links: Iterable[tuple[CaseRef, CaseRef, str]]) -> None:
    resolved = []
    for a, b, relation in links:
        fa, tb = case_id(a), case_id(b)
        assert fa is not None and tb is not None
        resolved.append((fa, tb, relation, isinstance(a, int) and isinstance(b, int)))
    between_existing = [(a, b, r) for a, b, r, old in resolved if old]
    present: set[tuple[int, int, str]] = set()
    if between_existing:
        present = {
            (a, b, r)
            for a, b, r in ctx.db.execute(
                select(CaseLink.from_case_id, CaseLink.to_case_id, CaseLink.relation).where(
                    tuple_(CaseLink.from_case_id, CaseLink.to_case_id, CaseLink.relation).in_(between_existing)
                )
            )
        }
    rows = [
        {"from_case_id": a, "to_case_id": b, "relation": r, "created_by": None}
        for a, b, r, _ in resolved
        if (a, b, r) not in present
    ]
    if rows:
        ctx.db.execute(insert(table(CaseLink)), rows)
