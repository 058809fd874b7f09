"""Settings: one frozen dataclass built from the environment, with safe defaults.

Secrets live in the instance folder (``HAECHI_INSTANCE``, default ``./instance``),
written on first start with mode 0600, never in the database or the repo:
a stolen database alone must not yield the session secret, the receipt salt
or the audit signing key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from crypto.kdf import Argon2Params
from crypto.signing import generate_signing_key

ROOT = Path(__file__).resolve().parent
SECRET_FILES = {
    # name: (size in bytes, what it defends)
    "session_secret": 32,  # signs Flask's cookie (CSRF token, language); not the staff session key
    "receipt_salt": 32,  # salts every receipt derivation; without it a DB thief cannot guess receipts
    "audit_signing_key": 32,  # Ed25519 private key for audit checkpoints
    "protection_key": 32,  # HMAC key of protected persons' blind index
    "bridge_key": 32,  # wraps bridge sources' HMAC keys and quarantined raw bytes; a DB thief reads neither
}


DEFAULT_ACK_DAYS = "report:7,retaliation:3,alert:7,training:14,supporter:14,idea:14"
DEFAULT_FEEDBACK_MONTHS = "report:3,retaliation:1,alert:1,training:3,supporter:3,idea:3"
SMTP_TLS_MODES = ("starttls", "ssl", "none")
BLOB_STORES = ("local", "database")
DEFAULT_RETENTION_DAYS = "report:1825,retaliation:3650,alert:1095,training:1095,supporter:1095,idea:730"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the app refuses to start."""


@dataclass(frozen=True)
class Secrets:
    """The instance folder's secrets, loaded once at start."""

    session_secret: bytes
    receipt_salt: bytes
    audit_signing_key: bytes
    protection_key: bytes
    bridge_key: bytes

    def __repr__(self) -> str:
        return "Secrets(…)"


