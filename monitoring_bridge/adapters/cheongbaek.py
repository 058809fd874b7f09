"""Cheongbaek-e alerts (integrated real-time monitoring) as ``alert`` cases for the intake team.

Schema, one record per alert (JSON Lines keys or CSV columns, in this order):
alert_id, scenario_id, scenario_name, system, department, official, amount,
record_ref, raised_at, severity, and optionally contract (the contract number
the flagged record belongs to). ``official``, ``record_ref`` and ``contract``
name people and documents: they are kept only inside the case's encrypted
entries and the encrypted payload; correlation uses an HMAC of scenario,
department and record_ref, and matching uses blind indexes
(:mod:`monitoring_bridge.subjects`), never the plaintext. The official's index
is kept on the record (``official_index``) for the training flag.

Correlation: an alert joins the case of the nearest alert with the same
scenario, department and record_ref raised at most ``bridge_correlation_hours``
before it (the window edge itself included) or, when there is none, at most
that long after it (feeds arrive out of order), as long as that case is still
``raised`` (the bridge still holds its key); otherwise it opens a new case,
linked ``related`` to that one.

The adapter plans a whole batch in memory (:mod:`monitoring_bridge.batch`):
``prepare`` fetches the correlation candidates and their cases in two or three
queries, ``plan`` decides each alert in order, and the importer writes the
batch at once. A new case links ``alert_for`` to the open reports of its
department; any alert links its case ``alert_for`` to the open reports whose
staff named its official or its contract (case subjects).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from app.cases.deadlines import local_today
from app.models.bridge import BridgeCaseKey, BridgeRecord
from app.models.cases import Case, CaseKind, CaseLink, CaseStatus, Department, EntryKind, LinkRelation
from app.models.staff import TeamKind
from app.models.subjects import SubjectKind
from monitoring_bridge import batch, keyring, subjects
from monitoring_bridge import validate as v
from monitoring_bridge.adapter import ApplyContext, ApplyResult, ParsedRecord
from monitoring_bridge.batch import CaseRef, Existing, PendingCase, Planned
from monitoring_bridge.errors import RecordError

SYSTEMS = frozenset({"e_hojo", "local_tax", "non_tax", "saeol", "personnel"})
OPEN_REPORT_STATES = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
_RAISED = CaseStatus.RAISED.value
_REPORT_ENTRY = EntryKind.REPORT.value
_RELATED = LinkRelation.RELATED.value
_ALERT_FOR = LinkRelation.ALERT_FOR.value
_MEMO_LIMIT = 50_000


class CheongbaekAdapter:
    """Validates Cheongbaek-e alerts and correlates them into alert cases."""

    name = "cheongbaek"
    kind = "cheongbaek"
    fields: tuple[str, ...] = (
        "alert_id",
        "scenario_id",
        "scenario_name",
        "system",
        "department",
        "official",
        "amount",
        "record_ref",
        "raised_at",
        "severity",
        "contract",
    )

    def parse(self, obj: dict[str, Any]) -> ParsedRecord:
        """Validate one alert; values are normalised (UTC instant, whole won, trimmed text)."""
        alert_id = v.text(obj, "alert_id", max_len=200)
        assert alert_id is not None
        data = {
            "scenario_id": v.text(obj, "scenario_id", max_len=40),
            "scenario_name": v.text(obj, "scenario_name", max_len=200),
            "system": v.choice(obj, "system", SYSTEMS),
            "department": v.text(obj, "department", max_len=40),
            "official": v.text(obj, "official", max_len=200),
            "amount": v.integer(obj, "amount", lo=0, required=False),
            "record_ref": v.text(obj, "record_ref", max_len=200),
            "raised_at": v.instant(obj, "raised_at").isoformat(),
            "severity": v.integer(obj, "severity", lo=1, hi=5),
        }
        contract = v.text(obj, "contract", max_len=100, required=False)
        if contract is not None:  # only when given: records without one keep the digest they always had
            if not subjects.normalise(SubjectKind.CONTRACT, contract):
                raise RecordError("contract", "no letters or digits")
            data["contract"] = contract
        return ParsedRecord(external_id=alert_id, data=data)

    # -- one record at a time (quarantine retry, direct callers): the batch path with a batch of one

    def apply(self, ctx: ApplyContext, record: ParsedRecord, existing: BridgeRecord | None) -> ApplyResult:
        """Open, join or update an alert case, written at once (the importer batches instead)."""
        ex = None
        if existing is not None:
            ex = Existing(digest=existing.data_mac or b"", case=existing.case_id, row_id=existing.id)
        self.prepare(ctx, [(record, ex)])
        planned = self.plan(ctx, record, ex, batch.normalise(record.data))
        batch.write(ctx)
        return ApplyResult(
            case_id=batch.case_id(planned.case),
            created=isinstance(planned.case, PendingCase),
            linked=planned.linked,
            scenario=planned.scenario,
            department_code=planned.department_code,
            system=planned.system,
            occurred_at=planned.occurred_at,
            correlation_key=planned.correlation_key,
        )

    # -- the batch path

    def prepare(self, ctx: ApplyContext, records: Sequence[tuple[ParsedRecord, Existing | None]]) -> None:
        """Fetch the batch's correlation candidates and the state of the cases they (and updates) point at."""
        memo = _memo(ctx)
        window = dt.timedelta(hours=ctx.settings.bridge_correlation_hours)
        corrs: set[bytes] = set()
        lo: dt.datetime | None = None
        hi: dt.datetime | None = None
        case_ids: set[int] = set()
        for rec, ex in records:
            data = rec.data
            corrs.add(_correlation_key(ctx, data))
            at = dt.datetime.fromisoformat(data["raised_at"])
            lo = at if lo is None or at < lo else lo
            hi = at if hi is None or at > hi else hi
            if ex is not None and isinstance(ex.case, int):
                case_ids.add(ex.case)
        prior: dict[bytes, list[tuple[dt.datetime, int]]] = {}
        memo["prior"] = prior
        if corrs and lo is not None and hi is not None:
            # The source is checked here, not in SQL: given "source_id = ?", SQLite walks the
            # (source_id, external_id) index over every record of the source instead of the
            # correlation-key index, which made each batch slower than the one before.
            rows = ctx.db.execute(
                select(
                    BridgeRecord.source_id, BridgeRecord.correlation_key, BridgeRecord.occurred_at, BridgeRecord.case_id
                )
                .where(
                    BridgeRecord.correlation_key.in_(corrs),
                    BridgeRecord.occurred_at >= lo - window,
                    BridgeRecord.occurred_at <= hi + window,  # alerts may arrive out of order
                    BridgeRecord.case_id.is_not(None),
                )
                .order_by(BridgeRecord.occurred_at, BridgeRecord.id)
            )
            source_id = ctx.source.id
            for source, corr, when, cid in rows:
                if source == source_id and corr is not None and when is not None and cid is not None:
                    prior.setdefault(corr, []).append((when, cid))
                    case_ids.add(cid)
        state: dict[int, tuple[str, int]] = memo.setdefault("cases", {})
        wrapped: dict[int, bytes] = memo.setdefault("wrapped", {})
        missing = [cid for cid in case_ids if cid not in state]
        if missing:
            for cid, status, severity in ctx.db.execute(
                select(Case.id, Case.status, Case.severity).where(Case.id.in_(missing))
            ):
                state[cid] = (status, severity)
            # FOR UPDATE: a staff take-over of these cases waits for this batch's commit (PostgreSQL;
            # SQLite is serialised by batch.lock_batch), so no entry lands in a case already taken over.
            for cid, key_ct in ctx.db.execute(
                select(BridgeCaseKey.case_id, BridgeCaseKey.key_ct)
                .where(BridgeCaseKey.case_id.in_(missing))
                .with_for_update()
            ):
                wrapped[cid] = key_ct

    def plan(self, ctx: ApplyContext, record: ParsedRecord, existing: Existing | None, normalised: bytes) -> Planned:
        """Join, open or feed the alert's case in memory; raises only before planning anything."""
        data = record.data
        department_id = _department_id(ctx, data["department"])  # raises before any change
        raised_at = dt.datetime.fromisoformat(data["raised_at"])
        corr = _correlation_key(ctx, data)
        severity: int = data["severity"]
        # The entry is the record's normalised JSON with its alert id: "alert_id" sorts before every
        # other key, so this is json.dumps(sort_keys=True) of both without serialising twice.
        body = b'{"alert_id":' + json.dumps(record.external_id, ensure_ascii=False).encode() + b"," + normalised[1:]
        w = batch.writes(ctx)
        official = _official_index(ctx, data["official"])
        contract = data.get("contract")
        contract_index = subjects.contract_index(ctx.bridge_key, contract) if contract is not None else None
        named = _reports_naming(ctx, official, contract_index)
        done = Planned(
            case=None,
            scenario=data["scenario_id"],
            department_code=data["department"],
            system=data["system"],
            occurred_at=raised_at,
            correlation_key=corr,
            official_index=official,
            contract_index=contract_index,
        )

        if existing is not None and existing.case is not None:
            case: CaseRef = existing.case
            if _fed(ctx, case):
                w.add_entry(case, _REPORT_ENTRY, body)
                _raise_severity(ctx, case, severity)
                done.case, done.linked = case, _link_reports(ctx, case, named)
                return done
            new, linked = self._new_case(ctx, data, department_id, body, named)
            done.case, done.linked = new, linked + w.link(new, case, _RELATED)
            return done

        prior = _prior_case(ctx, corr, raised_at)
        if prior is not None and _fed(ctx, prior) and _status(ctx, prior) == _RAISED:
            w.add_entry(prior, _REPORT_ENTRY, body)
            _raise_severity(ctx, prior, severity)
            _remember(ctx, corr, raised_at, prior)
            done.case, done.linked = prior, _link_reports(ctx, prior, named)
            return done
        new, linked = self._new_case(ctx, data, department_id, body, named)
        if prior is not None:
            linked += w.link(new, prior, _RELATED)
        _remember(ctx, corr, raised_at, new)
        done.case, done.linked = new, linked
        return done

    def _new_case(
        self, ctx: ApplyContext, data: dict[str, Any], department_id: int, body: bytes, named: Sequence[int]
    ) -> tuple[PendingCase, int]:
        w = batch.writes(ctx)
        due = local_today(ctx.now) + dt.timedelta(days=ctx.settings.bridge_explanation_days)
        case = w.open_case(
            kind=CaseKind.ALERT.value,
            status=_RAISED,
            team_kind=TeamKind.INTAKE.value,
            department_id=department_id,
            severity=data["severity"],
            category=data["scenario_id"],
            next_due_on=due,
        )
        w.add_entry(case, _REPORT_ENTRY, body)
        linked = 0
        for report_id in (*_open_reports(ctx, department_id), *named):
            linked += w.link(case, report_id, _ALERT_FOR)
        return case, linked


