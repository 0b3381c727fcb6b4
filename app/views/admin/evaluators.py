"""The evaluators: the list with their load, one evaluator (affiliations, calls served, active or not), inviting one;
and a call's conflict register. Admins of the evaluator's organisers act; auditors read (the blueprint refuses them
every POST)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import policies
from app.services import conflicts, evaluators
from app.views.admin import PER_PAGE, bp
from app.views.common import attempt, paginate


def _int(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


@bp.get("/evaluators", endpoint="evaluators")
def evaluators_page():
    page = paginate(evaluators.list_query(current_user), PER_PAGE)
    return render_template("admin/evaluators.html", page=page,
                           **evaluators.list_context(page.items, current_user))


@bp.post("/evaluators/invite", endpoint="invite_evaluator")
def invite_evaluator():
    form = request.form
    made = []
    if attempt(lambda: made.append(evaluators.invite(current_user, name=form.get("name", ""),
                                                     email=form.get("email", ""),
                                                     language=form.get("language", "lv"))),
               lambda: _("%(email)s is invited: the e-mail with the link to set a password is on its way.",
                         email=made[0].email)):
        return redirect(url_for(".evaluator", evaluator_id=made[0].id))
    return redirect(url_for(".evaluators"))


@bp.get("/evaluators/<int:evaluator_id>", endpoint="evaluator")
def evaluator_page(evaluator_id):
    evaluator = policies.evaluator_for(evaluator_id, current_user)
    return render_template("admin/evaluator.html", **evaluators.evaluator_context(evaluator, current_user))


def _back(evaluator, anchor=None):
    return redirect(url_for(".evaluator", evaluator_id=evaluator.id, _anchor=anchor))


@bp.post("/evaluators/<int:evaluator_id>/invitation", endpoint="resend_invitation")
def resend_invitation(evaluator_id):
    evaluator = policies.evaluator_for(evaluator_id, current_user, write=True)
    attempt(lambda: evaluators.send_invitation(evaluator, current_user), _("The invitation is sent again."))
    return _back(evaluator)


@bp.post("/evaluators/<int:evaluator_id>/affiliations", endpoint="add_affiliation")
def add_affiliation(evaluator_id):
    evaluator = policies.evaluator_for(evaluator_id, current_user, write=True)
    form = request.form
    attempt(lambda: evaluators.add_affiliation(evaluator, current_user, kind=form.get("kind", ""),
                                               organisation_id=_int(form.get("organisation_id")),
                                               domain=form.get("domain", ""), text=form.get("text", "")),
            _("The affiliation is recorded."))
    return _back(evaluator, "affiliations")


@bp.post("/evaluators/<int:evaluator_id>/affiliations/<int:affiliation_id>/remove", endpoint="remove_affiliation")
def remove_affiliation(evaluator_id, affiliation_id):
    evaluator = policies.evaluator_for(evaluator_id, current_user, write=True)
    attempt(lambda: evaluators.remove_affiliation(evaluator, current_user, affiliation_id),
            _("The affiliation is removed."))
    return _back(evaluator, "affiliations")


@bp.post("/evaluators/<int:evaluator_id>/calls", endpoint="serve_call")
def serve_call(evaluator_id):
    evaluator = policies.evaluator_for(evaluator_id, current_user, write=True)
    call_id = _int(request.form.get("call_id"))
    if call_id is None:
        flash(_("Choose a call."), "error")
        return _back(evaluator, "calls")
    call = policies.call_for_admin(call_id, current_user, write=True)
    attempt(lambda: evaluators.serve(evaluator, call, current_user),
            _("%(name)s serves %(code)s.", name=evaluator.name, code=call.code))
    return _back(evaluator, "calls")


@bp.post("/evaluators/<int:evaluator_id>/calls/<int:call_id>/remove", endpoint="unserve_call")
def unserve_call(evaluator_id, call_id):
    evaluator = policies.evaluator_for(evaluator_id, current_user, write=True)
    call = policies.call_for_admin(call_id, current_user, write=True)
    attempt(lambda: evaluators.unserve(evaluator, call, current_user),
            _("%(name)s no longer serves %(code)s.", name=evaluator.name, code=call.code))
    return _back(evaluator, "calls")


@bp.post("/evaluators/<int:evaluator_id>/active", endpoint="evaluator_active")
def evaluator_active(evaluator_id):
    evaluator = policies.evaluator_for(evaluator_id, current_user, write=True)
    action = request.form.get("action")
    if action == "deactivate":
        attempt(lambda: evaluators.deactivate(evaluator, current_user),
                _("%(name)s is deactivated: no more logins nor assignments. Reassign the reviews listed below.",
                  name=evaluator.name))
    elif action == "reactivate":
        attempt(lambda: evaluators.reactivate(evaluator, current_user),
                _("%(name)s is active again.", name=evaluator.name))
    else:
        flash(_("Choose what to do."), "error")
    return _back(evaluator)


@bp.get("/calls/<int:call_id>/conflicts", endpoint="call_conflicts")
def call_conflicts(call_id):
    call = policies.call_for_admin(call_id, current_user)
    return render_template("admin/conflicts.html", call=call, rows=conflicts.conflict_register(call))
