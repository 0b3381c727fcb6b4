"""Re-checking a call's result: the ranking recomputed from what is stored, beside the protocol, the published
decisions and the hashes (app/services/verification.py). Admins and auditors read it; it changes nothing."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from app import policies
from app.services import verification
from app.services.workflow import effective_status
from app.views.admin import bp


@bp.get("/calls/<int:call_id>/verification", endpoint="verification")
def verification_page(call_id):
    call = policies.call_for_admin(call_id, current_user)
    return render_template("admin/verification.html", call=call, status=effective_status(call),
                           result=verification.verify(call))
