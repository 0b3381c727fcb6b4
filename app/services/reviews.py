"""The score sheet's rules (DESIGN 2.3, 3): a score's scale, what is missing before a review can be submitted, the
running total and pass state of one review, the others' scores after one's own, consensus notes, reopening.

The total and the pass state come from `app.ranking` through `app.services.scoring`, the same functions that rank
the call: the sheet never has a rule of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import formatting, ranking
from app.errors import Refused
from app.extensions import db
from app.models import Application, Assignment, Call, ConsensusNote, Criterion, User
from app.services import audit, jobs, scoring
from app.services.registry import effect, guard

CONSENSUS_NOTE_MAX = 4000
# A consensus note is written while the ranking can still follow it: in evaluation, or ranking before it is confirmed.
NOTE_STATES = ("evaluation", "ranking")


# --- one score, and what is missing ------------------------------------------------------------------------------

def score_problem(criterion: Criterion, half_points: int | None) -> str | None:
    """Why `half_points` is not a score of `criterion` (None: not applicable, always allowed), or None."""
    if half_points is None:
        return None
    if 0 <= half_points <= criterion.max_half_points and half_points % criterion.step_half_points == 0:
        return None
    return scale_message(criterion)


def scale_message(criterion: Criterion) -> str:
    """What a score of `criterion` must be, as the message for one that is not."""
    lang = formatting.current_lang()
    return _("Criterion %(code)s: the score must be from 0 to %(max)s in steps of %(step)s.",
             code=criterion.code, max=formatting.points(criterion.max_half_points, lang),
             step=formatting.points(criterion.step_half_points, lang))


@dataclass(frozen=True)
class Missing:
    criterion: Criterion
    fields: tuple[str, ...]  # "score", "comment": the sheet marks them and links to the first, `<field>_<id>`
    message: str

    @property
    def field(self) -> str:
        return self.fields[0]

    @property
    def on_score(self) -> bool:
        return "score" in self.fields

    @property
    def on_comment(self) -> bool:
        return "comment" in self.fields


def missing_items(assignment: Assignment) -> list[Missing]:
    """Everything that stops the review from being submitted, every criterion at once, in the call's order: one
    item per criterion, naming its score, its required comment or both."""
    scores = {s.criterion_id: s for s in assignment.scores}
    missing = []
    for criterion in assignment.application.call.criteria:
        score = scores.get(criterion.id)
        no_comment = criterion.comment_required and not (score and score.comment)
        if score is None and no_comment:
            missing.append(Missing(criterion, ("score", "comment"),
                                   _("Criterion %(code)s has no score and no comment.", code=criterion.code)))
        elif score is None:
            missing.append(Missing(criterion, ("score",), _("Criterion %(code)s has no score.", code=criterion.code)))
        elif no_comment:
            missing.append(Missing(criterion, ("comment",),
                                   _("Criterion %(code)s needs a comment.", code=criterion.code)))
    return missing


@guard("scores_complete")
def _scores_complete(ctx):
    missing = missing_items(ctx.entity)
    return " ".join(m.message for m in missing) if missing else None


# --- the running total and the pass state ------------------------------------------------------------------------

@dataclass(frozen=True)
class SheetResult:
    total: Fraction  # half points
    maximum: int  # half points
    pass_mark: int  # half points
    scored: int  # criteria scored or marked not applicable
    criteria: int
    passed: bool
    failures: tuple[str, ...]  # in words, in the reader's language

    @property
    def complete(self) -> bool:
        return self.scored == self.criteria


def sheet_result(call: Call, values: dict[int, int | None]) -> SheetResult:
    """One review's total and pass state from its scores (criterion id → half points, None = not applicable;
    a criterion absent is not scored yet), by the ranking's own rule (`ranking.pass_failures`)."""
    from app.services.protocols import failure_words

    code_of = {c.id: c.code for c in call.criteria}
    review = ranking.Review(review_id=0, scores={code_of[i]: v for i, v in values.items() if i in code_of})
    criteria, rules = scoring.criteria_of(call), scoring.rules_of(call)
    agg = ranking.aggregate((review,), criteria, rules)
    failures = ranking.pass_failures(agg, criteria, rules)
    return SheetResult(total=agg.total, maximum=sum(c.max_half_points for c in call.criteria),
                       pass_mark=call.pass_mark_half_points, scored=len(review.scores), criteria=len(code_of),
                       passed=not failures, failures=tuple(failure_words(f, call) for f in failures))


# --- after one's own review: the others' scores and the consensus notes ------------------------------------------

def others_visible(assignment: Assignment) -> bool:
    """An evaluator sees the other evaluators' scores only after submitting their own, and only if the call says so.
    Before that, nothing of them reaches any page: blind scoring."""
    return assignment.status == "submitted" and assignment.application.call.show_scores_after_review


