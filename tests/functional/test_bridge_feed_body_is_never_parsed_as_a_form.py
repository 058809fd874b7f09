"""A signed batch is verified over its raw bytes whatever Content-Type the sender put on it.

curl's ``--data-binary`` sends ``application/x-www-form-urlencoded``; the
app-wide NUL check parsed such bodies as forms before the view ran, which
consumed the body, so a correctly signed batch got 401. The NUL check must
still hold on every other route.
"""

from __future__ import annotations

import json
import time

import pytest

from monitoring_bridge import keyring
from tests.functional import test_bridge
from tests.functional.conftest import csrf_token
from tests.functional.test_bridge import alert

source_key = test_bridge.source_key  # the fixture: a cheongbaek source and its signing key


def _signed(key: bytes, body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {"X-Haechi-Timestamp": stamp, "X-Haechi-Signature": keyring.signature(key, stamp, body)}


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "application/x-ndjson", "text/plain", None]
)
def test_a_signed_batch_is_imported_whatever_its_content_type(app, client, source_key, content_type):
    body = json.dumps(alert(1)).encode() + b"\n"
    kw = {"content_type": content_type} if content_type else {}
    r = client.post("/bridge/cheongbaek", data=body, headers=_signed(source_key, body), **kw)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["accepted"] == 1


def test_a_nul_in_an_urlencoded_batch_is_left_to_the_feed(app, client, source_key):
    """The feed quarantines the record (control character), rather than the hook answering 400."""
    body = b"alert_id=%00&" + json.dumps(alert(1)).encode() + b"\n"
    r = client.post(
        "/bridge/cheongbaek",
        data=body,
        headers=_signed(source_key, body),
        content_type="application/x-www-form-urlencoded",
    )
    assert r.status_code == 200 and r.get_json()["quarantined"] == 1


def test_a_nul_in_the_feeds_query_string_is_still_refused(app, client, source_key):
    body = json.dumps(alert(1)).encode() + b"\n"
    r = client.post("/bridge/cheongbaek?x=%00", data=body, headers=_signed(source_key, body))
    assert r.status_code == 400


def test_a_nul_in_a_form_post_elsewhere_is_still_refused(app, client):
    token = csrf_token(client.get("/staff/login").get_data(as_text=True))

    def login(username: str) -> int:
        form = {"csrf_token": token, "username": username, "password": "y"}
        return client.post("/staff/login", data=form).status_code

    assert login("x") == 401  # an ordinary refusal: the 400 below is the NUL's
    assert login("\x00") == 400