def _memo(ctx: ApplyContext) -> dict[str, Any]:
    memo: dict[str, Any] = ctx.cache.setdefault("batch", {})
    return memo


def _correlation_key(ctx: ApplyContext, data: dict[str, Any]) -> bytes:
    """HMAC of (scenario, department, record_ref); memoised for the batch (alerts of one subject come together)."""
    macs: dict[tuple[str, str, str], bytes] = _memo(ctx).setdefault("macs", {})
    parts = (data["scenario_id"], data["department"], data["record_ref"])
    found = macs.get(parts)
    if found is None:
        found = macs[parts] = keyring.mac(ctx.bridge_key, "cheongbaek.correlation", *parts)
    return found


def _prior_case(ctx: ApplyContext, corr: bytes, raised_at: dt.datetime) -> CaseRef | None:
    """The case of the correlated alert nearest ``raised_at`` within the window on either side.

    The latest one raised at or before ``raised_at`` comes first; failing
    that, the earliest one raised after it. Why both sides: the linked systems
    do not deliver in order, and an alert raised an hour before one already
    imported belongs to the same case, as it would had it come first.
    Committed alerts come from what ``prepare`` fetched (in (time, id) order),
    this batch's from the batch memo; on equal times the later one wins, as an
    ``ORDER BY occurred_at DESC, id DESC`` over both would say.
    """
    memo = _memo(ctx)
    window = dt.timedelta(hours=ctx.settings.bridge_correlation_hours)
    earliest, latest = raised_at - window, raised_at + window
    before_at: dt.datetime | None = None
    before: CaseRef | None = None
    after_at: dt.datetime | None = None
    after: CaseRef | None = None
    candidates: list[tuple[dt.datetime, CaseRef]] = [*memo["prior"].get(corr, ()), *memo.get("corr", {}).get(corr, ())]
    for at, ref in candidates:
        if earliest <= at <= raised_at:
            if before_at is None or at >= before_at:
                before_at, before = at, ref
        elif raised_at < at <= latest and (after_at is None or at < after_at):
            after_at, after = at, ref
    return before if before is not None else after


