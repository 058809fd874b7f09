"""Retaliation cases: a complaint from the inbox or an alert becomes a linked case of kind ``retaliation``.

The new case is linked ``retaliation_of`` the original report (so the report
shows "has retaliation" and the complaint "retaliation of"), an alert names
the case opened from it and the case's record names the alert. The case key
is sealed to the protection teams (who work these cases) and the recovery
key, and, for a complaint from the inbox, to the reporter's receipt key as
well. What the reporter wrote is an encrypted entry of the new case.

Its own states (received → assessing → measure requested → measure decided →
compliance monitoring → closed) are rows of the one state-machine table in
:mod:`app.cases.workflow`; this module is the hook the workflow calls for
this kind: it records the dates the law asks for (protective measure
requested and decided) and, when monitoring starts, schedules a compliance
check every six months for two years after the decision. The deadlines are
urgent per the per-kind settings (acknowledgement within 3 days, feedback
within a month); while monitoring, the nearest open compliance check is the
case's deadline.

The reporter may apply for protective measures up to one year after the
retaliatory measure: ``apply_by`` counts from ``measure_on``, not from the
day the complaint reached us.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from app.audit import record
from app.cases import keys as case_keys
from app.cases.deadlines import ack_due_on, add_months, local_today
from app.cases.service import destroy_grant
from app.models.audit import ActorKind
from app.models.cases import (
    Case,
    CaseExcludedMember,
    CaseKeyGrant,
    CaseKind,
    CaseLink,
    CaseStatus,
    Channel,
    EntryKind,
    GranteeKind,
    LinkRelation,
)
from app.models.protection import (
    AlertStatus,
    ComplianceCheck,
    ComplianceResult,
    PersonnelEvent,
    RetaliationAlert,
    RetaliationOrigin,
    RetaliationRecord,
)
from app.models.staff import Role, StaffRole, StaffUser, Team, TeamKind
from app.notifications import service as notifications
from app.protection.errors import InvalidInput, NotAllowed
from app.protection.matching import EVENT_TYPES
from app.reporting.errors import NotReady
from app.reporting.service import _new_public_ref, _recovery, case_cipher, new_entry
from app.web.i18n import lazy_gettext as _l
from config import Settings
from crypto import public_from_private

APPLY_MONTHS = 12  # a reporter may apply for protective measures up to one year after the measure
COMPLIANCE_EVERY_MONTHS = 6
COMPLIANCE_FOR_MONTHS = 24
MAX_TEXT = 20_000
MEASURE_TYPES = (*(t for t in EVENT_TYPES if t != "promotion"), "harassment")
S = CaseStatus


@dataclass(frozen=True)
class Complaint:
    """A retaliation complaint as the reporter typed it."""

    what: str
    measure_type: str | None = None
    measure_on: dt.date | None = None


def apply_by(measure_on: dt.date) -> dt.date:
    """The last day to apply for protective measures: one year after the retaliatory measure."""
    return add_months(measure_on, APPLY_MONTHS)


def compliance_schedule(decided_on: dt.date) -> list[dt.date]:
    """Compliance checks of a protective measure: every six months for two years after the decision."""
    return [
        add_months(decided_on, months)
        for months in range(COMPLIANCE_EVERY_MONTHS, COMPLIANCE_FOR_MONTHS + 1, COMPLIANCE_EVERY_MONTHS)
    ]


def record_of(db: Session, case_id: int) -> RetaliationRecord | None:
    """The retaliation record of a case (None for any other kind)."""
    return db.get(RetaliationRecord, case_id)


def _protection_teams(db: Session) -> list[Team]:
    teams = list(db.scalars(select(Team).where(Team.kind == TeamKind.PROTECTION.value).order_by(Team.id)))
    if not teams:
        raise NotReady("no protection team")
    return teams


def _seal_around_exclusions(
    db: Session,
    case: Case,
    case_key: bytes,
    original: Case,
    teams: list[Team],
    *,
    created_at: dt.datetime | None,
    granted_by: int | None,
) -> None:
    """Seal a new retaliation case to the protection teams, leaving out whoever the original report excludes.

    A complaint of retaliation names the same people and facts as the report,
    so a person left out of the report for a conflict of interest is left out
    of the complaint too: the exclusions are copied (the reason stays on the
    original, encrypted under its key) and, as :func:`app.cases.service.exclude_member`
    does, a team holding an excluded confirmed member gets no team grant;
    its other confirmed members get personal grants instead, so the excluded
    person's copy of the team key opens nothing here. If that leaves no
    protection officer, the non-excluded supervisors get personal grants so
    the urgent complaint is still worked; with nobody at all, it is refused
    rather than sealed to no one.
    """
    exclusions = list(
        db.scalars(
            select(CaseExcludedMember)
            .where(CaseExcludedMember.case_id == original.id)
            .order_by(CaseExcludedMember.user_id)
        )
    )
    excluded = {ex.user_id for ex in exclusions}
    for ex in exclusions:
        # The exclusion's own time (a staff action), never the reporter's.
        db.add(
            CaseExcludedMember(
                case_id=case.id,
                user_id=ex.user_id,
                reason_ct=None,
                excluded_by=ex.excluded_by,
                created_at=ex.created_at,
            )
        )
    sealed_to: set[int] = set()
    staff_grants = 0
    for team in teams:
        confirmed = [m for m in team.memberships if m.is_confirmed]
        if not any(m.user_id in excluded for m in confirmed):
            grant = case_keys.grant_team(case, case_key, team, granted_by=granted_by)
            grant.created_at = created_at
            staff_grants += 1
            continue
        for membership in confirmed:
            user = membership.user
            if user.id in excluded or user.id in sealed_to or not user.is_active:
                continue
            # Stands in for the team: revoked if they leave it.
            case_keys.grant_user(case, case_key, user, granted_by, created_at=created_at, via_team=team)
            sealed_to.add(user.id)
            staff_grants += 1
    if staff_grants == 0:
        supervisors = db.scalars(
            select(StaffUser)
            .join(StaffRole, StaffRole.user_id == StaffUser.id)
            .where(StaffRole.role == Role.SUPERVISOR.value, StaffUser.is_active.is_(True))
            .order_by(StaffUser.id)
        )
        for user in supervisors:
            if user.id not in excluded and user.id not in sealed_to:
                case_keys.grant_user(case, case_key, user, granted_by, created_at=created_at)
                sealed_to.add(user.id)
                staff_grants += 1
    if staff_grants == 0:
        raise NotReady("every protection officer and supervisor is excluded from the original report")
    db.flush()


def _new_case(
    db: Session,
    settings: Settings,
    original: Case,
    today: dt.date,
    *,
    channel: str | None,
    created_at: dt.datetime | None,
    granted_by: int | None,
) -> tuple[Case, bytes]:
    """A retaliation case with its urgent acknowledgement deadline, sealed to protection and recovery, linked."""
    teams = _protection_teams(db)
    recovery = _recovery(db)
    case = Case(
        public_ref=_new_public_ref(db, today),
        kind=CaseKind.RETALIATION.value,
        source="protection",
        status=S.RECEIVED.value,
        department_id=original.department_id,
        received_on=today,
        ack_due_on=ack_due_on(today, settings.per_kind("ack_days", CaseKind.RETALIATION.value)),
        channel=channel,
        created_at=created_at,
    )
    case.next_due_on = case.ack_due_on
    db.add(case)
    db.flush()
    case_key = case_keys.new_case_key()
    _seal_around_exclusions(db, case, case_key, original, teams, created_at=created_at, granted_by=granted_by)
    case_keys.grant_recovery(case, case_key, recovery)
    db.add(
        CaseLink(
            from_case_id=case.id,
            to_case_id=original.id,
            relation=LinkRelation.RETALIATION_OF.value,
            created_by=granted_by,
        )
    )
    db.flush()
    return case, case_key


def report_from_inbox(
    db: Session, settings: Settings, original: Case, reporter_private: bytes, complaint: Complaint, now: dt.datetime
) -> Case:
    """The reporter reports retaliation from their inbox: a new linked case, kept to the day."""
    today = local_today(now)
    what = complaint.what.strip()
    if not what or len(what) > MAX_TEXT:
        raise InvalidInput(_l("say what happened to you (at most 20,000 characters)"))
    if complaint.measure_type is not None and complaint.measure_type not in MEASURE_TYPES:
        raise InvalidInput(_l("choose what kind of treatment it was"))
    if complaint.measure_on is not None and not original.received_on <= complaint.measure_on <= today:
        raise InvalidInput(_l("the date of the measure must be between your report and today"))
    if original.kind == CaseKind.RETALIATION.value:
        raise NotAllowed(_l("report retaliation from the inbox of the original report"))
    # Neither the case row nor its grants get a time: this is a reporter action (DESIGN.md section 5).
    case, case_key = _new_case(
        db, settings, original, today, channel=Channel.WEB.value, created_at=None, granted_by=None
    )
    case_keys.grant_reporter(case, case_key, public_from_private(reporter_private))
    body = json.dumps(
        {
            "what": what,
            "measure_type": complaint.measure_type,
            "measure_on": complaint.measure_on.isoformat() if complaint.measure_on else None,
        },
        ensure_ascii=False,
    ).encode()
    new_entry(db, case, case_key, EntryKind.REPORT.value, body, created_on=today, visible_to_reporter=True)
    db.add(
        RetaliationRecord(
            case_id=case.id,
            origin=RetaliationOrigin.REPORTER.value,
            measure_type=complaint.measure_type,
            measure_on=complaint.measure_on,
            apply_by=apply_by(complaint.measure_on) if complaint.measure_on else None,
        )
    )
    db.flush()
    record(
        db,
        "protection.retaliation_reported",
        actor_kind=ActorKind.REPORTER,
        case_id=case.id,
        target=f"case:{original.id}",
    )
    notifications.retaliation_reported(db, settings, case, today)
    return case


def open_from_alert(
    db: Session, settings: Settings, alert: RetaliationAlert, actor: StaffUser, now: dt.datetime
) -> Case:
    """A protection officer (or supervisor) opens a retaliation case from an alert; once per alert.

    The personnel event's type and day become the measure and its date, so
    the one-year limit runs from the event, whatever day the case is opened.
    """
    if not actor.has_role(Role.PROTECTION, Role.SUPERVISOR):
        raise NotAllowed("only the protection team or a supervisor opens retaliation cases")
    if alert.retaliation_case_id is not None:
        existing = db.get(Case, alert.retaliation_case_id)
        if existing is not None:
            return existing
    original = db.get(Case, alert.case_id)
    event = db.get(PersonnelEvent, alert.personnel_event_id)
    if original is None or event is None:
        raise InvalidInput("the alert's case or event is gone")
    case, case_key = _new_case(
        db, settings, original, local_today(now), channel=None, created_at=now, granted_by=actor.id
    )
    body = json.dumps(
        {
            "alert": alert.id,
            "measure_type": event.event_type,
            "measure_on": event.effective_on.isoformat(),
            "days_since_report": alert.days_since_report,
        }
    ).encode()
    new_entry(
        db,
        case,
        case_key,
        EntryKind.REPORT.value,
        body,
        created_on=local_today(now),
        created_at=now,
        author_user_id=actor.id,
        visible_to_reporter=False,
    )
    db.add(
        RetaliationRecord(
            case_id=case.id,
            origin=RetaliationOrigin.ALERT.value,
            alert_id=alert.id,
            measure_type=event.event_type,
            measure_on=event.effective_on,
            apply_by=apply_by(event.effective_on),
        )
    )
    alert.retaliation_case_id = case.id
    if alert.status == AlertStatus.OPEN.value:
        alert.status = AlertStatus.ACKNOWLEDGED.value
    db.flush()
    record(
        db,
        "protection.retaliation_case_opened",
        actor_user_id=actor.id,
        case_id=case.id,
        target=f"alert:{alert.id}",
        now=now,
    )
    return case


def set_alert_status(db: Session, alert: RetaliationAlert, status: str, actor: StaffUser, now: dt.datetime) -> None:
    """Acknowledge an alert (being looked at) or close it (looked at, nothing to pursue)."""
    if not actor.has_role(Role.PROTECTION, Role.SUPERVISOR):
        raise NotAllowed("only the protection team or a supervisor handles alerts")
    allowed = {
        AlertStatus.OPEN.value: {AlertStatus.ACKNOWLEDGED.value, AlertStatus.CLOSED.value},
        AlertStatus.ACKNOWLEDGED.value: {AlertStatus.CLOSED.value},
    }
    if status not in allowed.get(alert.status, set()):
        raise NotAllowed(f"an alert goes from {alert.status} to {status} no more")
    alert.status = status
    db.flush()
    record(
        db,
        f"protection.alert_{status}",
        actor_user_id=actor.id,
        case_id=alert.case_id,
        target=f"alert:{alert.id}",
        now=now,
    )


def complaints_of(db: Session, original: Case) -> list[Case]:
    """The retaliation cases linked to a report (what its reporter sees listed in the inbox)."""
    return list(
        db.scalars(
            select(Case)
            .join(CaseLink, CaseLink.from_case_id == Case.id)
            .where(
                CaseLink.to_case_id == original.id,
                CaseLink.relation == LinkRelation.RETALIATION_OF.value,
                Case.kind == CaseKind.RETALIATION.value,
            )
            .order_by(Case.id)
        )
    )


def carry_exclusion(
    db: Session,
    original: Case,
    user: StaffUser,
    actor: StaffUser,
    now: dt.datetime,
    *,
    actor_private: bytes | None = None,
) -> None:
    """Exclude a person from every retaliation case of a report they were just excluded from.

    Why: a complaint names the same people and facts as the report, so an
    exclusion added after the complaint was opened must reach it too, as
    :func:`_seal_around_exclusions` does for exclusions that came first.
    The exclusion row makes every access check refuse them (the case pages
    404); their personal grants are destroyed. A team grant they could open
    is replaced by personal grants to the team's other confirmed members,
    which needs the complaint's case key: done now when the actor can open
    it (``actor_private``); otherwise audited as
    ``retaliation.exclusion_reseal_pending`` and finished at the next login
    of a member of that team (:func:`finish_exclusion_reseals`). Audited per
    complaint like the original exclusion.
    """
    for case in complaints_of(db, original):
        if db.get(CaseExcludedMember, (case.id, user.id)) is not None:
            continue
        db.add(
            CaseExcludedMember(case_id=case.id, user_id=user.id, reason_ct=None, excluded_by=actor.id, created_at=now)
        )
        db.flush()
        for grant in list(case.grants):
            if grant.grantee_kind == GranteeKind.USER.value and grant.user_id == user.id and grant.revoked_at is None:
                destroy_grant(db, grant, actor.id, now)
        case_key = _case_key_of(db, case, actor, actor_private)
        for grant in list(case.grants):
            if grant.grantee_kind != GranteeKind.TEAM.value or grant.revoked_at is not None or grant.team_id is None:
                continue
            team = db.get(Team, grant.team_id)
            if team is None or not any(m.user_id == user.id and m.is_confirmed for m in team.memberships):
                continue
            if case_key is None:
                # Finished at the next login of a member who can open it (finish_exclusion_reseals).
                record(
                    db,
                    "retaliation.exclusion_reseal_pending",
                    actor_user_id=actor.id,
                    case_id=case.id,
                    target=f"team:{team.id}",
                    now=now,
                )
                continue
            _reseal_team_grant_around_exclusions(db, case, case_key, grant, team, actor, now)
        record(db, "case.member_excluded", actor_user_id=actor.id, case_id=case.id, target=f"user:{user.id}", now=now)


def finish_exclusion_reseals(db: Session, user: StaffUser, user_private: bytes, now: dt.datetime) -> int:
    """At a member's login: finish the re-sealing that :func:`carry_exclusion` could not do; returns how many.

    Why: intake excludes a person from a report, but usually holds no grant
    of the report's retaliation complaints, so it cannot re-seal their team
    grant around the excluded person. Any confirmed, non-excluded member of
    that team can: the team grant is opened with their team key, sealed
    personally to every other confirmed, non-excluded member, and destroyed,
    so the excluded person's copy of the team key opens nothing here. What
    is pending needs no marker: a live team grant on a case that excludes a
    confirmed member of that team.
    """
    done = 0
    for membership in list(user.memberships):
        if not membership.is_confirmed:
            continue
        team = membership.team
        confirmed = {m.user_id for m in team.memberships if m.is_confirmed}
        pending = db.scalars(
            select(CaseKeyGrant)
            .join(CaseExcludedMember, CaseExcludedMember.case_id == CaseKeyGrant.case_id)
            .where(
                CaseKeyGrant.grantee_kind == GranteeKind.TEAM.value,
                CaseKeyGrant.team_id == team.id,
                CaseKeyGrant.revoked_at.is_(None),
                CaseExcludedMember.user_id.in_(confirmed),
            )
            .distinct()
        )
        for grant in list(pending):
            case = db.get(Case, grant.case_id)
            if case is None or db.get(CaseExcludedMember, (case.id, user.id)) is not None:
                continue
            try:
                case_key = case_keys.open_as_staff(db, case, user, user_private)
            except case_keys.NoAccess:
                continue
            _reseal_team_grant_around_exclusions(db, case, case_key, grant, team, user, now)
            done += 1
    return done


def _reseal_team_grant_around_exclusions(
    db: Session, case: Case, case_key: bytes, grant: CaseKeyGrant, team: Team, actor: StaffUser, now: dt.datetime
) -> None:
    """Seal the case key to each confirmed, active, non-excluded member of the team, then destroy the team grant."""
    for m in team.memberships:
        other = m.user
        if not m.is_confirmed or not other.is_active:
            continue
        if db.get(CaseExcludedMember, (case.id, other.id)) is not None:
            continue
        if any(g.revoked_at is None and g.user_id == other.id for g in case.grants):
            continue
        # Stands in for the team: revoked if they leave it.
        case_keys.grant_user(case, case_key, other, granted_by=actor.id, created_at=now, via_team=team)
    db.flush()
    destroy_grant(db, grant, actor.id, now)
    record(db, "case.restricted_to_members", actor_user_id=actor.id, case_id=case.id, target=f"team:{team.id}", now=now)


def _case_key_of(db: Session, case: Case, actor: StaffUser, actor_private: bytes | None) -> bytes | None:
    """The complaint's case key if the actor holds a grant of it, else None (intake usually does not)."""
    if actor_private is None:
        return None
    try:
        return case_keys.open_as_staff(db, case, actor, actor_private)
    except case_keys.NoAccess:
        return None


