"""Page frames: a template rendered once around named holes, then filled anew on every request.

Why: the queue page is one of the pages an officer reloads most, and most of
its HTML — the staff layout, the tabs, the filter form with its selects, the
table head — depends only on who is looking, in which language, at which
filters. Rendered by Jinja it cost about a millisecond, five times the
database work of the whole page (issue 5's ``queue.page_100k``). A frame
keeps that HTML, split at its holes, and a request fills the holes (the rows,
the counts, the page links) with HTML built for it.

What a frame may hold is fixed by its key. The caller's key names everything
the page template reads outside its holes (its filters, the choices it
offers); this module adds everything the staff layout reads: the app, the
locale, the signed-in officer (id, display name, roles) and the script root
URLs are built under. The layout's per-request values are holes of every
frame: the CSRF token (signed with a timestamp) and the address the language
switch returns to. A request with flashed messages is rendered whole and its
frame not kept, so a message is shown once and never cached. A page whose own
form prints a CSRF field cannot be framed (building its frame fails loudly).

Frames hold no case content (rows are holes), are per officer, and the cache
is bounded (least recently used first out) and kept per app.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from flask import current_app, get_flashed_messages, render_template, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from app.lru import LruCache
from app.web import here
from app.web.i18n import current_locale

# Holes are marked by a random token per process: template output (a team or
# department name, say) cannot forge a hole it never saw.
_TOKEN = secrets.token_hex(16)
_HOLE = re.compile(rf"\x02{_TOKEN}:([a-z_]+)\x03")
# The layout's own per-request values, holes of every frame.
LAYOUT_HOLES = ("csrf_token", "language_next")


_HOLE_NAME = re.compile("[a-z_]+")


def _hole(name: str) -> Markup:
    if not _HOLE_NAME.fullmatch(name):
        raise ValueError(f"a hole's name is lower-case letters and underscores: {name!r}")
    return Markup(f"\x02{_TOKEN}:{name}\x03")  # noqa: S704 (a marker of our own, replaced before output)


def _layout_key() -> Hashable:
    """What the staff layout shows that is not a hole: language, officer, URL prefix."""
    user = current_user._get_current_object()
    officer = (user.id, user.display_name, tuple(sorted(r.role for r in user.roles))) if user.is_authenticated else None
    return (current_locale(), officer, request.script_root)


class FrameCache:
    """Rendered frames by (template, caller's key, layout key), least recently used dropped first."""

    def __init__(self, maxsize: int = 512) -> None:
        self._frames: LruCache[Hashable, tuple[str, ...]] = LruCache(maxsize)

    def __len__(self) -> int:
        return len(self._frames)

    def clear(self) -> None:
        """Forget every frame (the cold-page benchmark)."""
        self._frames.clear()

    def render(
        self,
        template: str,
        key: Hashable,
        context: Mapping[str, Any],
        holes: Mapping[str, str],
        keep: bool = True,
    ) -> str:
        """``template`` with ``context``, each ``{{ name }}`` of ``holes`` filled with that HTML.

        ``key`` must change whenever the template's output outside its holes
        would (see the module docstring); ``holes`` values are inserted as
        they are, so they must already be HTML (``Markup`` or escaped text).
        ``keep=False`` renders without keeping the frame (a request unlike
        the ones the page is built for, which should not push others out).
        """
        keep = keep and not get_flashed_messages()  # kept on the request: the layout still shows them
        full_key = (template, key, _layout_key())
        segments = self._frames.get(full_key) if keep else None
        if segments is None:
            segments = self._build(template, context, holes.keys())
            if keep:
                self._frames.put(full_key, segments)
        values = {**holes, "csrf_token": str(escape(generate_csrf())), "language_next": str(escape(here()))}
        # Even positions are the frame's own HTML, odd ones the names of holes.
        parts = list(segments)
        parts[1::2] = [values[name] for name in segments[1::2]]
        return "".join(parts)

    @staticmethod
    def _build(template: str, context: Mapping[str, Any], names: Iterable[str]) -> tuple[str, ...]:
        marked = {name: _hole(name) for name in names}
        csrf = _hole("csrf_token")
        html = render_template(
            template, **context, **marked, csrf_token=lambda: csrf, language_next=_hole("language_next")
        )
        # A form of the page's own that printed its CSRF field would freeze this session's
        # token into a frame another session of the officer could be served: refuse.
        if str(escape(generate_csrf())) in html:
            raise RuntimeError(f"{template}: a frame must not hold a CSRF token (make it a hole)")
        segments = tuple(_HOLE.split(html))
        if any(_TOKEN in text for text in segments[::2]):
            raise RuntimeError(f"{template}: a hole marker was left unsplit")  # the token must never be output
        return segments


def frames() -> FrameCache:
    """The current app's frame cache."""
    cache: FrameCache | None = current_app.extensions.get("haechi.frames")
    if cache is None:
        cache = current_app.extensions.setdefault("haechi.frames", FrameCache())
    return cache