def _remember(ctx: ApplyContext, corr: bytes, raised_at: dt.datetime, case: CaseRef) -> None:
    _memo(ctx).setdefault("corr", {}).setdefault(corr, []).append((raised_at, case))


def _fed(ctx: ApplyContext, case: CaseRef) -> bool:
    """Whether the bridge may still add to ``case`` (it holds the key), unwrapping the key for the batch."""
    if isinstance(case, PendingCase):
        return True
    memo = _memo(ctx)
    keys: dict[int, bytes | None] = memo.setdefault("keys", {})
    if case not in keys:
        blob = memo.get("wrapped", {}).get(case)
        if blob is None:
            with ctx.db.no_autoflush:
                row = ctx.db.get(BridgeCaseKey, case, with_for_update=True)
            blob = None if row is None else row.key_ct
        keys[case] = None if blob is None else keyring.unwrap_case_key(ctx.bridge_key, case, blob)
    return keys[case] is not None


def _status(ctx: ApplyContext, case: CaseRef) -> str:
    if isinstance(case, PendingCase):
        return case.status
    state: dict[int, tuple[str, int]] = _memo(ctx).setdefault("cases", {})
    if case not in state:
        row = ctx.db.execute(select(Case.status, Case.severity).where(Case.id == case)).first()
        state[case] = ("", 0) if row is None else (row[0], row[1])
    return state[case][0]


