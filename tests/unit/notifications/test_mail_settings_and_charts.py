"""SMTP settings are off unless configured; mails are composed from references and links only; chart geometry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.dashboards.charts import LABEL_WIDTH, PLOT_WIDTH, grouped_bars
from config import ConfigError, Settings


def test_mail_is_off_unless_an_smtp_host_is_set(tmp_path: Path):
    settings = Settings.from_env({"HAECHI_INSTANCE": str(tmp_path), "HAECHI_ARGON2_MEMORY_KIB": "65536"})
    assert settings.mail_enabled is False and settings.smtp_tls == "starttls"
    on = Settings.from_env(
        {
            "HAECHI_INSTANCE": str(tmp_path),
            "HAECHI_SMTP_HOST": "mail.city.example",
            "HAECHI_SMTP_PORT": "465",
            "HAECHI_SMTP_TLS": "ssl",
            "HAECHI_SMTP_PASSWORD": "s3cret",
            "HAECHI_MAIL_SENDER": "haechi@city.example",
        }
    )
    assert on.mail_enabled and on.smtp_port == 465 and on.smtp_tls == "ssl"
    assert "s3cret" not in repr(on)  # a logged settings object never shows the SMTP password


def test_an_unknown_tls_mode_is_refused_at_start(tmp_path: Path):
    with pytest.raises(ConfigError):
        Settings.from_env({"HAECHI_INSTANCE": str(tmp_path), "HAECHI_SMTP_TLS": "maybe"})


def test_a_composed_mail_holds_the_event_reference_and_link_and_nothing_else(app):
    from app.models import StaffUser
    from app.notifications.mailer import Line, compose
    from app.notifications.models import NotificationEvent

    user = StaffUser(username="kim", display_name="Kim", email="kim@city.example", locale="en")
    lines = [Line(NotificationEvent.REPORTER_REPLIED, "HC-2026-ABCDEF", "https://h.example/staff/cases/7")]
    with app.app_context():
        msg = compose(app.extensions["haechi.settings"], user, lines, digest=False, day=dt.date(2026, 3, 1))
    text = msg.get_content()
    assert msg["To"] == "kim@city.example"
    assert msg["Subject"] == "Haechi: The reporter replied (HC-2026-ABCDEF)"
    assert "https://h.example/staff/cases/7" in text
    assert msg["Auto-Submitted"] == "auto-generated"


def test_bars_scale_to_the_largest_value_and_a_zero_draws_nothing():
    chart = grouped_bars("c", "Cases", ["met", "missed"], [("Jan", [10, 0]), ("Feb", [5, 2])])
    jan, feb = chart.rows
    assert jan.bars[0].width == PLOT_WIDTH and jan.bars[1].width == 0
    assert feb.bars[0].width == PLOT_WIDTH // 2
    assert all(b.x == LABEL_WIDTH for row in chart.rows for b in row.bars)
    assert jan.bars[0].colour != jan.bars[1].colour


def test_a_row_with_the_wrong_number_of_values_is_refused():
    with pytest.raises(ValueError):
        grouped_bars("c", "Cases", ["met", "missed"], [("Jan", [1])])