def other_reviews(assignment: Assignment) -> list[Assignment]:
    """The other evaluators' submitted reviews of the same application, when `others_visible`; else none."""
    if not others_visible(assignment):
        return []
    return list(db.session.scalars(
        select(Assignment).where(Assignment.application_id == assignment.application_id,
                                 Assignment.id != assignment.id, Assignment.status == "submitted")
        .options(selectinload(Assignment.scores)).order_by(Assignment.submitted_at, Assignment.id)))


def consensus_notes(application: Application) -> list[ConsensusNote]:
    return list(db.session.scalars(select(ConsensusNote).where(ConsensusNote.application_id == application.id)
                                   .options(selectinload(ConsensusNote.author))
                                   .order_by(ConsensusNote.created_at, ConsensusNote.id)))


def notes_of_call(call: Call) -> list[tuple[Application, list[ConsensusNote]]]:
    """The consensus notes of a call's applications, by application number, for the ranking page."""
    notes = db.session.scalars(select(ConsensusNote).join(Application, Application.id == ConsensusNote.application_id)
                               .where(Application.call_id == call.id)
                               .options(selectinload(ConsensusNote.author))
                               .order_by(Application.number, ConsensusNote.created_at, ConsensusNote.id)).all()
    grouped: dict[int, list[ConsensusNote]] = {}
    for note in notes:
        grouped.setdefault(note.application_id, []).append(note)
    applications = {a.id: a for a in db.session.scalars(select(Application).where(Application.id.in_(grouped or [-1])))}
    return [(applications[i], grouped[i]) for i in grouped]


def may_write_consensus_note(assignment: Assignment, user: User) -> bool:
    return (assignment.evaluator_id == user.id and others_visible(assignment)
            and assignment.application.call.status in NOTE_STATES
            and scoring_open(assignment.application.call))


def scoring_open(call: Call) -> bool:
    """Reviews may still change: the call is in evaluation, or ranking before the ranking is confirmed."""
    from app.services.calls import latest_protocol

    return call.status in NOTE_STATES and latest_protocol(call) is None


def add_consensus_note(assignment: Assignment, actor: User, text: str) -> ConsensusNote:
    """A note on the application by one of its evaluators, after their own review; audited on the application."""
    from app.services.workflow import lock

    text = (text or "").strip()
    if not may_write_consensus_note(assignment, actor):
        raise Refused(_("A consensus note can be written only after your review is submitted, while the ranking "
                        "is not yet confirmed, and if the call shows the evaluators each other's scores."))
    if not text:
        raise Refused(_("Write the note."))
    if len(text) > CONSENSUS_NOTE_MAX:
        raise Refused(_("The note is too long (at most %(n)s characters).", n=CONSENSUS_NOTE_MAX))
    application = assignment.application
    lock(application)
    note = ConsensusNote(application_id=application.id, author_id=actor.id, text=text)
    db.session.add(note)
    db.session.flush()
    audit.record("application", application.id, "consensus_note", application.status, application.status, actor.id,
                 note=text, data={"consensus_note": note.id, "assignment": assignment.id})
    return note


# --- reopening a submitted review --------------------------------------------------------------------------------

@guard("ranking_not_confirmed")
def _ranking_not_confirmed(ctx):
    """An admin reopens a review only while the ranking can follow: before it is confirmed. The system's reopening
    (an appeal upheld on scoring grounds) comes later by design."""
    if ctx.actor is None:
        return None
    if not scoring_open(ctx.entity.application.call):
        return _("The ranking of this call is confirmed: its reviews can no longer be reopened.")
    return None


@guard("reopened_reviews_resubmitted")
def _reopened_reviews_resubmitted(ctx):
    """The ranking is not confirmed while a reopened review of a reviewed application is still being corrected."""
    numbers = db.session.scalars(
        select(Application.number).join(Assignment, Assignment.application_id == Application.id)
        .where(Application.call_id == ctx.entity.id, Application.status == "reviewed",
               Assignment.status == "accepted", Assignment.declared_at.is_not(None),
               Assignment.reason.is_not(None)).distinct().order_by(Application.number)).all()
    if numbers:
        return _("Reopened reviews are not yet submitted again: %(numbers)s.", numbers=", ".join(numbers))
    return None


@effect("notify_reopened")
def _notify_reopened(ctx):
    assignment = ctx.entity
    evaluator = db.session.get(User, assignment.evaluator_id)
    jobs.notify(evaluator, "review_reopened", _l("Your review of %(number)s is reopened"),
                entity_type="assignment", entity_id=assignment.id, number=assignment.application.number,
                reason=ctx.note or "", due=formatting.moment(assignment.review_due_at, evaluator.language))
