"""Assigning evaluators, conflicts of interest, reviews and their scores (DESIGN 2.3)."""
from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import formatting
from app.errors import Refused
from app.extensions import db
from app.i18n import N_
from app.models import Application, Assignment, ConflictOfInterest, Score, User
from app.services import audit, jobs, scoring
from app.services.organisations import conflict_by_domain
from app.services.registry import effect, guard, targets
from workflows.call import CALL

LIVE = ("assigned", "accepted", "submitted")
# What an evaluator declares, translated where it is shown and stored in the language they read it in.
DECLARATION = N_("I declare that I have no conflict of interest with this application, its organisation or its "
                 "people, and that I will keep its content confidential.")


def conflict_reason(evaluator: User, application: Application) -> str | None:
    if evaluator.organisation_id and evaluator.organisation_id == application.organisation_id:
        return _("The evaluator belongs to the applicant organisation.")
    if conflict_by_domain(evaluator, application.organisation):
        return _("The evaluator's e-mail domain is the organisation's own.")
    declared = db.session.scalar(select(ConflictOfInterest.id).where(
        ConflictOfInterest.evaluator_id == evaluator.id,
        ConflictOfInterest.organisation_id == application.organisation_id))
    if declared:
        return _("A conflict of interest is recorded for this evaluator and organisation.")
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
    reason = conflict_reason(evaluator, application)
    if reason:
        raise Refused(reason)
    now = now or clock.now()
    assignment = Assignment(application_id=application.id, evaluator_id=evaluator.id, status="assigned",
                            assigned_at=now, review_due_at=now + timedelta(days=application.call.review_days))
    db.session.add(assignment)
    db.session.flush()
    audit.record("assignment", assignment.id, "assign", None, "assigned", actor.id if actor else None,
                 data={"application": application.id, "evaluator": evaluator.id})
    jobs.notify(evaluator, "assigned", N_("New application to evaluate: %(number)s"),
                entity_type="assignment", entity_id=assignment.id, number=application.number,
                due=formatting.moment(assignment.review_due_at, evaluator.language))
    return assignment


def live_count(application: Application) -> int:
    return db.session.scalar(select(func.count(Assignment.id)).where(
        Assignment.application_id == application.id, Assignment.status.in_(LIVE)))


def needed(application: Application) -> int:
    return application.call.evaluators_per_application + (1 if application.divergent else 0)


def auto_assign(application: Application, actor: User | None) -> list[Assignment]:
    """Fill the application up to its required evaluators, least-loaded evaluators first, never conflicted."""
    made = []
    load = dict(db.session.execute(select(Assignment.evaluator_id, func.count(Assignment.id))
                                   .where(Assignment.status.in_(LIVE)).group_by(Assignment.evaluator_id)).all())
    evaluators = db.session.scalars(select(User).where(User.role == "evaluator", User.active)
                                    .order_by(User.id)).all()
    for evaluator in sorted(evaluators, key=lambda e: (load.get(e.id, 0), e.id)):
        if live_count(application) >= needed(application):
            break
        if conflict_reason(evaluator, application) is None:
            made.append(assign(application, evaluator, actor))
    return made


def save_scores(assignment: Assignment, actor: User, scores: dict[int, tuple[int | None, str]]) -> None:
    """Store the evaluator's scores (criterion id → (half points or None, comment)) without submitting."""
    if assignment.status != "accepted" or assignment.evaluator_id != actor.id:
        raise Refused(_("This review cannot be edited now."))
    criteria = {c.id: c for c in assignment.application.call.criteria}
    for criterion_id, (half_points, comment) in scores.items():
        criterion = criteria.get(criterion_id)
        if criterion is None:
            raise Refused(_("Unknown criterion."))
        if half_points is not None and (not 0 <= half_points <= criterion.max_half_points
                                        or half_points % criterion.step_half_points):
            raise Refused(_("Criterion %(code)s: the score must be from 0 to %(max)s in steps of %(step)s.",
                            code=criterion.code, max=formatting.points(criterion.max_half_points, formatting.current_lang()),
                            step=formatting.points(criterion.step_half_points, formatting.current_lang())))
    existing = {s.criterion_id: s for s in assignment.scores}
    for criterion_id, (half_points, comment) in scores.items():
        score = existing.get(criterion_id) or Score(assignment=assignment, criterion_id=criterion_id)
        score.half_points, score.comment = half_points, (comment or "").strip()
        db.session.add(score)
    db.session.flush()


@guard("scores_complete")
def _scores_complete(ctx):
    scores = {s.criterion_id: s for s in ctx.entity.scores}
    for criterion in ctx.entity.application.call.criteria:
        score = scores.get(criterion.id)
        if score is None:
            return _("Score every criterion (%(code)s is missing).", code=criterion.code)
        if criterion.comment_required and not score.comment:
            return _("Criterion %(code)s needs a comment.", code=criterion.code)
    return None


@effect("store_declaration")
def _declare(ctx):
    ctx.entity.declaration_text = ctx.data.get("declaration") or DECLARATION
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
    ctx.entity.submitted_at = ctx.now


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