@dataclass(frozen=True)
class Settings:
    """Every knob of Haechi. Tests build one directly; production uses :meth:`from_env`."""

    instance_path: Path
    database_url: str
    testing: bool = False
    https: bool = False
    argon2: Argon2Params = field(default_factory=Argon2Params)
    default_locale: str = "ko"
    locales: tuple[str, ...] = ("ko", "en")
    staff_idle_minutes: int = 30
    staff_absolute_hours: int = 12
    login_lockout_after: int = 5
    login_lockout_minutes: int = 15
    totp_issuer: str = "Haechi"
    redis_url: str | None = None
    max_upload_bytes: int = 200 * 1024 * 1024
    # Any request that is not an upload (forms, logins) may carry at most this much:
    # a large url-encoded body would otherwise be read whole into memory.
    max_form_bytes: int = 1024 * 1024
    max_files: int = 10
    reporter_idle_minutes: int = 15
    reporter_absolute_minutes: int = 120
    # Rate limits are shared by all reporters (keyed by route, not by person):
    # nothing about who asked is remembered, not even a hashed address.
    submit_rate: str = "30/minute;300/hour"
    receipt_rate: str = "60/minute;600/hour"
    # A form must have been open this long before it is sent (bots submit at once).
    form_min_seconds: int = 3
    form_max_hours: int = 6
    # Deadlines per case kind, "kind:value,…" (DESIGN.md section 6): acknowledgement
    # within 7 days of receipt, feedback within 3 months of acknowledgement; a
    # retaliation complaint is urgent.
    ack_days: str = DEFAULT_ACK_DAYS
    feedback_months: str = DEFAULT_FEEDBACK_MONTHS
    due_soon_days: int = 3
    # How long a closed case is kept before it is purged, in days per kind, and
    # how many days before the purge the team is reminded.
    retention_days: str = DEFAULT_RETENTION_DAYS
    retention_reminder_days: int = 30
    audit_checkpoint_every: int = 100
    # Support decisions above this many won need a second, different approver (a supervisor).
    support_four_eyes_won: int = 5_000_000
    # Reward for internal reporters: this share of the public money recovered, in basis
    # points (2000 = 20 %); the law allows at most 30 %.
    reward_rate_bp: int = 2000
    # Monitoring bridge: days a department has to explain a Cheongbaek-e alert, how far
    # apart alerts of the same scenario, department and subject still join one case,
    # and how old a signed feed request may be before it is refused as a replay.
    bridge_explanation_days: int = 14
    bridge_correlation_hours: int = 72
    bridge_replay_seconds: int = 300
    bridge_max_batch_bytes: int = 16 * 1024 * 1024  # one signed POST /bridge/<source> body
    # Requests to POST /bridge/<source>, all sources together and signed or not: each costs a
    # key unwrap and an HMAC over up to bridge_max_batch_bytes, so a flood is capped before that.
    bridge_feed_rate: str = "120/minute;3000/hour"
    # Transparency training: a department whose completion of mandatory training falls below
    # this share (basis points: 8000 = 80 %) becomes a `training` case (one open per department).
    training_target_bp: int = 8000
    # Retaliation monitoring (issue 8): how long a reporter who is a public officer stays protected
    # (months from the report, extendable per person), when protected reporters are asked whether
    # they suffered adverse treatment ("days after the report,…", then every N months while
    # protected), and how many days after its due day an unanswered check-in is flagged as missed.
    protection_months: int = 24
    checkin_days: str = "30,90,180"
    checkin_every_months: int = 6
    checkin_grace_days: int = 14
    # Staff e-mail notifications (issue 9). Off while ``smtp_host`` is unset: events are not
    # even queued then. Mails carry a case reference and a link to ``mail_base_url``, never
    # content; reporters never get mail. ``smtp_tls`` is "starttls", "ssl" or "none"
    # (plain only for a relay on the same host).
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_tls: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    mail_sender: str = "haechi@localhost"
    mail_base_url: str = "http://127.0.0.1:5000"
    # Deliveries tried this many times (once per `flask notifications send` run) before a mail is given up.
    mail_max_attempts: int = 5
    # Where encrypted files live: "local" (instance/blobs, one machine or a shared folder) or
    # "database" (rows in blob_chunks, for several machines sharing only the database).
    blob_store: str = "local"

    def __post_init__(self) -> None:
        if not self.testing:
            # DESIGN.md section 4: a deployment never runs below 64 MiB / 2 passes.
            self.argon2.check_production()
        if self.default_locale not in self.locales:
            raise ConfigError("HAECHI_DEFAULT_LOCALE must be one of the supported locales")
        if self.smtp_tls not in SMTP_TLS_MODES:
            raise ConfigError("HAECHI_SMTP_TLS must be starttls, ssl or none")
        if self.blob_store not in BLOB_STORES:
            raise ConfigError("HAECHI_BLOB_STORE must be local or database")
        if not 0 < self.reward_rate_bp <= 3000:
            raise ConfigError("HAECHI_REWARD_RATE_BP must be between 1 and 3000 (30 %)")
        if self.protection_months <= 0 or self.checkin_every_months <= 0 or self.checkin_grace_days < 0:
            raise ConfigError("protection months and the check-in interval must be positive, the grace not negative")
        checkin_days(self.checkin_days)  # fail at start, not at the first protected reporter
        for setting in ("ack_days", "feedback_months", "retention_days"):
            _kind_table(getattr(self, setting), setting)  # fail at start, not at the first case

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``HAECHI_*`` and ``DATABASE_URL``; defaults give the embedded SQLite setup."""
        env = os.environ if environ is None else environ
        instance = Path(env.get("HAECHI_INSTANCE", str(ROOT / "instance"))).resolve()
        url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'haechi.sqlite3'}"
        return cls(
            instance_path=instance,
            database_url=url,
            https=_flag(env, "HAECHI_HTTPS", False),
            argon2=Argon2Params(
                memory_kib=_int(env, "HAECHI_ARGON2_MEMORY_KIB", Argon2Params.memory_kib),
                iterations=_int(env, "HAECHI_ARGON2_ITERATIONS", Argon2Params.iterations),
                lanes=_int(env, "HAECHI_ARGON2_LANES", Argon2Params.lanes),
            ),
            default_locale=env.get("HAECHI_DEFAULT_LOCALE", "ko"),
            staff_idle_minutes=_int(env, "HAECHI_STAFF_IDLE_MINUTES", 30),
            staff_absolute_hours=_int(env, "HAECHI_STAFF_ABSOLUTE_HOURS", 12),
            redis_url=env.get("REDIS_URL") or None,
            max_upload_bytes=_int(env, "HAECHI_MAX_UPLOAD_BYTES", 200 * 1024 * 1024),
            max_files=_int(env, "HAECHI_MAX_FILES", 10),
            reporter_idle_minutes=_int(env, "HAECHI_REPORTER_IDLE_MINUTES", 15),
            submit_rate=env.get("HAECHI_SUBMIT_RATE") or "30/minute;300/hour",
            receipt_rate=env.get("HAECHI_RECEIPT_RATE") or "60/minute;600/hour",
            # The load test (load/) sets 0: its simulated reporters send at once, as tests do.
            form_min_seconds=_int(env, "HAECHI_FORM_MIN_SECONDS", 3),
            bridge_feed_rate=env.get("HAECHI_BRIDGE_FEED_RATE") or "120/minute;3000/hour",
            support_four_eyes_won=_int(env, "HAECHI_SUPPORT_FOUR_EYES_WON", 5_000_000),
            reward_rate_bp=_int(env, "HAECHI_REWARD_RATE_BP", 2000),
            ack_days=env.get("HAECHI_ACK_DAYS") or DEFAULT_ACK_DAYS,
            feedback_months=env.get("HAECHI_FEEDBACK_MONTHS") or DEFAULT_FEEDBACK_MONTHS,
            retention_days=env.get("HAECHI_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS,
            protection_months=_int(env, "HAECHI_PROTECTION_MONTHS", 24),
            checkin_days=env.get("HAECHI_CHECKIN_DAYS") or "30,90,180",
            checkin_every_months=_int(env, "HAECHI_CHECKIN_EVERY_MONTHS", 6),
            checkin_grace_days=_int(env, "HAECHI_CHECKIN_GRACE_DAYS", 14),
            smtp_host=env.get("HAECHI_SMTP_HOST") or None,
            smtp_port=_int(env, "HAECHI_SMTP_PORT", 587),
            smtp_tls=env.get("HAECHI_SMTP_TLS") or "starttls",
            smtp_username=env.get("HAECHI_SMTP_USERNAME") or None,
            smtp_password=env.get("HAECHI_SMTP_PASSWORD") or None,
            mail_sender=env.get("HAECHI_MAIL_SENDER") or "haechi@localhost",
            mail_base_url=env.get("HAECHI_MAIL_BASE_URL") or "http://127.0.0.1:5000",
            blob_store=env.get("HAECHI_BLOB_STORE") or "local",
        )

    def per_kind(self, setting: str, kind: str) -> int:
        """One kind's value of a "kind:value,…" setting (``ack_days``, ``feedback_months``, ``retention_days``)."""
        table = _kind_table(getattr(self, setting), setting)
        if kind not in table:
            raise ConfigError(f"{setting} has no value for kind {kind!r}")
        return table[kind]

    @property
    def mail_enabled(self) -> bool:
        """True when an SMTP server is configured: only then are staff notifications queued and sent."""
        return bool(self.smtp_host)

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def checkin_days(raw: str) -> tuple[int, ...]:
    """Parse "30,90,180" (days after the report of the first check-ins) into increasing positive numbers."""
    try:
        days = tuple(int(item) for item in raw.split(","))
    except ValueError:
        raise ConfigError(f"HAECHI_CHECKIN_DAYS must look like '30,90,180', not {raw!r}") from None
    if not days or any(d <= 0 for d in days) or list(days) != sorted(set(days)):
        raise ConfigError(f"HAECHI_CHECKIN_DAYS must be increasing positive days, not {raw!r}")
    return days


