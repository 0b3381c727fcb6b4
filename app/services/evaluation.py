"""Assigning evaluators, conflicts of interest, reviews and their scores (DESIGN 2.3)."""
from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import formatting
from app.errors import Refused
from app.extensions import db
from app.models import Application, Assignment, ConflictOfInterest, Score, User
from app.services import audit, conflicts, evaluators, jobs, scoring
from app.services.registry import effect, guard, targets  # noqa: F401
from workflows.call import CALL

LIVE = ("assigned", "accepted", "submitted")
# What an evaluator declares, translated where it is shown and stored in the language they read it in.
DECLARATION = _l("I declare that I have no conflict of interest with this application, its organisation or its "
                 "people, and that I will keep its content confidential.")


def conflict_reason(evaluator: User, application: Application) -> str | None:
    """Why the evaluator may not be assigned the application: a known conflict (app/services/conflicts.py, the
    rules' one home, which app/policies.py `is_conflicted` reads too), or they have (had) it already."""
    known = conflicts.reason(evaluator, application)
    if known:
        return known
    if db.session.scalar(select(Assignment.id).where(Assignment.application_id == application.id,
                                                     Assignment.evaluator_id == evaluator.id)):
        return _("This evaluator already has (or had) this application.")
    return None


def assign(application: Application, evaluator: User, actor: User | None, now=None) -> Assignment:
    from app import clock

    if application.status not in ("eligible", "in_review"):
        raise Refused(_("Only eligible applications are assigned to evaluators."))
    if evaluator.role != "evaluator":
        raise Refused(_("Choose an evaluator."))
    if not evaluators.in_pool(evaluator, application.call):
        raise Refused(_("This evaluator is inactive or does not serve this call."))
    reason = conflict_reason(evaluator, application)
    if reason:
        raise Refused(reason)
    maximum = application.call.max_assignments_per_evaluator
    if maximum is not None and _load_in_call(evaluator, application.call_id) >= maximum:
        raise Refused(_("%(name)s already holds %(maximum)s applications of this call, its maximum per evaluator.",
                        name=evaluator.name, maximum=maximum))
    now = now or clock.now()
    assignment = Assignment(application_id=application.id, evaluator_id=evaluator.id, status="assigned",
                            assigned_at=now, review_due_at=now + timedelta(days=application.call.review_days))
    db.session.add(assignment)
    db.session.flush()
    audit.record("assignment", assignment.id, "assign", None, "assigned", actor.id if actor else None,
                 data={"application": application.id, "evaluator": evaluator.id})
    jobs.notify(evaluator, "assigned", _l("New application to evaluate: %(number)s"),
                entity_type="assignment", entity_id=assignment.id, number=application.number,
                due=formatting.moment(assignment.review_due_at, evaluator.language))
    return assignment


def _load_in_call(evaluator: User, call_id: int) -> int:
    """The evaluator's live assignments of the call's applications (what the call's maximum counts)."""
    return db.session.scalar(select(func.count(Assignment.id))
                             .join(Application, Application.id == Assignment.application_id)
                             .where(Assignment.evaluator_id == evaluator.id, Application.call_id == call_id,
                                    Assignment.status.in_(LIVE)))


def live_count(application: Application) -> int:
    return db.session.scalar(select(func.count(Assignment.id)).where(
        Assignment.application_id == application.id, Assignment.status.in_(LIVE)))


def needed(application: Application) -> int:
    return application.call.evaluators_per_application + (1 if application.divergent else 0)


def auto_assign(application: Application, actor: User | None) -> list[Assignment]:
    """Fill the application up to its required evaluators: the optimal choice for it among the call's pool, the
    least loaded in the call first, never conflicted, never above the call's maximum (app/services/assignment_plans.py
    `fill`, the same solver as the whole-call plan)."""
    from app.services import assignment_plans

    made, _short = assignment_plans.fill(application, actor)
    return made


def save_scores(assignment: Assignment, actor: User, scores: dict[int, tuple[int | None, str]],
                cleared=()) -> None:
    """Store the evaluator's scores (criterion id → (half points or None for not applicable, comment)) without
    submitting; the criteria in `cleared` lose their stored score. All or nothing: one score off its scale
    refuses the whole save (a draft may be incomplete, never invalid)."""
    from app.services.reviews import score_problem

    if assignment.status != "accepted" or assignment.evaluator_id != actor.id:
        raise Refused(_("This review cannot be edited now."))
    criteria = {c.id: c for c in assignment.application.call.criteria}
    for criterion_id, (half_points, comment) in scores.items():
        criterion = criteria.get(criterion_id)
        if criterion is None:
            raise Refused(_("Unknown criterion."))
        problem = score_problem(criterion, half_points)
        if problem:
            raise Refused(problem)
    existing = {s.criterion_id: s for s in assignment.scores}
    for criterion_id, (half_points, comment) in scores.items():
        score = existing.get(criterion_id) or Score(assignment=assignment, criterion_id=criterion_id)
        score.half_points, score.comment = half_points, (comment or "").strip()
        db.session.add(score)
    for criterion_id in cleared:
        if criterion_id in existing and criterion_id not in scores:
            assignment.scores.remove(existing[criterion_id])
    db.session.flush()


# the guard "scores_complete" (every missing score and comment at once) is in app/services/reviews.py


@effect("store_declaration")
def _declare(ctx):
    ctx.entity.declaration_text = ctx.data.get("declaration") or str(DECLARATION)
    ctx.entity.declared_at = ctx.now


@effect("record_conflict")
def _record_conflict(ctx):
    assignment = ctx.entity
    assignment.reason = ctx.note
    db.session.add(ConflictOfInterest(evaluator_id=assignment.evaluator_id,
                                      organisation_id=assignment.application.organisation_id,
                                      source="evaluator" if ctx.trigger == "recuse" else "admin", note=ctx.note or ""))


@effect("replace_evaluator")
def _replace(ctx):
    ctx.entity.reason = ctx.note
    db.session.flush()
    auto_assign(ctx.entity.application, None)


@effect("stamp_review")
def _stamp(ctx):
    """The submission time, and the SHA-256 of the scores and comments as submitted, written into the
    `submit_review` event (its data): `audit.verify` then finds a score edited afterwards."""
    ctx.entity.submitted_at = ctx.now
    db.session.flush()  # the scores saved in this transaction are hashed as stored
    ctx.data["scores_sha256"] = audit.scores_sha256([ctx.entity.id])[ctx.entity.id]


@effect("unstamp_review")
def _unstamp(ctx):
    ctx.entity.submitted_at = None
    ctx.entity.reason = ctx.note


@effect("flag_divergence")
def _flag_divergence(ctx):
    db.session.flush()
    application = ctx.entity.application
    if not application.divergent and scoring.is_divergent(application):
        application.divergent = True
        db.session.flush()
        auto_assign(application, None)


def submitted_count(application: Application) -> int:
    return db.session.scalar(select(func.count(Assignment.id)).where(
        Assignment.application_id == application.id, Assignment.status == "submitted"))


@targets("application_once_late_reviews_are_in")
def _late_reviews_in(ctx):
    """The last review submitted after evaluation finished (a replacement, a reopened one): its application is
    reviewed. During evaluation the admin's finish_evaluation completes them all."""
    application = ctx.entity.application
    past_evaluation = application.call.status in CALL.groups["evaluation_finished"]
    if past_evaluation and application.status == "in_review" and submitted_count(application) >= needed(application):
        return [application]
    return []
