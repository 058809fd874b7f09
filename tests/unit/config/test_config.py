"""Settings from the environment and the instance folder's secrets."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from config import ConfigError, Settings, load_secrets
from crypto.errors import WeakParametersError
from crypto.kdf import Argon2Params


def test_defaults_give_an_embedded_sqlite_database_in_the_instance_folder(tmp_path):
    s = Settings.from_env({"HAECHI_INSTANCE": str(tmp_path / "inst")})
    assert s.database_url == f"sqlite:///{tmp_path / 'inst' / 'haechi.sqlite3'}"
    assert s.default_locale == "ko" and not s.https and not s.testing


def test_database_url_and_flags_come_from_the_environment(tmp_path):
    s = Settings.from_env(
        {"HAECHI_INSTANCE": str(tmp_path), "DATABASE_URL": "postgresql+psycopg://x@h/db", "HAECHI_HTTPS": "true"}
    )
    assert s.database_url == "postgresql+psycopg://x@h/db" and s.https


@pytest.mark.parametrize("env", [{"HAECHI_HTTPS": "maybe"}, {"HAECHI_STAFF_IDLE_MINUTES": "ten"}])
def test_malformed_settings_fail_fast_with_the_variable_named(tmp_path, env):
    with pytest.raises(ConfigError, match=next(iter(env))):
        Settings.from_env({"HAECHI_INSTANCE": str(tmp_path), **env})


def test_a_deployment_refuses_weak_argon2_but_tests_may_lower_it(tmp_path):
    with pytest.raises(WeakParametersError):
        Settings.from_env({"HAECHI_INSTANCE": str(tmp_path), "HAECHI_ARGON2_MEMORY_KIB": "1024"})
    Settings(instance_path=tmp_path, database_url="sqlite://", testing=True, argon2=Argon2Params(64, 1, 1))


def test_secrets_are_created_once_with_mode_0600(tmp_path):
    first = load_secrets(tmp_path / "inst")
    secrets_dir = tmp_path / "inst" / "secrets"
    for path in secrets_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    assert load_secrets(tmp_path / "inst") == first
    assert len({first.session_secret, first.receipt_salt, first.audit_signing_key, first.protection_key}) == 4
    assert repr(first) == "Secrets(…)"


def test_a_secret_readable_by_others_is_refused(tmp_path):
    load_secrets(tmp_path / "inst")
    (tmp_path / "inst" / "secrets" / "receipt_salt").chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        load_secrets(tmp_path / "inst")


def test_a_damaged_secret_is_refused(tmp_path):
    load_secrets(tmp_path / "inst")
    (tmp_path / "inst" / "secrets" / "receipt_salt").write_bytes(b"short")
    with pytest.raises(ConfigError, match="damaged"):
        load_secrets(tmp_path / "inst")


def test_secrets_never_reach_the_database(app, test_settings):
    from app.runtime import get_secrets

    with app.app_context():
        s = get_secrets()
    if test_settings.database_url.startswith("sqlite"):
        db_bytes = Path(test_settings.database_url.removeprefix("sqlite:///")).read_bytes()
        for value in (s.session_secret, s.receipt_salt, s.audit_signing_key, s.protection_key):
            assert value not in db_bytes


def test_per_kind_deadlines_and_retention_are_configurable(tmp_path):
    s = Settings.from_env({"HAECHI_INSTANCE": str(tmp_path), "HAECHI_ACK_DAYS": "report:5,retaliation:2"})
    assert s.per_kind("ack_days", "report") == 5 and s.per_kind("feedback_months", "report") == 3
    assert s.per_kind("retention_days", "report") == 1825
    with pytest.raises(ConfigError, match="no value for kind"):
        s.per_kind("ack_days", "alert")


@pytest.mark.parametrize("raw", ["report7", "report:0", "report:-1", ":5", "report:x"])
def test_a_malformed_per_kind_setting_fails_at_start(tmp_path, raw):
    with pytest.raises(ConfigError, match="ack_days"):
        Settings.from_env({"HAECHI_INSTANCE": str(tmp_path), "HAECHI_ACK_DAYS": raw})
