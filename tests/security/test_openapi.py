"""The JSON endpoints against their published OpenAPI description, fuzzed by schemathesis (in-process WSGI).

Schemathesis reads ``/api/openapi.json`` from the app itself and generates
requests from it: unsigned ones (anything anyone can send) and ones signed
with a real source's key over the generated body (so the importer and every
adapter's parser see hostile JSON Lines, not just the signature check). Every
answer must be documented, match its schema, and never be a 500; nothing a
request carried may reach the logs.
"""

from __future__ import annotations

import itertools
import logging
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from monitoring_bridge import keyring
from tests.functional.test_bridge_sources import SOURCES, keys  # noqa: F401  (keys is a fixture)

SOURCE_NAMES = [s.name for s in SOURCES]


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_ctx, value: object) -> bytes:
    """A JSON Lines body is sent as the generated text itself (UTF-8)."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


class _Collect(logging.Handler):
    """Every log record of every logger, formatted, kept in memory for the leak check."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs():
    handler = _Collect()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)


@pytest.fixture
def api(app, keys, logs):  # noqa: F811
    """The app's own description, loaded through the app (in-process WSGI, no network)."""
    app.config["RATELIMIT_ENABLED"] = False  # the limiter has tests of its own; here it would answer 429 at once
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


def test_the_description_is_published_and_names_every_json_endpoint(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/healthz", "/bridge/{source}"}


def _leaks(body: bytes | str | None, lines: list[str]) -> list[str]:
    """Distinctive pieces of a request body (8+ letters or digits) found in the logs."""
    import re

    if not body:
        return []
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    pieces = {p for p in re.findall(r"[A-Za-z0-9\uac00-\ud7a3]{8,}", text) if not p.isdigit()}
    log = "\n".join(lines)
    return [p for p in pieces if p in log]


# schemathesis's own pytest integration (``from_fixture``/``parametrize``) does not run under the pytest
# installed here (it reads a private ``Function._nodeid``), so its strategies are driven by hypothesis directly.
def test_unsigned_requests_get_documented_answers_and_never_a_500(api, logs):
    operations = [api["/healthz"]["GET"], api["/bridge/{source}"]["POST"]]

    @given(case=st.one_of(*(op.as_strategy() for op in operations)))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        response = case.call_and_validate()
        assert response.status_code in (200, 401, 404, 413)
        assert _leaks(case.body, logs.lines) == []

    run()


_SECONDS = itertools.count()


def test_signed_batches_of_generated_records_never_crash_the_importer(api, keys, logs):  # noqa: F811
    operation = api["/bridge/{source}"]["POST"]

    @given(case=operation.as_strategy(), source=st.sampled_from(SOURCE_NAMES))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case, source: str) -> None:
        body = case.body if isinstance(case.body, bytes) else str(case.body or "").encode()
        # A second of its own per request: hypothesis repeats bodies (the empty one, say), and the
        # same body signed at the same second is the same request, refused as a replay.
        stamp = str(int(time.time()) + next(_SECONDS) % 250)
        case.path_parameters = {"source": source}
        case.headers = {
            "X-Haechi-Timestamp": stamp,
            "X-Haechi-Signature": keyring.signature(keys[source], stamp, body),
        }
        case.body = body
        # Re-signed by us, the case is no longer what schemathesis generated: its judgement of whether the
        # request "should" be refused does not apply; schema conformance and "no 500" still do.
        response = case.call_and_validate(excluded_checks=[negative_data_rejection, positive_data_acceptance])
        assert response.status_code == 200, response.text[:500]
        assert _leaks(body, logs.lines) == []

    run()
