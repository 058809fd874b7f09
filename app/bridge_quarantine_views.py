"""The bridge's quarantine page: bad records per source with their precise error, retry and discard.

Admins (who run the bridge's sources) and supervisors (oversight) see the
list and may retry or discard; only a supervisor may open one record's raw
bytes (see :mod:`app.bridge_quarantine` for why). Plain forms and links, no
JavaScript. The services hold the rules; this module parses and answers.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers.response import Response

from app import bridge_quarantine as quarantine
from app.authz import staff_required
from app.cases.forms import ButtonForm
from app.db import get_session, utcnow
from app.models.staff import Role
from app.runtime import get_secrets, get_settings
from app.web.i18n import gettext as _
from monitoring_bridge.errors import BridgeError

bp = Blueprint("bridge_quarantine", __name__, url_prefix="/staff/bridge/quarantine")
RUNS_THE_BRIDGE = (Role.ADMIN, Role.SUPERVISOR)


def _back() -> Response:
    return redirect(url_for("bridge_quarantine.index"))


@bp.route("/")
@staff_required(*RUNS_THE_BRIDGE)
def index() -> ResponseReturnValue:
    """Open quarantined records grouped per source (``?source=`` one source, ``?all=1`` resolved too)."""
    db = get_session()
    names = quarantine.source_names(db)
    source = request.args.get("source", "")
    if source and source not in names:
        abort(404)
    show_all = request.args.get("all") == "1"
    rows = quarantine.list_records(db, source=source or None, include_resolved=show_all)
    return render_template(
        "staff/bridge/quarantine.html",
        groups=quarantine.by_source(rows),
        count=len(rows),
        names=names,
        source=source,
        show_all=show_all,
        button=ButtonForm(),
        can_read_raw=current_user.has_role(Role.SUPERVISOR),
    )


@bp.route("/<int:qid>")
@staff_required(Role.SUPERVISOR)
def record(qid: int) -> ResponseReturnValue:
    """One record with its raw bytes, decrypted for a supervisor and shown escaped (audited)."""
    try:
        row, raw = quarantine.read_raw(
            get_session(), qid, bridge_key=get_secrets().bridge_key, actor_user_id=current_user.id, now=utcnow()
        )
    except quarantine.NotOpen:
        abort(404)
    return render_template("staff/bridge/quarantine_record.html", row=row, raw=raw, button=ButtonForm())


@bp.route("/<int:qid>/retry", methods=["POST"])
@staff_required(*RUNS_THE_BRIDGE)
def retry(qid: int) -> ResponseReturnValue:
    """Run the record through validation again (after its department was added, say)."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    db = get_session()
    try:
        outcome = quarantine.retry(
            db, get_settings(), qid, bridge_key=get_secrets().bridge_key, actor_user_id=current_user.id, now=utcnow()
        )
    except quarantine.NotOpen:
        flash(_("There is no waiting quarantined record %(id)s.", id=qid), "error")
        return _back(), 404
    except quarantine.NothingKept:
        flash(_("Nothing of record %(id)s was kept (it was too long): discard it.", id=qid), "error")
        return _back(), 400
    except BridgeError as exc:
        db.rollback()
        flash(_("The bridge cannot import now: %(why)s", why=str(exc)), "error")
        return _back(), 503
    if outcome.imported:
        flash(_("Record %(id)s was imported.", id=qid), "info")
    else:
        flash(_("Record %(id)s is still invalid: %(error)s", id=qid, error=outcome.error or ""), "error")
    return _back()


@bp.route("/<int:qid>/discard", methods=["POST"])
@staff_required(*RUNS_THE_BRIDGE)
def discard(qid: int) -> ResponseReturnValue:
    """Resolve the record without importing it; its raw bytes are erased."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        quarantine.discard(get_session(), qid, actor_user_id=current_user.id, now=utcnow())
    except quarantine.NotOpen:
        flash(_("There is no waiting quarantined record %(id)s.", id=qid), "error")
        return _back(), 404
    flash(_("Record %(id)s was discarded and its raw bytes erased.", id=qid), "info")
    return _back()
