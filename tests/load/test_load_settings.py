"""The environment the load run gives gunicorn really lifts the limits it says it lifts."""

from __future__ import annotations

from pathlib import Path

from config import Settings
from load.__main__ import LIFTED_LIMITS
from load.server import instance_env


def test_the_load_environment_lifts_rate_limits_and_the_form_dwell_time(tmp_path: Path):
    env = instance_env(tmp_path / "instance", "postgresql+psycopg://x@127.0.0.1/y", LIFTED_LIMITS)
    settings = Settings.from_env(env)
    assert settings.form_min_seconds == 0
    assert settings.submit_rate == settings.receipt_rate == settings.bridge_feed_rate == "1000000/minute"
    assert settings.database_url.endswith("/y") and settings.instance_path == (tmp_path / "instance").resolve()


def test_without_the_override_a_form_must_stay_open_three_seconds():
    assert Settings.from_env({}).form_min_seconds == 3
    assert Settings.from_env({"HAECHI_FORM_MIN_SECONDS": "5"}).form_min_seconds == 5
