"""``GET /api/openapi.json``: the OpenAPI 3 description of Haechi's JSON endpoints.

Why a static file served by the app rather than one generated from the
views: the description is a promise to feed operators (what a signed batch
looks like, which answers they can get), so it is written and reviewed like
one; the security suite runs schemathesis against this very URL, so a view
that stops keeping the promise fails a test. It is public on purpose: it
names no source, key or case, only the shapes that ``/bridge/<source>``
already tells anyone who calls it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from app.authz import public

bp = Blueprint("api_docs", __name__, url_prefix="/api")


@cache
def openapi_document() -> dict[str, Any]:
    """The description, read once from the package (``app/openapi.json``)."""
    text = resources.files("app").joinpath("openapi.json").read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


@bp.get("/openapi.json")
@public
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3 description of the JSON endpoints (health check and bridge feed)."""
    return jsonify(openapi_document())
