"""An application's (and its grant's) timeline, for the call's admins and auditors."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from app import policies
from app.services import timeline
from app.views.admin import bp
from app.views.common import current_lang


@bp.get("/applications/<int:application_id>/timeline")
def application_timeline(application_id):
    application = policies.application_for(application_id, current_user)
    return render_template("admin/timeline.html", application=application,
                           entries=timeline.grant_timeline(application, current_user, current_lang()))
