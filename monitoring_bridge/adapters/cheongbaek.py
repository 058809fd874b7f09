"""Cheongbaek-e alerts (integrated real-time monitoring) as ``alert`` cases for the intake team.

Schema, one record per alert (JSON Lines keys or CSV columns, in this order):
alert_id, scenario_id, scenario_name, system, department, official, amount,
record_ref, raised_at, severity. ``official`` and ``record_ref`` name people
and documents: they are kept only inside the case's encrypted entries and the
encrypted payload; correlation uses an HMAC of scenario, department and
record_ref, never the plaintext.

Correlation: an alert joins the case of the nearest earlier-or-equal alert
with the same scenario, department and record_ref raised at most
``bridge_correlation_hours`` before it (the window edge itself included), as
long as that case is still ``raised`` (the bridge still holds its key);
otherwise it opens a new case, linked ``related`` to that one.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from app.cases.deadlines import local_today
from app.models.bridge import BridgeRecord
from app.models.cases import Case, CaseKind, CaseStatus, Department, EntryKind, LinkRelation
from app.models.staff import TeamKind
from monitoring_bridge import cases, keyring
from monitoring_bridge import validate as v
from monitoring_bridge.adapter import ApplyContext, ApplyResult, ParsedRecord
from monitoring_bridge.errors import RecordError

SYSTEMS = frozenset({"e_hojo", "local_tax", "non_tax", "saeol", "personnel"})
OPEN_REPORT_STATES = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)


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
        return ParsedRecord(external_id=alert_id, data=data)

    def apply(self, ctx: ApplyContext, record: ParsedRecord, existing: BridgeRecord | None) -> ApplyResult:
        """Open, join or update an alert case; link a new case to open reports of its department."""
        data = record.data
        department_id = _department_id(ctx, data["department"])  # raises before any change
        raised_at = dt.datetime.fromisoformat(data["raised_at"])
        corr = keyring.mac(
            ctx.bridge_key, "cheongbaek.correlation", data["scenario_id"], data["department"], data["record_ref"]
        )
        index = {
            "scenario": data["scenario_id"],
            "department_code": data["department"],
            "occurred_at": raised_at,
            "correlation_key": corr,
        }
        body = json.dumps({"alert_id": record.external_id, **data}, ensure_ascii=False, sort_keys=True).encode()

        if existing is not None and existing.case_id is not None:
            case = ctx.db.get(Case, existing.case_id)
            if case is not None:
                key = cases.fed_case_key(ctx, case)
                if key is not None:
                    cases.add_entry(ctx, case, key, EntryKind.REPORT.value, body)
                    case.severity = max(case.severity, data["severity"])
                    return ApplyResult(case_id=case.id, created=False, **index)
                new, linked = self._new_case(ctx, data, department_id, body, raised_at)
                linked += cases.link(ctx, new.id, case.id, LinkRelation.RELATED.value)
                return ApplyResult(case_id=new.id, created=True, linked=linked, **index)

        prior = _prior_case(ctx, corr, raised_at)
        if prior is not None:
            case = ctx.db.get(Case, prior)
            key = cases.fed_case_key(ctx, case) if case is not None else None
            if case is not None and key is not None and case.status == CaseStatus.RAISED.value:
                cases.add_entry(ctx, case, key, EntryKind.REPORT.value, body)
                case.severity = max(case.severity, data["severity"])
                _remember(ctx, corr, raised_at, case.id)
                return ApplyResult(case_id=case.id, created=False, **index)
        new, linked = self._new_case(ctx, data, department_id, body, raised_at)
        if prior is not None:
            linked += cases.link(ctx, new.id, prior, LinkRelation.RELATED.value)
        _remember(ctx, corr, raised_at, new.id)
        return ApplyResult(case_id=new.id, created=True, linked=linked, **index)

    def _new_case(
        self, ctx: ApplyContext, data: dict[str, Any], department_id: int, body: bytes, raised_at: dt.datetime
    ) -> tuple[Case, int]:
        due = local_today(ctx.now) + dt.timedelta(days=ctx.settings.bridge_explanation_days)
        case, key = cases.open_case(
            ctx,
            kind=CaseKind.ALERT.value,
            status=CaseStatus.RAISED.value,
            team_kind=TeamKind.INTAKE.value,
            department_id=department_id,
            severity=data["severity"],
            category=data["scenario_id"],
            next_due_on=due,
        )
        cases.add_entry(ctx, case, key, EntryKind.REPORT.value, body)
        linked = 0
        for report_id in _open_reports(ctx, department_id):
            linked += cases.link(ctx, case.id, report_id, LinkRelation.ALERT_FOR.value)
        return case, linked


def _prior_case(ctx: ApplyContext, corr: bytes, raised_at: dt.datetime) -> int | None:
    """The case of the latest correlated alert raised within the window up to ``raised_at``.

    Committed alerts come from the database (without autoflush); this batch's
    from the batch memo, so both together are what an autoflushed query sees.
    """
    window = dt.timedelta(hours=ctx.settings.bridge_correlation_hours)
    best: tuple[dt.datetime, int] | None = None
    with ctx.db.no_autoflush:
        row = ctx.db.execute(
            select(BridgeRecord.occurred_at, BridgeRecord.case_id)
            .where(
                BridgeRecord.source_id == ctx.source.id,
                BridgeRecord.correlation_key == corr,
                BridgeRecord.occurred_at >= raised_at - window,
                BridgeRecord.occurred_at <= raised_at,
                BridgeRecord.case_id.is_not(None),
            )
            .order_by(BridgeRecord.occurred_at.desc(), BridgeRecord.id.desc())
            .limit(1)
        ).first()
    if row is not None and row[0] is not None and row[1] is not None:
        best = (row[0], row[1])
    for at, case_id in cases.batch_memo(ctx).get("corr", {}).get(corr, ()):
        if raised_at - window <= at <= raised_at and (best is None or at >= best[0]):
            best = (at, case_id)
    return None if best is None else best[1]


def _remember(ctx: ApplyContext, corr: bytes, raised_at: dt.datetime, case_id: int) -> None:
    cases.batch_memo(ctx).setdefault("corr", {}).setdefault(corr, []).append((raised_at, case_id))


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
