"""A whole call's assignment in one step (preview, change, confirm) and its review progress (issue 7).

The plan is never stored between requests: the preview form carries its pairs, and every post is validated again
in full by app/services/assignment_plans.py against the database as it is then.
"""
from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock, policies
from app.extensions import db
from app.models import User
from app.services import assignment_plans
from app.services import review_progress as progress_service
from app.views.admin import bp
from app.views.common import attempt, current_lang

ASSIGNING = ("closed", "evaluation")  # the call's states in which its applications are assigned
_PAIR = re.compile(r"([0-9]{1,12}):([0-9]{1,12})")
_ID = re.compile(r"[0-9]{1,12}")


def _posted_pairs() -> list[tuple[int, int]]:
    """The pairs the preview form sends: the kept ones ("pair" = "application:evaluator") and one added evaluator
    per application ("add-<application>" = evaluator). Anything malformed is not a pair."""
    pairs = [(int(m.group(1)), int(m.group(2))) for value in request.form.getlist("pair")
             if (m := _PAIR.fullmatch(value))]
    for name, value in request.form.items(multi=True):
        application = name.removeprefix("add-")
        if name.startswith("add-") and _ID.fullmatch(application) and _ID.fullmatch(value):
            pairs.append((int(application), int(value)))
    return pairs


def _page(call, proposal, *, revised: bool):
    return render_template("admin/assignment_plan.html", call=call, proposal=proposal, revised=revised,
                           assigning=call.status in ASSIGNING, may_act=policies.administers(current_user, call))


@bp.route("/calls/<int:call_id>/assignment-plan", methods=["GET", "POST"])
def assignment_plan(call_id):
    """GET: the optimal plan for the call now (nothing is written). POST: the admin's changes, shown again
    validated ("Check the changes"), or confirmed: first the page that asks, then every pair assigned in one
    transaction."""
    call = policies.call_for_admin(call_id, current_user, write=request.method == "POST")
    if request.method == "GET":
        return _page(call, assignment_plans.propose(call), revised=False)
    if request.files:
        abort(400)  # the plan's form has no file field: a multipart upload is not a plan
    pairs = _posted_pairs()
    proposal = assignment_plans.revise(call, pairs)
    if request.form.get("action") != "confirm":
        return _page(call, proposal, revised=True)
    if call.status not in ASSIGNING:
        flash(_("Applications are assigned while the call is closed or in evaluation."), "error")
        return _page(call, proposal, revised=True)
    if proposal.problems or not proposal.pairs:
        flash(_("The plan cannot be confirmed as it is: see the problems listed."), "error")
        return _page(call, proposal, revised=True)
    if request.form.get("confirmed") != "1":
        fields = [("pair", f"{a}:{e}") for a, e in proposal.pairs] + [("action", "confirm")]
        return render_template("confirm.html", workflow="call", trigger="assign_whole_call",
                               subject=f"{call.code} · {call.title(current_lang())}", fields=fields,
                               label=_("Assign the whole call"), action=request.path,
                               back=url_for(".assignment_plan", call_id=call.id), note=None)
    count = len(proposal.pairs)
    if attempt(lambda: assignment_plans.confirm(call, proposal.pairs, current_user),
               _("%(count)s assignments are made; the evaluators are told.", count=count)):
        return redirect(url_for(".review_progress", call_id=call.id))
    db.session.expire_all()
    return _page(call, assignment_plans.revise(call, pairs), revised=True)


@bp.get("/calls/<int:call_id>/progress")
def review_progress(call_id):
    call = policies.call_for_admin(call_id, current_user)
    now = clock.now()
    people, applications = progress_service.progress(call, now)
    return render_template("admin/assignment_progress.html", call=call, people=people, applications=applications,
                           now=now, may_act=policies.administers(current_user, call))


@bp.post("/calls/<int:call_id>/progress/remind")
def remind_evaluator(call_id):
    call = policies.call_for_admin(call_id, current_user, write=True)
    value = request.form.get("evaluator_id", "")
    evaluator = db.session.get(User, int(value)) if _ID.fullmatch(value) else None
    if evaluator is None or evaluator.role != "evaluator":
        flash(_("Choose an evaluator."), "error")
    else:
        attempt(lambda: progress_service.remind(call, evaluator, clock.now()),
                _("A reminder is sent to %(name)s.", name=evaluator.name))
    return redirect(url_for(".review_progress", call_id=call.id))
