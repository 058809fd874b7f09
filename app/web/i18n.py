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

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import session

from app.runtime import get_settings

log = logging.getLogger(__name__)

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "translations"

# Each language is named in itself (an autonym), never translated: a Korean
# speaker lost on the English page must still recognise "한국어".
LANGUAGE_NAMES: dict[str, str] = {"ko": "한국어", "en": "English"}

SESSION_KEY = "lang"


def select_locale() -> str:
    """Flask-Babel's locale selector: the user's explicit choice, else the default (Korean)."""
    settings = get_settings()
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
