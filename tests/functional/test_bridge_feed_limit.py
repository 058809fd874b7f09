"""The feed endpoint's rate limit: beyond ``bridge_feed_rate`` requests answer 429, refused ones count too."""

from __future__ import annotations

import itertools
import json
import time

import pytest
from sqlalchemy import func, select

from app.db import get_session
from app.models.bridge import BridgeRecord
from monitoring_bridge import keyring

RECORD = {
    "proposal_id": "IDEA-1",
    "title": "Publish subsidy spending in real time",
    "proposal": "Publish what every subsidy project spends as it spends it.",
    "submitted_at": "2026-04-30T21:15:00+09:00",
}


@pytest.fixture
def test_settings(test_settings):
    return test_settings.with_(bridge_feed_rate="3/minute")


@pytest.fixture
def key(app, office) -> bytes:
    r = app.test_cli_runner().invoke(args=["bridge", "source", "add", "idea", "--kind", "idea"])
    assert r.exit_code == 0, r.output
    return bytes.fromhex(r.output.strip().splitlines()[-1])


_SECONDS = itertools.count()


def post(client, key: bytes | None, source: str = "idea"):
    body = json.dumps(RECORD).encode() + b"\n"
    # Each request signed at its own second: the same signature twice would be refused as a replay.
    stamp = str(int(time.time()) + next(_SECONDS) % 60)
    headers = {"X-Haechi-Timestamp": stamp}
    if key is not None:
        headers["X-Haechi-Signature"] = keyring.signature(key, stamp, body)
    return client.post(f"/bridge/{source}", data=body, headers=headers, content_type="application/x-ndjson")


def stored(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(BridgeRecord))


def test_signed_requests_beyond_the_limit_are_answered_429_and_not_imported(app, client, key):
    assert [post(client, key).status_code for _ in range(3)] == [200, 200, 200]
    assert post(client, key).status_code == 429
    assert stored(app) == 1


@pytest.mark.parametrize("refused", ["unsigned", "wrong_key", "unknown_source"])
def test_refused_requests_count_against_the_limit_so_a_flood_of_forgeries_is_capped(app, client, key, refused):
    for _ in range(3):
        r = {
            "unsigned": lambda: post(client, None),
            "wrong_key": lambda: post(client, bytes(32)),
            "unknown_source": lambda: post(client, key, source="nosuch"),
        }[refused]()
        assert r.status_code == 401
    assert post(client, key).status_code == 429  # even a valid request waits now
    assert stored(app) == 0


def test_the_limit_comes_from_the_environment(tmp_path):
    from config import Settings

    s = Settings.from_env({"HAECHI_INSTANCE": str(tmp_path), "HAECHI_BRIDGE_FEED_RATE": "10/minute"})
    assert s.bridge_feed_rate == "10/minute"
    assert Settings.from_env({"HAECHI_INSTANCE": str(tmp_path)}).bridge_feed_rate == "120/minute;3000/hour"