# --- the workflow's hook for this kind -------------------------------------------------------------


def before_transition(db: Session, case: Case, target: str, now: dt.datetime) -> None:
    """Refuse closing a monitored measure while a compliance check is due and unrecorded."""
    if case.status == S.COMPLIANCE_MONITORING.value and target == S.CLOSED.value:
        today = local_today(now)
        pending = db.scalar(
            select(ComplianceCheck.due_on).where(
                ComplianceCheck.case_id == case.id,
                ComplianceCheck.checked_on.is_(None),
                ComplianceCheck.due_on <= today,
            )
        )
        if pending is not None:
            from app.cases.workflow import NotAllowed as WorkflowNotAllowed

            raise WorkflowNotAllowed(f"record the compliance check due on {pending.isoformat()} first")


def after_transition(db: Session, case: Case, source: str, now: dt.datetime) -> None:
    """Keep the law's dates: measure requested, decided; at monitoring, schedule the compliance checks."""
    rec = record_of(db, case.id)
    if rec is None:
        return
    today = local_today(now)
    if case.status == S.MEASURE_REQUESTED.value and rec.measure_requested_on is None:
        rec.measure_requested_on = today
    elif case.status == S.MEASURE_DECIDED.value:
        rec.measure_decided_on = today
    elif case.status == S.COMPLIANCE_MONITORING.value:
        decided = rec.measure_decided_on or today
        have = set(db.scalars(select(ComplianceCheck.due_on).where(ComplianceCheck.case_id == case.id)))
        for due in compliance_schedule(decided):
            if due not in have:
                db.add(ComplianceCheck(case_id=case.id, due_on=due))
    db.flush()