def _kind_table(raw: str, name: str) -> dict[str, int]:
    """Parse "kind:value,kind:value" into a dict of positive whole numbers."""
    table: dict[str, int] = {}
    for item in raw.split(","):
        kind, sep, value = item.strip().partition(":")
        if not sep or not kind or not value.strip().isdigit() or int(value) <= 0:
            raise ConfigError(f"{name} must look like 'report:7,alert:3', not {raw!r}")
        table[kind.strip()] = int(value)
    return table


def load_secrets(instance_path: Path) -> Secrets:
    """Read the instance secrets, creating any missing one (mode 0600, folder 0700)."""
    secrets_dir = instance_path / "secrets"
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(instance_path, 0o700)
    os.chmod(secrets_dir, 0o700)
    values: dict[str, bytes] = {}
    for name, size in SECRET_FILES.items():
        path = secrets_dir / name
        if not path.exists():
            value = generate_signing_key().private if name == "audit_signing_key" else os.urandom(size)
            _write_private(path, value)
        values[name] = path.read_bytes()
        if len(values[name]) != size:
            raise ConfigError(f"instance secret {path} is damaged (expected {size} bytes)")
        if path.stat().st_mode & 0o077:
            raise ConfigError(f"instance secret {path} is readable by others; chmod 600 it")
    return Secrets(**values)


def _write_private(path: Path, value: bytes) -> None:
    # O_EXCL: two workers starting at once cannot both write (and disagree on) a secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(value)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")
