"""A call's exports for its admins and auditors: the applications with every score, the ranking with the reasons
(CSV, XLSX) and the 360Giving JSON of its grants; the same bytes as `flask --app wsgi export`."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.utils import secure_filename

from app import policies
from app.errors import Refused
from app.services import exports
from app.views.admin import bp
from app.views.common import current_lang


@bp.get("/calls/<int:call_id>/export", endpoint="call_export")
def call_export(call_id):
    """`?format=csv|xlsx|360giving&what=applications|ranking`; without them the applications as CSV, a text that
    the authorization matrix reads for leaks as it reads every page."""
    call = policies.call_for_admin(call_id, current_user)
    fmt, what = request.args.get("format", "csv"), request.args.get("what", "applications")
    if fmt not in exports.FORMATS or what not in exports.WHATS:
        abort(404)
    try:
        result = exports.export(call, current_user, fmt, what, current_lang())
    except Refused as refused:
        flash(refused.message, "error")
        return redirect(url_for(".ranking" if what == "ranking" else ".call", call_id=call.id))
    name = secure_filename(result.filename) or "export"
    return Response(result.content, mimetype=result.mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
