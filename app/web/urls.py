"""URL building for long lists: resolve a route once per page, not once per row.

Profiling the queue page showed ``url_for`` (Werkzeug's map builder) taking
about a fifth of its time for 50 rows. :func:`url_parts` builds one URL with
a marker in place of the integer parameter and returns the text around it;
joined around an id, it is byte-for-byte what ``url_for`` gives.
"""

from __future__ import annotations

from typing import Any

from flask import url_for

_MARKER = 987654321987654321  # an int no row id reaches, so it cannot collide with the rest of the URL


def url_parts(endpoint: str, param: str, **values: object) -> tuple[str, str]:
    """The URL of ``endpoint`` (other ``values`` fixed) as the text before and after the integer ``param``."""
    arguments: dict[str, Any] = {**values, param: _MARKER}
    built = url_for(endpoint, **arguments)
    head, marker, tail = built.partition(str(_MARKER))
    if not marker or str(_MARKER) in tail:
        raise ValueError(f"{endpoint}: {param} does not appear exactly once in {built!r}")
    return head, tail