def refresh_deadlines(case: Case, settings: Settings) -> None:
    """A retaliation case's nearest deadline: acknowledgement, then feedback, then the next compliance check."""
    if case.acknowledged_at is not None and case.feedback_due_on is None:
        case.feedback_due_on = add_months(
            local_today(case.acknowledged_at), settings.per_kind("feedback_months", case.kind)
        )
    if case.status == S.CLOSED.value:
        case.next_due_on = None
    elif case.acknowledged_at is None:
        case.next_due_on = case.ack_due_on
    elif case.status == S.COMPLIANCE_MONITORING.value:
        db = object_session(case)
        case.next_due_on = (
            db.scalar(
                select(ComplianceCheck.due_on)
                .where(ComplianceCheck.case_id == case.id, ComplianceCheck.checked_on.is_(None))
                .order_by(ComplianceCheck.due_on)
                .limit(1)
            )
            if db is not None
            else None
        )
    elif case.feedback_given_on is None:
        case.next_due_on = case.feedback_due_on
    else:
        case.next_due_on = None


# --- compliance checks ------------------------------------------------------------------------------


def notes_purpose(check_id: int) -> str:
    """Field-cipher purpose of a compliance check's notes."""
    return f"compliance.notes:{check_id}"


def checks_of(db: Session, case: Case) -> list[ComplianceCheck]:
    """A case's compliance checks, by due day."""
    return list(
        db.scalars(select(ComplianceCheck).where(ComplianceCheck.case_id == case.id).order_by(ComplianceCheck.due_on))
    )


