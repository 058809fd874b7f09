"""The staff surface: sign-in, accounts, teams and their keys."""

from __future__ import annotations

from flask import Flask

from app.extensions import login_manager


def init_staff(app: Flask) -> None:
    """Register the staff blueprints, the session loader and the CLI groups."""
    from app.staff import admin_views, cli, views

    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    login_manager.login_view = "staff_auth.login"
    login_manager.request_loader(views.load_user_from_request)
    # Flask-Login must never keep a user id in Flask's cookie: only our server-side session counts.
    login_manager.session_protection = None

    @app.context_processor
    def _staff_template_globals() -> dict[str, object]:
        from app.models.staff import Role
        from app.staff.forms import ROLE_LABELS

        return {"roles": Role, "role_labels": ROLE_LABELS}

    for group in (cli.users_cli, cli.recovery_cli, cli.teams_cli, cli.demo_cli, cli.departments_cli):
        app.cli.add_command(group)