def _raise_severity(ctx: ApplyContext, case: CaseRef, severity: int) -> None:
    if isinstance(case, PendingCase):
        case.severity = max(case.severity, severity)
        return
    _status(ctx, case)  # loads the case's state if prepare did not
    state: dict[int, tuple[str, int]] = _memo(ctx)["cases"]
    status, current = state[case]
    if severity > current:
        state[case] = (status, severity)
        batch.writes(ctx).raise_severity(case, severity)


def _official_index(ctx: ApplyContext, name: str) -> bytes:
    """The official's blind index, memoised by name for the run (a feed names the same people over and over)."""
    memo: dict[str, bytes] = ctx.cache.setdefault("official_index", {})
    found = memo.get(name)
    if found is None:
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()  # bounded: memory stays flat whatever the feed
        found = memo[name] = subjects.official_index(ctx.bridge_key, name)
    return found


def _reports_naming(ctx: ApplyContext, official: bytes, contract: bytes | None) -> list[int]:
    """Open reports whose staff named this official or this contract (loaded once per run)."""
    by_subject: dict[tuple[str, bytes], list[int]] | None = ctx.cache.get("report_subjects")
    if by_subject is None:
        by_subject = ctx.cache["report_subjects"] = subjects.open_report_subjects(ctx.db)
    if not by_subject:
        return []
    found = list(by_subject.get((SubjectKind.OFFICIAL.value, official), ()))
    if contract is not None:
        found += [r for r in by_subject.get((SubjectKind.CONTRACT.value, contract), ()) if r not in found]
    return found


def _link_reports(ctx: ApplyContext, case: CaseRef, reports: Sequence[int]) -> int:
    """Link a case the alert joined to the reports naming its official or contract; returns links made."""
    if not reports:
        return 0
    w = batch.writes(ctx)
    made = 0
    for report_id in reports:
        if isinstance(case, int):
            present: dict[int, set[int]] = _memo(ctx).setdefault("alert_for", {})
            if case not in present:
                present[case] = set(
                    ctx.db.scalars(
                        select(CaseLink.to_case_id).where(
                            CaseLink.from_case_id == case, CaseLink.relation == _ALERT_FOR
                        )
                    )
                )
            if report_id in present[case]:
                continue
        made += w.link(case, report_id, _ALERT_FOR)
    return made


def _department_id(ctx: ApplyContext, code: str) -> int:
    depts: dict[str, int] | None = ctx.cache.get("departments")
    if depts is None:
        depts = {d.code: d.id for d in ctx.db.scalars(select(Department).where(Department.active.is_(True)))}
        ctx.cache["departments"] = depts
    if code not in depts:
        raise RecordError("department", "unknown department code")
    return depts[code]


def _open_reports(ctx: ApplyContext, department_id: int) -> list[int]:
    # Open reports change rarely during one import; looked up once per department and run.
    memo: dict[int, list[int]] = ctx.cache.setdefault("open_reports", {})
    if department_id not in memo:
        memo[department_id] = list(
            ctx.db.scalars(
                select(Case.id)
                .where(
                    Case.kind == CaseKind.REPORT.value,
                    Case.department_id == department_id,
                    Case.status.not_in(OPEN_REPORT_STATES),
                )
                .order_by(Case.id)
            )
        )
    return memo[department_id]