def record_check(
    db: Session,
    settings: Settings,
    case: Case,
    case_key: bytes,
    check_id: int,
    result: str,
    notes: str,
    actor: StaffUser,
    now: dt.datetime,
) -> ComplianceCheck:
    """Record a compliance check (result, notes encrypted); the case's deadline moves to the next one."""
    if not actor.has_role(Role.PROTECTION, Role.SUPERVISOR):
        raise NotAllowed("only the protection team or a supervisor records compliance checks")
    check = db.get(ComplianceCheck, check_id)
    if check is None or check.case_id != case.id:
        raise InvalidInput("no such compliance check on this case")
    if check.checked_on is not None:
        raise InvalidInput("this check was recorded already")
    if result not in {r.value for r in ComplianceResult}:
        raise InvalidInput("choose what the check found")
    if len(notes) > MAX_TEXT:
        raise InvalidInput("the notes are too long")
    check.checked_on = local_today(now)
    check.checked_at = now
    check.checked_by = actor.id
    check.result = result
    if notes.strip():
        check.notes_ct = case_cipher(case, case_key).encrypt_text(notes_purpose(check.id), notes.strip())
    db.flush()
    from app.cases.workflow import refresh_deadlines as refresh

    refresh(case, settings)
    record(
        db,
        "protection.compliance_checked",
        actor_user_id=actor.id,
        case_id=case.id,
        target=f"check:{check.id}:{result}",
        now=now,
    )
    db.flush()
    return check


def read_notes(case: Case, case_key: bytes, check: ComplianceCheck) -> str:
    """A compliance check's notes, decrypted."""
    if check.notes_ct is None:
        return ""
    return case_cipher(case, case_key).decrypt_text(notes_purpose(check.id), check.notes_ct)
