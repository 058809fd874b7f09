"""Haechi's Flask application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from app import db
from app.authz import public
from app.blobs import DatabaseBlobStore, LocalBlobStore, init_blob_errors
from app.extensions import csrf, login_manager
from app.uploads import EncryptingRequest, release_uploads
from config import Settings, load_secrets

ROOT = Path(__file__).resolve().parent.parent


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from ``settings`` (default: the environment)."""
    settings = settings or Settings.from_env()
    secrets = load_secrets(settings.instance_path)
    # Threat: the development server's access log writes each client's IP address
    # and the path it asked for; reporters' IPs are never logged (DESIGN.md section 5).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    from app.web.converters import RowIdConverter

    # Before any route is added: every <int:…> in a URL is a row id the database can hold.
    app.url_map.converters["int"] = RowIdConverter
    app.config.update(
        SECRET_KEY=secrets.session_secret,
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=settings.max_form_bytes,
        # Flask's own signed cookie carries only the CSRF token and the language.
        SESSION_COOKIE_NAME="haechi_prefs",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.https,
        PREFERRED_URL_SCHEME="https" if settings.https else "http",
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=settings.https,
    )
    app.extensions["haechi.settings"] = settings
    app.extensions["haechi.secrets"] = secrets
    # Uploaded files are encrypted as they stream in; no route can spool plaintext.
    app.request_class = EncryptingRequest
    app.teardown_request(release_uploads)

    engine = db.make_engine(settings.database_url)
    db.init_app(app, engine)
    app.extensions["haechi.blobs"] = (
        DatabaseBlobStore(engine)
        if settings.blob_store == "database"
        else LocalBlobStore(settings.instance_path / "blobs")
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    init_blob_errors(app)
    from app.web.params import refuse_nul_bytes

    app.before_request(refuse_nul_bytes)

    from app.web import init_web

    init_web(app)

    from app.staff import init_staff

    init_staff(app)

    from app.reporting.limits import init_limits
    from app.reporting.views import bp as reporting_bp

    app.register_blueprint(reporting_bp)

    from app.cases.identity_views import bp as case_identity_bp
    from app.cases.views import bp as cases_bp

    app.register_blueprint(cases_bp)
    app.register_blueprint(case_identity_bp)

    from app.support.ledger_views import bp as ledger_bp
    from app.support.reporter_views import bp as reporter_support_bp
    from app.support.views import bp as support_bp

    app.register_blueprint(support_bp)
    app.register_blueprint(ledger_bp)
    app.register_blueprint(reporter_support_bp)

    from app.support.pdf_views import bp as support_file_bp

    app.register_blueprint(support_file_bp)

    from app.cases.queue_views import bp as queues_bp

    app.register_blueprint(queues_bp)

    from app.audit_views import bp as audit_bp

    app.register_blueprint(audit_bp)

    from app.protection.reporter_views import bp as reporter_protection_bp
    from app.protection.views import bp as protection_bp

    app.register_blueprint(protection_bp)
    app.register_blueprint(reporter_protection_bp)

    from app.bridge_views import bp as bridge_bp

    app.register_blueprint(bridge_bp)

    from app.bridge_quarantine_views import bp as bridge_quarantine_bp

    app.register_blueprint(bridge_quarantine_bp)

    from app.case_subjects_views import bp as case_subjects_bp

    app.register_blueprint(case_subjects_bp)

    from app.api_docs import bp as api_docs_bp

    app.register_blueprint(api_docs_bp)
    init_limits(app, settings)
    from app.bridge_views import init_feed_limit

    init_feed_limit(app, settings)

    from app.audit_cli import audit_cli
    from app.blobs_cli import blobs_cli
    from app.cases.retention_cli import retention_cli
    from app.schema_cli import db_cli

    app.cli.add_command(db_cli)
    app.cli.add_command(blobs_cli)

    from app.backup.cli import backup_cli

    app.cli.add_command(backup_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(retention_cli)

    from app.cases.deadlines_cli import deadlines_cli

    app.cli.add_command(deadlines_cli)

    from app.protection.cli import protection_cli

    app.cli.add_command(protection_cli)

    from app.bridge_cli import bridge_cli

    app.cli.add_command(bridge_cli)

    from app.dashboards.views import bp as dashboards_bp
    from app.notifications.cli import notifications_cli
    from app.notifications.views import bp as notifications_bp

    app.register_blueprint(dashboards_bp)
    app.register_blueprint(notifications_bp)
    app.cli.add_command(notifications_cli)
    # Static files (CSS) are public like the landing page; every other route declares its rule.
    app.view_functions["static"] = public(app.view_functions["static"])
    return app
