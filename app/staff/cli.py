"""Command line: `flask users …`, `flask recovery init`, `flask teams …`, `flask demo …`."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import click
import pyotp
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import record
from app.cases.departments import DEMO_DEPARTMENTS, DepartmentError, add_department, all_departments
from app.db import get_session, utcnow
from app.models.audit import ActorKind
from app.models.staff import RecoveryKey, Role, StaffUser, TeamKind
from app.runtime import get_settings
from app.staff import service, sessions, teams
from app.staff.errors import StaffError
from crypto import generate_keypair

users_cli = AppGroup("users", help="Staff accounts.")
recovery_cli = AppGroup("recovery", help="The organisation's offline recovery key.")
teams_cli = AppGroup("teams", help="Teams and their keys.")
demo_cli = AppGroup("demo", help="Demo data for a first look (never in production).")
departments_cli = AppGroup("departments", help="The departments reporters choose from.")

ROLE_CHOICE = click.Choice([r.value for r in Role])
KIND_CHOICE = click.Choice([k.value for k in TeamKind])
DEMO_FILE = "demo-credentials.json"


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _audit(db: Session, action: str, target: str | None = None) -> None:
    """Audit a command-line action: the system acted (the shell user is not a staff account)."""
    record(db, action, actor_kind=ActorKind.SYSTEM, target=target)


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--role", "roles", multiple=True, type=ROLE_CHOICE, required=True, help="Repeat for several roles.")
@click.option("--email", default=None)
@click.password_option(help="Initial password (prompted if not given).")
def users_create(username: str, display_name: str, roles: tuple[str, ...], email: str | None, password: str) -> None:
    """Create a staff user; they enrol TOTP at first login."""
    db = get_session()
    try:
        user = service.create_user(
            db,
            get_settings(),
            username=username,
            display_name=display_name or username,
            password=password,
            roles={Role(r) for r in roles},
            email=email,
        )
    except StaffError as exc:
        _fail(f"{type(exc).__name__}: {exc}")
    _audit(db, "user.created", f"user:{user.id}")
    db.commit()
    click.echo(f"created {user.username} ({', '.join(sorted(roles))})")


@users_cli.command("list")
def users_list() -> None:
    """List staff users with roles, teams and state."""
    for user in get_session().scalars(select(StaffUser).order_by(StaffUser.username)):
        state = "active" if user.is_active else "disabled"
        team_names = ",".join(m.team.name + ("" if m.is_confirmed else "(proposed)") for m in user.memberships)
        totp = "totp" if user.totp_secret_ct else "no-totp"
        click.echo(
            f"{user.username:20} {state:9} {totp:8} {','.join(sorted(r.value for r in user.role_set)):40} {team_names}"
        )


def _set_active(username: str, active: bool) -> None:
    db = get_session()
    user = service.find_user(db, username)
    if user is None:
        _fail(f"no user {username!r}")
        return
    service.set_active(db, user, active)
    _audit(db, "user.enabled" if active else "user.disabled", f"user:{user.id}")
    db.commit()
    click.echo(f"{user.username} {'enabled' if active else 'disabled'}")


@users_cli.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable a user and end their sessions."""
    _set_active(username, False)


