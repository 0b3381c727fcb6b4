"""The evaluator's pages: the queue, the conflict-of-interest declaration, the scoring sheet."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import case, select
from sqlalchemy.orm import selectinload

from app import policies
from app.errors import NotFound
from app.forms.reviews import ActionForm, score_sheet
from app.models import Application, Assignment
from app.services import evaluation
from app.services.workflow import fire, offers
from app.views.common import attempt, current_lang, only_role, paginate, save_then_submit

bp = Blueprint("evaluator", __name__, url_prefix="/evaluate")

DECLARATION_TRIGGERS = ("declare_no_conflict", "recuse")
ACTIVE = ("assigned", "accepted")
PAGE_SIZE = 25


bp.before_request(only_role("evaluator"))


@bp.get("/")
@login_required
def queue():
    """Every assignment except revoked ones. Of an application the evaluator is conflicted with, nothing is
    shown but the word 'recused': not its number, its call or its dates."""
    waiting_first = case((Assignment.status.in_(ACTIVE), 0), else_=1)
    page = paginate(select(Assignment).where(Assignment.evaluator_id == current_user.id,
                                             Assignment.status != "revoked")
                    .options(selectinload(Assignment.application).selectinload(Application.call))
                    .order_by(waiting_first, Assignment.review_due_at, Assignment.id), PAGE_SIZE)
    conflicted = policies.conflicted_application_ids(current_user, [a.application for a in page.items])
    rows = [(a, a.application_id in conflicted) for a in page.items]
    return render_template("evaluator/queue.html", page=page,
                           waiting=[(a, c) for a, c in rows if a.status in ACTIVE and not c],
                           done=[(a, c) for a, c in rows if a.status not in ACTIVE or c])


def _assignment(assignment_id: int) -> Assignment:
    assignment = policies.assignment_for(assignment_id, current_user)
    if policies.is_conflicted(current_user, assignment.application):
        raise NotFound()
    return assignment


def _assignment_page(found: Assignment, sheet=None, status: int = 200):
    """The one page of an assignment; what it shows depends on the assignment's state (see the template)."""
    application = found.application
    context = {"assignment": found, "application": application, "call": application.call,
               "offers": {o.trigger: o for o in offers(found, current_user) if o.trigger in DECLARATION_TRIGGERS},
               "declaration": _(evaluation.DECLARATION), "show_declared_conflicts": False}
    if found.status == "accepted":
        if sheet is None:
            sheet = score_sheet(application.call.criteria, current_lang())
            sheet.fill(found.scores)
        context["sheet"] = sheet
    elif found.status == "submitted":
        context["scores"] = {s.criterion_id: s for s in found.scores}
    return render_template("evaluator/assignment.html", **context), status


@bp.get("/assignments/<int:assignment_id>")
@login_required
def assignment(assignment_id):
    return _assignment_page(_assignment(assignment_id))


@bp.post("/assignments/<int:assignment_id>/action")
@login_required
def action(assignment_id):
    """Declare no conflict (storing the text the evaluator read, in their language), or recuse with a reason."""
    found = _assignment(assignment_id)
    form = ActionForm()
    if form.trigger.data not in DECLARATION_TRIGGERS:
        abort(400)
    if not form.validate():
        if not form.note.errors:
            abort(400)
        flash(str(form.note.errors[0]), "error")  # the reason is too long, or holds a character we cannot store
        return redirect(url_for(".assignment", assignment_id=assignment_id))
    trigger = form.trigger.data
    if trigger == "declare_no_conflict":
        if attempt(lambda: fire(found, trigger, current_user, declaration=_(evaluation.DECLARATION)),
                   _("Declaration recorded. You can now read and score the application.")):
            return redirect(url_for(".assignment", assignment_id=assignment_id))
    elif attempt(lambda: fire(found, trigger, current_user, form.note.data),
                 _("You have recused yourself from this application. Another evaluator will be assigned.")):
        return redirect(url_for(".queue"))
    return redirect(url_for(".assignment", assignment_id=assignment_id))


def _parsed_sheet(found: Assignment):
    """The scoring sheet from the request, and whether it is valid (an invalid one is shown again, unsaved)."""
    sheet = score_sheet(found.application.call.criteria, current_lang())
    return sheet, sheet.validate()


def _invalid(found: Assignment, sheet):
    flash(_("Some scores or comments are not valid; nothing was saved."), "error")
    return _assignment_page(found, sheet, 400)


@bp.post("/assignments/<int:assignment_id>/save")
@login_required
def save(assignment_id):
    found = _assignment(assignment_id)
    sheet, valid = _parsed_sheet(found)
    if not valid:
        return _invalid(found, sheet)
    attempt(lambda: evaluation.save_scores(found, current_user, sheet.scores()),
            _("Scores saved. You can come back and change them until you submit."))
    return redirect(url_for(".assignment", assignment_id=assignment_id))


@bp.post("/assignments/<int:assignment_id>/submit")
@login_required
def submit(assignment_id):
    """Save the sheet, then submit the review. If submission is refused, the saved scores stay saved. Submitting is
    for good: first a page that asks, whose button posts the same sheet again with confirmed=1."""
    found = _assignment(assignment_id)
    sheet, valid = _parsed_sheet(found)
    if not valid:
        return _invalid(found, sheet)
    return save_then_submit(
        found, "submit_review", save=lambda: evaluation.save_scores(found, current_user, sheet.scores()),
        submit=lambda: fire(found, "submit_review", current_user), done=_("Your review is submitted. Thank you."),
        back=url_for(".assignment", assignment_id=assignment_id), then=url_for(".queue"),
        kept=_("Your scores are saved, but the review is not submitted yet."))
