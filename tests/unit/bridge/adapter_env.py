"""A ready world for adapter tests: recovery key, intake team (whose private key the test keeps), departments, sources.

Adapters are called directly with an :class:`ApplyContext`, as the importer
would; tests that need the importer's bookkeeping write the BridgeRecord the
way it does (:meth:`AdapterEnv.store`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases import keys as case_keys
from app.db import get_session
from app.models.bridge import BridgeRecord, BridgeSource
from app.models.cases import Case, Department
from app.models.staff import RecoveryKey, Team, TeamKind
from app.reporting.service import case_cipher, entry_purpose
from app.runtime import get_settings
from app.staff import teams
from crypto import generate_keypair, open_sealed
from crypto.keys import KeyPair
from monitoring_bridge import keyring
from monitoring_bridge.adapter import ApplyContext, ApplyResult, ParsedRecord, SourceAdapter

NOW = dt.datetime(2026, 5, 4, 3, 0, tzinfo=dt.UTC)  # 12:00 in Seoul
DEPARTMENTS = {"FIN-01": ("재무과", "Finance"), "CON-02": ("건축과", "Construction"), "WEL-03": ("복지과", "Welfare")}


@dataclass
class AdapterEnv:
    db: Session
    intake: Team
    intake_private: bytes
    recovery: KeyPair
    departments: dict[str, Department]
    bridge_key: bytes = field(default_factory=lambda: os.urandom(32))
    sources: dict[str, BridgeSource] = field(default_factory=dict)

    def source(self, name: str) -> BridgeSource:
        if name not in self.sources:
            src = BridgeSource(name=name, kind=name, adapter=name, active=True)
            self.db.add(src)
            self.db.flush()
            self.sources[name] = src
        return self.sources[name]

    def ctx(self, adapter: SourceAdapter, now: dt.datetime = NOW) -> ApplyContext:
        def team_public(kind: str) -> Team:
            assert kind == TeamKind.INTAKE.value
            return self.intake

        recovery = self.db.scalar(select(RecoveryKey).where(RecoveryKey.active.is_(True)))
        assert recovery is not None
        return ApplyContext(
            db=self.db,
            settings=get_settings(),
            now=now,
            team_public=team_public,
            recovery=recovery,
            source=self.source(adapter.name),
            bridge_key=self.bridge_key,
        )

    def store(
        self, ctx: ApplyContext, rec: ParsedRecord, result: ApplyResult, existing: BridgeRecord | None
    ) -> BridgeRecord:
        """Write the BridgeRecord exactly as the importer does after ``apply``."""
        normalised = json.dumps(rec.data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
        row = existing or BridgeRecord(source_id=ctx.source.id, external_id=rec.external_id, received_at=ctx.now)
        row.case_id = result.case_id
        row.scenario = result.scenario
        row.department_code = result.department_code
        row.occurred_at = result.occurred_at
        row.occurred_on = result.occurred_at.date() if result.occurred_at is not None else None
        row.correlation_key = result.correlation_key
        row.data_mac = keyring.RecordMac(ctx.bridge_key, ctx.source.id)(normalised)
        row.payload_ct = keyring.encrypt_payload(ctx.bridge_key, ctx.source.id, rec.external_id, normalised)
        if existing is None:
            self.db.add(row)
        self.db.flush()
        return row

    def run(
        self, adapter: SourceAdapter, obj: dict[str, Any], now: dt.datetime = NOW
    ) -> tuple[ApplyResult, BridgeRecord]:
        """Parse, apply and store one record, like one turn of the importer."""
        ctx = self.ctx(adapter, now)
        rec = adapter.parse(obj)
        existing = self.db.scalar(
            select(BridgeRecord).where(
                BridgeRecord.source_id == ctx.source.id, BridgeRecord.external_id == rec.external_id
            )
        )
        result = adapter.apply(ctx, rec, existing)
        return result, self.store(ctx, rec, result, existing)

    def read_case(self, case: Case) -> list[dict[str, Any]]:
        """The decrypted timeline bodies of a case, as the intake team opens it."""
        grant = next(g for g in case.grants if g.team_id == self.intake.id)
        key = open_sealed(self.intake_private, grant.sealed_key_ct, case_keys.keyring.case_key_context(case.id))
        cipher = case_cipher(case, key)
        return [json.loads(cipher.decrypt(entry_purpose(e.kind), e.body_ct)) for e in case.entries if e.body_ct]


def make_env(app: Any) -> AdapterEnv:
    db = get_session()
    recovery = generate_keypair()
    db.add(RecoveryKey(public_key=recovery.public, active=True))
    db.flush()
    intake, intake_private = teams.create_team(db, "접수팀", TeamKind.INTAKE, [])
    departments = {}
    for code, (ko, en) in DEPARTMENTS.items():
        dept = Department(code=code, name_ko=ko, name_en=en, active=True)
        db.add(dept)
        departments[code] = dept
    db.flush()
    return AdapterEnv(db, intake, intake_private, recovery, departments)
