"""The evaluator's pages: the queue, the conflict-of-interest declaration, the scoring sheet."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import case, select
from sqlalchemy.orm import selectinload

from app import policies
from app.errors import NotFound
from app.forms.reviews import ActionForm, ConsensusNoteForm, score_sheet
from app.models import Application, Assignment
from app.services import evaluation, reviews
from app.services.workflow import fire, offers
from app.views.common import attempt, confirmed, current_lang, only_role, paginate

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


def _assignment_page(found: Assignment, sheet=None, status: int = 200, missing=()):
    """The one page of an assignment; what it shows depends on the assignment's state (see the template)."""
    application = found.application
    context = {"assignment": found, "application": application, "call": application.call,
               "offers": {o.trigger: o for o in offers(found, current_user) if o.trigger in DECLARATION_TRIGGERS},
               "declaration": str(evaluation.DECLARATION), "show_declared_conflicts": False}
    if found.status == "accepted":
        if sheet is None:
            sheet = score_sheet(application.call.criteria, current_lang(), formdata=None)
            sheet.fill(found.scores)
        context.update(sheet=sheet, missing=missing, result=reviews.sheet_result(application.call, sheet.values()))
    elif found.status == "submitted":
        context.update(scores={s.criterion_id: s for s in found.scores}, others=reviews.other_reviews(found),
                       result=reviews.sheet_result(application.call, {s.criterion_id: s.half_points
                                                                      for s in found.scores}))
        if reviews.others_visible(found):
            context.update(notes=reviews.consensus_notes(application),
                           note_form=(ConsensusNoteForm(formdata=None)
                                      if reviews.may_write_consensus_note(found, current_user) else None))
    return render_template("evaluator/assignment.html", **context), status


@bp.get("/assignments/<int:assignment_id>")
@login_required
def assignment(assignment_id):
    """`?check=1` (where a refused submit leads): with everything still missing for submitting, listed."""
    found = _assignment(assignment_id)
    check = request.args.get("check") == "1" and found.status == "accepted"
    return _assignment_page(found, missing=reviews.missing_items(found) if check else ())


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
        if attempt(lambda: fire(found, trigger, current_user, declaration=str(evaluation.DECLARATION)),
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


def _save(found: Assignment, sheet):
    """Store the sheet as typed (blank scores taken back); a comment without a score is said to be not kept."""
    evaluation.save_scores(found, current_user, sheet.scores(), cleared=sheet.cleared())
    for criterion in sheet.unsaved_comments():
        flash(_("Criterion %(code)s: a comment is kept only with a score or “not applicable”.", code=criterion.code),
              "warning")


@bp.post("/assignments/<int:assignment_id>/save")
@login_required
def save(assignment_id):
    """A draft may be incomplete, never invalid: a score off its scale refuses the whole save, and the page shows
    everything as typed with a message at each bad value."""
    found = _assignment(assignment_id)
    sheet, valid = _parsed_sheet(found)
    if not valid:
        return _invalid(found, sheet)
    attempt(lambda: _save(found, sheet), _("Scores saved. You can come back and change them until you submit."))
    return redirect(url_for(".assignment", assignment_id=assignment_id))


@bp.post("/assignments/<int:assignment_id>/submit")
@login_required
def submit(assignment_id):
    """Save the sheet, then submit the review. What is still missing is listed on the page it leads back to, every
    item at once, each linked to its field, and the saved scores stay saved. Submitting is for good: first a page that asks, whose button posts
    the same sheet again with confirmed=1."""
    found = _assignment(assignment_id)
    sheet, valid = _parsed_sheet(found)
    if not valid:
        return _invalid(found, sheet)
    back = url_for(".assignment", assignment_id=assignment_id)
    if not attempt(lambda: _save(found, sheet)):
        return redirect(back)
    kept = _("Your scores are saved, but the review is not submitted yet.")
    if reviews.missing_items(found):  # listed on the page, every one, from what is now stored
        flash(kept, "info")
        return redirect(url_for(".assignment", assignment_id=assignment_id, check=1, _anchor="sheet-missing"))
    asked = confirmed(found, "submit_review", back=back)
    if asked is not None:
        return asked
    if attempt(lambda: fire(found, "submit_review", current_user), _("Your review is submitted. Thank you.")):
        return redirect(url_for(".queue"))
    flash(kept, "info")
    return redirect(back)


@bp.post("/assignments/<int:assignment_id>/consensus-note")
@login_required
def consensus_note(assignment_id):
    """A consensus note on the application, once the evaluator's own review is in (if the call allows)."""
    found = _assignment(assignment_id)
    form = ConsensusNoteForm()
    if not form.validate():
        for errors in form.errors.values():
            flash(str(errors[0]), "error")
    else:
        attempt(lambda: reviews.add_consensus_note(found, current_user, form.text.data),
                _("Your consensus note is recorded."))
    return redirect(url_for(".assignment", assignment_id=assignment_id, _anchor="consensus"))
