"""Rate limits on the reporter routes (Flask-Limiter; memory by default, Redis when configured).

Limits are keyed by route, not by person: all reporters share one budget per
route, so the limiter stores no address, not even a hashed one. Together with
the form tickets this caps what a flood can cost without remembering anyone.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from flask_limiter import Limiter

from app.reporting.tickets_used import MemoryUsedTickets, RedisUsedTickets, UsedTickets
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
            deduct_when=lambda _response: bool(g.get("rate_counted")),
        )(view)
    app.extensions["haechi.limiter"] = limiter
    app.extensions["haechi.used_tickets"] = (
        RedisUsedTickets(settings.redis_url) if settings.redis_url else MemoryUsedTickets()
    )
    return limiter


def count_this_request() -> None:
    """This request passed the cheap checks (CSRF, ticket, session): it counts against the budget.

    Requests refused before this point cost the limit nothing, so junk posts
    cannot use up the budget that real reporters share.
    """
    g.rate_counted = True


def used_tickets() -> UsedTickets:
    """The app's record of used form tickets."""
    store: UsedTickets = current_app.extensions["haechi.used_tickets"]
    return store