@users_cli.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Enable a disabled user."""
    _set_active(username, True)


@users_cli.command("purge-sessions")
def users_purge_sessions() -> None:
    """Delete expired and idle staff sessions (run from cron; their keys go with them)."""
    db = get_session()
    count = sessions.purge_expired(db, get_settings(), utcnow())
    db.commit()
    click.echo(f"{count} expired session(s) deleted")


@recovery_cli.command("init")
def recovery_init() -> None:
    """Create the recovery key pair; print the private half ONCE for offline keeping."""
    db = get_session()
    if db.scalar(select(func.count()).select_from(RecoveryKey)):
        _fail("a recovery key already exists")
    keys = generate_keypair()
    recovery = RecoveryKey(public_key=keys.public, active=True)
    db.add(recovery)
    db.flush()
    _audit(db, "recovery.initialised", f"recovery_key:{recovery.id}")
    db.commit()
    click.echo("Recovery key created. Print or store this private key OFFLINE now; it is not kept anywhere:")
    click.echo(f"  {keys.private.hex()}")


def _read_recovery_private(path: str | None) -> bytes:
    raw = Path(path).read_text() if path else click.prompt("Recovery private key (hex)", hide_input=True)
    try:
        key = bytes.fromhex(raw.strip())
    except ValueError:
        _fail("the recovery key is 64 hexadecimal characters")
    if len(key) != 32:
        _fail("the recovery key is 64 hexadecimal characters")
    return key


@teams_cli.command("create")
@click.argument("name")
@click.option("--kind", type=KIND_CHOICE, required=True)
@click.option("--member", "members", multiple=True, help="Username of an initial member (repeat).")
def teams_create(name: str, kind: str, members: tuple[str, ...]) -> None:
    """Create a team with its key pair, sealed to recovery and to the initial members."""
    db = get_session()
    if teams.find_team(db, name):
        _fail(f"team {name!r} exists")
    users = []
    for username in members:
        user = service.find_user(db, username)
        if user is None:
            _fail(f"no user {username!r}")
        users.append(user)
    try:
        team, _key = teams.create_team(db, name, TeamKind(kind), users)  # type: ignore[arg-type]
    except StaffError as exc:
        _fail(str(exc))
        return
    _audit(db, "team.created", f"team:{team.id}")
    for member_id in sorted({m.user_id for m in team.memberships}):
        _audit(db, "team.member_added", f"team:{team.id},user:{member_id}")
    db.commit()
    click.echo(f"team {name} created with {len(users)} member(s)")


@teams_cli.command("add-member")
@click.argument("team_name")
@click.argument("username")
@click.option("--recovery-key-file", type=click.Path(exists=True, dir_okay=False), default=None)
def teams_add_member(team_name: str, username: str, recovery_key_file: str | None) -> None:
    """Add a member using the offline recovery key (when no member can do it on the web)."""
    db = get_session()
    team = teams.find_team(db, team_name)
    user = service.find_user(db, username)
    if team is None or user is None:
        _fail("unknown team or user")
        return
    team_private = teams.open_team_key_with_recovery(team, _read_recovery_private(recovery_key_file))
    teams.add_member_with_key(db, team, team_private, user, None)
    _audit(db, "team.member_added", f"team:{team.id},user:{user.id}")
    db.commit()
    click.echo(f"{user.username} added to {team.name}")


@teams_cli.command("list")
def teams_list() -> None:
    """List teams and members."""
    for team in teams.list_teams(get_session()):
        names = ", ".join(m.user.username + ("" if m.is_confirmed else " (proposed)") for m in team.memberships)
        pending = " [re-key pending]" if team.rekey_pending else ""
        click.echo(f"{team.name:20} {team.kind:14} v{team.key_version}{pending}  {names}")


DEMO_USERS = [
    # username, display name, roles, teams
    ("intake", "접수 담당 Kim Intake", [Role.INTAKE], ["intake"]),
    ("investigator", "조사관 Lee Investigator", [Role.INVESTIGATOR], ["investigation"]),
    ("legal", "법무 담당 Park Legal", [Role.LEGAL], ["legal"]),
    ("protection", "보호 담당 Choi Protection", [Role.PROTECTION], ["protection"]),
    ("supervisor", "감독관 Jung Supervisor", [Role.SUPERVISOR], ["intake", "investigation"]),
    ("admin", "관리자 Han Admin", [Role.ADMIN], []),
]
DEMO_TEAMS = [
    ("intake", TeamKind.INTAKE),
    ("investigation", TeamKind.INVESTIGATION),
    ("legal", TeamKind.LEGAL),
    ("protection", TeamKind.PROTECTION),
]


@departments_cli.command("add")
@click.argument("code")
@click.option("--ko", "name_ko", required=True, help="Name in Korean.")
@click.option("--en", "name_en", required=True, help="Name in English.")
def departments_add(code: str, name_ko: str, name_en: str) -> None:
    """Add a department."""
    db = get_session()
    try:
        dept = add_department(db, code, name_ko, name_en)
    except DepartmentError as exc:
        with force_locale("en"):  # the rest of the command line speaks English
            _fail(str(exc))
        return
    _audit(db, "department.added", f"department:{dept.id}")
    db.commit()
    click.echo(f"department {dept.code} added")


@departments_cli.command("list")
def departments_list() -> None:
    """List departments."""
    for d in all_departments(get_session()):
        click.echo(f"{d.code:16} {'active' if d.active else 'hidden':7} {d.name_ko} / {d.name_en}")


@demo_cli.command("seed")
def demo_seed() -> None:
    """First run only: a recovery key, the four teams and one user per role; prints how to log in."""
    db = get_session()
    settings = get_settings()
    if db.scalar(select(func.count()).select_from(StaffUser)):
        click.echo("Staff accounts exist already; demo seed skipped. Logins: instance/" + DEMO_FILE)
        return
    recovery = generate_keypair()
    db.add(RecoveryKey(public_key=recovery.public, active=True))
    db.flush()
    creds = []
    users: dict[str, StaffUser] = {}
    for username, name, roles, _teams in DEMO_USERS:
        password = "demo-" + secrets.token_urlsafe(12)
        totp = pyotp.random_base32(32)
        users[username] = service.create_user(
            db, settings, username=username, display_name=name, password=password, roles=set(roles), totp_secret=totp
        )
        creds.append(
            {"username": username, "password": password, "totp_secret": totp, "roles": [r.value for r in roles]}
        )
    for team_name, kind in DEMO_TEAMS:
        members = [users[u] for u, _n, _r, t in DEMO_USERS if team_name in t]
        teams.create_team(db, team_name, kind, members)
    for code, name_ko, name_en in DEMO_DEPARTMENTS:
        add_department(db, code, name_ko, name_en)
    _audit(db, "demo.seeded")
    db.commit()
    path = settings.instance_path / DEMO_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(
            {
                "warning": "DEMO ONLY - delete this file and these accounts before real use",
                "recovery_private_key": recovery.private.hex(),
                "users": creds,
            },
            fh,
            indent=2,
        )
    click.echo("\nDemo staff accounts (DEMO ONLY; also saved, mode 0600, in instance/" + DEMO_FILE + "):")
    for c in creds:
        click.echo(f"  {c['username']:13} password {c['password']}  TOTP secret {c['totp_secret']}")
    click.echo("Sign in at http://127.0.0.1:5000/staff/login; for the 6-digit code add the TOTP secret to an")
    click.echo("authenticator app, or run:  .venv/bin/flask --app wsgi demo totp USERNAME")


@demo_cli.command("totp")
@click.argument("username")
def demo_totp(username: str) -> None:
    """Print the current TOTP code of a demo account (reads instance/demo-credentials.json)."""
    path = get_settings().instance_path / DEMO_FILE
    if not path.exists():
        _fail("no demo credentials in the instance folder")
    for c in json.loads(path.read_text())["users"]:
        if c["username"] == username:
            click.echo(pyotp.TOTP(c["totp_secret"]).now())
            return
    _fail(f"{username!r} is not a demo account")
