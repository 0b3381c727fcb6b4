"""The programme administrator's pages: calls, applications, checks, assignments, ranking, grants, reports.

One blueprint, its views split by stage: `calls` (a call's definition and steps), `applications` (the call's
applications, one application, its checks and assignments), `ranking`, `money` (payments, recoveries, reports),
`payments` (the payments due, their CSV and SEPA bank batches),
`exports` (a call's CSV, XLSX and 360Giving files).
This module holds the blueprint, the staff gate and the small helpers the stages share; no view module imports
another.

Every view is thin: load through `policies` (404 outside the admin's organisers, 403 to act without the right),
parse a form, call one service function, commit, flash, redirect. Auditors read every page in scope and change
nothing: the blueprint refuses them every POST before any view runs. States change only through the services
and `workflow.fire`.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import policies
from app.extensions import db
from app.models import Application, Organiser
from app.views.common import current_lang
from workflows.engine import WORKFLOWS

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50
STAFF = ("admin", "auditor")
READ_METHODS = ("GET", "HEAD", "OPTIONS")


@bp.before_request
@login_required
def staff_only():
    if current_user.role not in STAFF:
        abort(403)
    if request.method not in READ_METHODS and current_user.role != "admin":
        abort(403)


# --- small helpers ----------------------------------------------------------------------------------------------

def _trigger_name(workflow: str, trigger: str) -> str:
    return WORKFLOWS[workflow].trigger_label(trigger, current_lang())


def _flash_errors(form) -> None:
    for name, errors in form.errors.items():
        label = form[name].label.text if name and name in form and form[name].label.text else ""
        for error in errors:
            flash(f"{label}: {error}" if label else str(error), "error")


def _organisers() -> list[Organiser]:
    if current_user.programme_level:
        return db.session.scalars(select(Organiser).order_by(Organiser.name)).all()
    return sorted(current_user.organisers, key=lambda o: o.name)


def _owned(model, entity_id: int):
    """A payment, recovery or assignment, with the application it belongs to, for an admin who may act on it."""
    entity = db.session.get(model, entity_id)
    if entity is None:
        abort(404)
    return entity, policies.application_for(entity.application_id, current_user, write=True)


def _document_url(document_id: int | None) -> str | None:
    return url_for("public.document", document_id=document_id) if document_id else None


def _redirect_to_application(application: Application, anchor: str | None = None):
    return redirect(url_for(".application", application_id=application.id, _anchor=anchor))


# The views register themselves on `bp` when imported (after `bp` and the helpers above exist).
from app.views.admin import applications, calls, evaluators, exports, money, ranking  # noqa: E402,F401
from app.views.admin import verification  # noqa: E402,F401
from app.views.admin import assignment  # noqa: E402,F401
from app.views.admin import dashboard, timeline  # noqa: E402,F401
from app.views.admin import payments  # noqa: E402,F401
from app.views.admin import outbox  # noqa: E402,F401
