"""The web shell shared by both surfaces: language, security headers, error pages, landing page.

Reporter and staff pages have separate layouts (``templates/reporter/base.html``,
``templates/staff/base.html``); what lives here is only what both need.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale

from app.extensions import babel
from app.runtime import get_settings
from app.web.errors import init_errors
from app.web.headers import init_headers
from app.web.i18n import (
    LANGUAGE_NAMES,
    TRANSLATIONS_DIR,
    compile_translations,
    install_template_gettext,
    select_locale,
)
from app.web.views import bp

STAFF_LOGOUT_ENDPOINT = "staff_auth.logout"


def init_web(app: Flask) -> None:
    """Bind Babel, the shell blueprint, security headers and error pages to ``app``."""
    settings = app.extensions["haechi.settings"]
    app.config["BABEL_DEFAULT_LOCALE"] = settings.default_locale
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    compile_translations(TRANSLATIONS_DIR)
    babel.init_app(app, locale_selector=select_locale)
    install_template_gettext(app)

    app.context_processor(_template_context)
    app.register_blueprint(bp)
    init_headers(app)
    init_errors(app)


def _template_context() -> dict[str, Any]:
    locale = get_locale()
    return {
        "current_locale": str(locale) if locale is not None else get_settings().default_locale,
        "language_names": {code: LANGUAGE_NAMES.get(code, code) for code in get_settings().locales},
        # Where the language switch sends the user back to (checked again on the way in).
        "language_next": here(),
        # The staff layout shows a logout button only once staff auth is registered.
        "staff_logout_available": STAFF_LOGOUT_ENDPOINT in current_app.view_functions,
    }


def here() -> str:
    """The current page, for the language switch to return to (a GET of it, after the POST).

    With the script root in front, as the browser addressed it: under a sub-path
    deployment (``SCRIPT_NAME=/haechi``) the switch must return under it too.
    """
    if not has_request_context():
        return "/"
    path = request.full_path.rstrip("?") if request.method == "GET" else request.path
    return f"{request.script_root}{path}"
