"""``POST /bridge/<source>``: a signed batch of JSON Lines records from a monitoring source.

Threats: a forged feed (anyone can reach the URL) and a replayed one (a
captured request sent again later). Each request carries
``X-Haechi-Timestamp`` (unix seconds) and ``X-Haechi-Signature`` = hex
HMAC-SHA256(source key, timestamp + "\\n" + body); the signature is compared
in constant time, and a timestamp outside ``bridge_replay_seconds`` is refused,
so a captured request is useless after the window; within it, each signature
is accepted once (``FeedSignature``), since a batch replayed after a newer one
would roll its records back. Unknown sources, missing, wrong, stale and
replayed signatures all get the same 401. CSRF does not apply: no cookie is
involved.

A third threat is a flood: each request costs a database lookup, a key
unwrap and an HMAC over a body of up to ``bridge_max_batch_bytes``. So every
request, refused or not, counts against ``bridge_feed_rate`` (answer 429
beyond it; a feed retries later, and a replayed batch is idempotent). The
budget is the route's, shared by all sources: keyed by source name, anyone
could mint fresh budgets by inventing names, and keyed by caller it would
store addresses, which Haechi never does.
"""

from __future__ import annotations

import datetime as dt
import hmac
import time
from dataclasses import dataclass

from flask import Blueprint, Flask, abort, jsonify, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.authz import bridge
from app.db import get_session, utcnow
from app.extensions import csrf
from app.models.bridge import BridgeSource, FeedSignature
from app.runtime import get_secrets, get_settings
from app.web.params import small_int
from config import Settings
from crypto.errors import CryptoError
from monitoring_bridge import keyring
from monitoring_bridge.errors import NotReady, UnknownSource
from monitoring_bridge.importer import import_batch

bp = Blueprint("bridge", __name__, url_prefix="/bridge")
_DUMMY_KEY = bytes(32)
FEED_ENDPOINT = "bridge.feed"


def init_feed_limit(app: Flask, settings: Settings) -> None:
    """Put the feed behind the app's limiter (``app.reporting.limits``), counting every request."""
    limiter: Limiter = app.extensions["haechi.limiter"]
    app.view_functions[FEED_ENDPOINT] = limiter.limit(  # type: ignore[assignment]
        settings.bridge_feed_rate, methods=["POST"], key_func=lambda: FEED_ENDPOINT
    )(app.view_functions[FEED_ENDPOINT])


@dataclass(frozen=True)
class _Signed:
    """A request whose signature checked out: its source, its signature and when it was signed."""

    source_id: int
    signature: bytes
    sent_at: int


def _signed(source_name: str, timestamp: str, signature: str, body: bytes) -> _Signed | None:
    """The verified request, or None (unknown source, stale timestamp, wrong signature alike)."""
    settings = get_settings()
    sent_at = small_int(timestamp, 12)  # unix seconds; "²" or 5,000 digits get the uniform 401, not a 500
    if sent_at is None or abs(time.time() - sent_at) > settings.bridge_replay_seconds:
        return None
    source = get_session().scalar(
        select(BridgeSource).where(BridgeSource.name == source_name, BridgeSource.active.is_(True))
    )
    key = _DUMMY_KEY
    if source is not None and source.hmac_key_ct is not None:
        try:
            key = keyring.unwrap_hmac_key(get_secrets().bridge_key, source.name, source.hmac_key_ct)
        except CryptoError:
            source = None
    expected = keyring.signature(key, timestamp, body)
    # Computed and compared even for an unknown source, so timing does not tell which names exist.
    ok = hmac.compare_digest(expected.encode(), signature.strip().lower().encode())
    if not ok or source is None:
        return None
    return _Signed(source.id, bytes.fromhex(expected), sent_at)


def _first_use(db: Session, signed: _Signed) -> bool:
    """Keep the request's signature until its window has passed; False if it was accepted already.

    The row is written in the import's transaction (and the insert waits on
    PostgreSQL while the same signature is being imported by another worker),
    so a batch that failed leaves no row and can be sent again.
    """
    now = utcnow()
    db.execute(delete(FeedSignature).where(FeedSignature.expires_at < now))
    window = dt.timedelta(seconds=get_settings().bridge_replay_seconds)
    expires = dt.datetime.fromtimestamp(signed.sent_at, dt.UTC) + window
    try:
        with db.begin_nested():
            db.add(FeedSignature(source_id=signed.source_id, signature=signed.signature, expires_at=expires))
    except IntegrityError:
        return False
    return True


@bp.post("/<source>")
@csrf.exempt
@bridge
def feed(source: str) -> ResponseReturnValue:
    """Verify the signature, then import the batch; answers the import summary as JSON."""
    settings = get_settings()
    request.max_content_length = settings.bridge_max_batch_bytes
    body = request.get_data(cache=False)
    timestamp = request.headers.get("X-Haechi-Timestamp", "")
    signature = request.headers.get("X-Haechi-Signature", "")
    signed = _signed(source, timestamp, signature, body) if signature else None
    # A replay inside the window gets the same 401: sent after a newer batch, it would roll records back.
    if signed is None or not _first_use(get_session(), signed):
        return jsonify(error="unauthorised"), 401
    try:
        summary = import_batch(
            get_session(),
            settings,
            source,
            body,
            bridge_key=get_secrets().bridge_key,
            label=f"http {timestamp}",
        )
    except UnknownSource:
        abort(404)
    except NotReady:
        return jsonify(error="not ready"), 503
    return jsonify(
        accepted=summary.accepted,
        updated=summary.updated,
        duplicates=summary.duplicates,
        linked=summary.linked,
        quarantined=summary.quarantined,
    )
