"""Language selection and translation catalogues (Korean by default, English on request).

The language is only ever the user's explicit choice, kept in Flask's signed
session cookie, or the configured default. We never read Accept-Language: a
reporter's browser language is a fingerprint we have no need to act on, and a
page that silently changes with it is harder to reason about.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import flask_babel
from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations
from flask import Flask, has_request_context, session
from flask.globals import _cv_app  # the context variable behind flask.g (see translations())
from flask_babel.speaklater import LazyString
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

from app.runtime import get_settings

log = logging.getLogger(__name__)

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "translations"

# Each language is named in itself (an autonym), never translated: a Korean
# speaker lost on the English page must still recognise "한국어".
LANGUAGE_NAMES: dict[str, str] = {"ko": "한국어", "en": "English"}

SESSION_KEY = "lang"


def select_locale() -> str:
    """Flask-Babel's locale selector: the user's explicit choice, else the default (Korean).

    Outside a request (a CLI command, a mail job) there is no choice to read:
    the default, rather than the RuntimeError reading ``session`` would raise.
    """
    settings = get_settings()
    if not has_request_context():
        return settings.default_locale
    chosen = session.get(SESSION_KEY)
    if isinstance(chosen, str) and chosen in settings.locales:
        return chosen
    return settings.default_locale


def remember_locale(lang: str) -> bool:
    """Store ``lang`` as the user's choice if it is supported; False (and nothing stored) otherwise."""
    if lang not in get_settings().locales:
        return False
    # A browser-session cookie, not a permanent one: on a shared computer a
    # long-lived cookie would tell the next user that someone visited Haechi.
    session[SESSION_KEY] = lang
    return True


# The catalogue of each locale, once looked up. Flask-Babel finds the current
# request's catalogue anew for every string (three lookups through Flask's
# context proxies, the locale, its identifier as a string, then its cache),
# about 9 µs in Python and 25 µs from a template on this project's machine,
# and a staff page prints a hundred strings or more. Here the locale is asked
# of Flask-Babel (so ``force_locale`` and the selector keep working) and its
# catalogue comes from this dict: about 3 µs. It holds the very objects
# Flask-Babel's own loader returns and keeps for the life of the process, so
# nothing changes about when a catalogue is read: once per process, after
# :func:`compile_translations` has compiled it at start-up.
_CATALOGUES: dict[Locale, NullTranslations] = {}
_NO_CATALOGUE = NullTranslations()


def translations() -> NullTranslations:
    """The catalogue of the current locale (a pass-through one outside a request).

    Once Flask-Babel has chosen a locale it keeps it on its namespace in
    ``g`` (``g._flask_babel.babel_locale``, which ``force_locale`` swaps);
    that is read straight from the application context, without the three
    context-proxy hops of ``flask_babel.get_locale`` (about half of this
    function's time, and a staff page asks a hundred times). Before the
    first choice, Flask-Babel chooses as always.
    """
    locale = _chosen_locale()
    if locale is None:
        return _NO_CATALOGUE
    found = _CATALOGUES.get(locale)
    if found is None:
        found = _CATALOGUES[locale] = flask_babel.get_translations()
    return found


def _chosen_locale() -> Locale | None:
    app_context = _cv_app.get(None)
    state = getattr(app_context.g, "_flask_babel", None) if app_context is not None else None
    locale: Locale | None = getattr(state, "babel_locale", None)
    return locale if locale is not None else flask_babel.get_locale()


def current_locale() -> str:
    """The current locale's code ("ko", "en"), read as :func:`translations` reads it (the default outside a request)."""
    locale = _chosen_locale()
    return str(locale) if locale is not None else get_settings().default_locale


def gettext(string: str, **variables: Any) -> str:
    """``string`` in the current language, ``%(name)s`` placeholders filled (Flask-Babel's contract)."""
    text: str = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The singular or plural form for ``num`` in the current language; ``%(num)d`` is available."""
    variables.setdefault("num", num)
    text: str = translations().ungettext(singular, plural, num)
    return text % variables


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """:func:`gettext` deferred to when the string is used (labels defined at import time)."""
    return LazyString(gettext, string, **variables)


@pass_eval_context
def _template_gettext(eval_ctx: EvalContext, string: str, /, **variables: Any) -> str:
    # Positional-only, as Jinja's own ``__string``: a template variable may be called ``string``.
    text: str = translations().ugettext(string)
    # As Jinja's own newstyle gettext: escaped when autoescaping, always a format string.
    return (Markup(text) if eval_ctx.autoescape else text) % variables  # noqa: S704 (catalogue text, not input)


@pass_eval_context
def _template_ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **variables: Any) -> str:
    variables.setdefault("num", num)
    text: str = translations().ungettext(singular, plural, num)
    return (Markup(text) if eval_ctx.autoescape else text) % variables  # noqa: S704 (catalogue text, not input)


def install_template_gettext(app: Flask) -> None:
    """Make templates' ``_``, ``gettext`` and ``ngettext`` use the cached catalogue (after Babel's init_app).

    Jinja's newstyle callables (what Flask-Babel installs) go through three
    ``Context.call`` indirections per string (``_`` -> ``gettext`` -> the
    function), about 9 µs; these are called once and behave the same way
    (escaped under autoescape, ``%(name)s`` variables escaped, ``num`` set).
    """
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext)


def compile_translations(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile every ``.po`` whose ``.mo`` is missing or older, so a fresh checkout needs no build step.

    The ``.mo`` files are generated and not committed. Each is written to a
    temporary file and renamed into place, so several workers starting at
    once never read a half-written catalogue. Returns the files it wrote.
    """
    written: list[Path] = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        locale = po_path.parent.parent.name
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=locale)
        fd, tmp_name = tempfile.mkstemp(dir=po_path.parent, prefix=".", suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as tmp_file:
                write_mo(tmp_file, catalog)
            os.chmod(tmp_name, 0o644)  # mkstemp makes 0600; catalogues are not secret
            os.replace(tmp_name, mo_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        log.info("compiled %s", mo_path)
        written.append(mo_path)
    return written
