"""The outbox: what became of every e-mail about the admin's calls (pending, retrying, failed, sent), and sending a
failed one again once its server is back."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import policies
from app.errors import Refused
from app.extensions import db
from app.services import jobs
from app.views.admin import bp


@bp.get("/messages")
def outbox():
    state = request.args.get("state")
    state = state if state in jobs.OUTBOX_STATES else None
    rows, counts = jobs.outbox(policies.outgoing_messages_filter(current_user), state)
    return render_template("admin/outbox.html", rows=rows, counts=counts, state=state,
                           max_attempts=jobs.MAX_ATTEMPTS)


@bp.post("/messages/<int:message_id>/send-again")
def send_again(message_id):
    message = policies.outgoing_message_for(message_id, current_user)
    try:
        jobs.send_again(message)
    except Refused as refused:
        flash(refused.message, "error")
    else:
        db.session.commit()
        flash(_("The message will be sent again: to %(email)s.", email=message.recipient), "success")
    return redirect(url_for(".outbox", state=request.args.get("state")))
