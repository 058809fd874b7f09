"""Rate limits on the reporter routes (Flask-Limiter; memory by default, Redis when configured).

Limits are keyed by route, not by person: all reporters share one budget per
route, so the limiter stores no address, not even a hashed one. Together with
the form tickets this caps what a flood can cost without remembering anyone.
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter

from config import Settings

RATE_LIMITED = {
    # endpoint: settings attribute holding its limit (POST only: reading a form is free)
    "reporting.report": "submit_rate",
    "reporting.receipt": "receipt_rate",
    "reporting.inbox": "submit_rate",
}


def init_limits(app: Flask, settings: Settings) -> Limiter:
    """One limiter per app (no state shared between apps), applied to the reporter POST routes."""
    limiter = Limiter(
        key_func=lambda: "all-reporters",
        storage_uri=settings.redis_url or "memory://",
        headers_enabled=False,
        strategy="moving-window",
    )
    limiter.init_app(app)
    for endpoint, attribute in RATE_LIMITED.items():
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(  # type: ignore[assignment]
            getattr(settings, attribute),
            methods=["POST"],
            key_func=lambda e=endpoint: e,  # type: ignore[misc]
        )(view)
    app.extensions["haechi.limiter"] = limiter
    return limiter
