"""Assigning a whole call at once (issue 7): the solver's input read from the database, a proposal the admin may
change, and its confirmation in one transaction. The optimisation itself is app/assignment.py (pure).

- Which applications: those of the call that may be assigned (`eligible`, `in_review`) and still need evaluators:
  `evaluation.needed` less their live assignments (`evaluation.live_count`).
- Which evaluators: `evaluators.pool(call)`, each with their load in the call (their live assignments of its
  applications) and the call's `max_assignments_per_evaluator` (None: no maximum).
- Which pairs are forbidden: every pair `evaluation.conflict_reason` names, with that reason (a known conflict, or
  an evaluator who already has or had the application), read for all pairs at once (`_forbidden`); and
  `evaluation.assign` asks `conflict_reason` itself again for every pair it stores.

A proposal is only computed, never stored: the preview is a GET, and what the admin changes comes back in the form
and is validated again here, in full, against the database as it is then. Confirming assigns every pair through
`evaluation.assign` in one transaction under the call's row lock; any refusal (a conflict recorded meanwhile, a
maximum reached by another admin's plan) undoes the whole plan.

Replacements: a recusal, a revocation or a voided review, and a divergent application, get their further evaluator
at once, chosen by the same solver for that one application (`fill`, which `evaluation.auto_assign` calls), as
before: evaluation should not wait for an admin to be online, and an admin who prefers someone else revokes the
choice, which brings the next one. What cannot be filled is named on the review progress page and in the next
whole-call plan with its reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import assignment as solver
from app.errors import Refused
from app.extensions import db
from app.models import Application, Assignment, Call, User
from app.services import conflicts, evaluation, evaluators
from app.services.workflow import lock

ASSIGNABLE = ("eligible", "in_review")  # the states evaluation.assign accepts


@dataclass
class Input:
    """What the solver is given, with the objects and reasons behind it."""

    call: Call
    applications: dict[int, Application]  # only those still needing evaluators
    evaluators: dict[int, User]
    needs: list[solver.Need]
    pool: list[solver.Evaluator]
    forbidden: dict[tuple[int, int], str]  # (application_id, evaluator_id) → why not

    def need_of(self, application_id: int) -> int:
        return next((n.needed for n in self.needs if n.application_id == application_id), 0)


@dataclass
class Row:
    """One application of a proposal."""

    application: Application
    needed: int
    proposed: list[User]
    candidates: list[User]  # who else could be added: no conflict, not already proposed
    missing: int = 0
    reason: str | None = None  # why it stays short


@dataclass
class Load:
    evaluator: User
    current: int
    added: int
    maximum: int | None

    @property
    def total(self) -> int:
        return self.current + self.added


@dataclass
class Proposal:
    call: Call
    rows: list[Row]
    loads: list[Load]
    pairs: list[tuple[int, int]]
    problems: list[str] = field(default_factory=list)  # why the admin's changes cannot be confirmed as they are

    @property
    def short(self) -> list[Row]:
        return [row for row in self.rows if row.missing]

    @property
    def spread(self) -> int:
        totals = [load.total for load in self.loads]
        return max(totals) - min(totals) if totals else 0


# --- the solver's input -------------------------------------------------------------------------------------------

def live_loads(call: Call) -> dict[int, int]:
    """Each evaluator's live assignments of the call's applications."""
    return dict(db.session.execute(
        select(Assignment.evaluator_id, func.count(Assignment.id))
        .join(Application, Application.id == Assignment.application_id)
        .where(Application.call_id == call.id, Assignment.status.in_(evaluation.LIVE))
        .group_by(Assignment.evaluator_id)).all())


def build_input(call: Call, applications: list[Application] | None = None) -> Input:
    """The call's applications still needing evaluators (or only `applications`), its pool and what is forbidden."""
    if applications is None:
        applications = list(db.session.scalars(select(Application).where(
            Application.call_id == call.id, Application.status.in_(ASSIGNABLE)).order_by(Application.id)))
    applications = [a for a in applications if a.status in ASSIGNABLE]
    live = dict(db.session.execute(
        select(Assignment.application_id, func.count(Assignment.id))
        .where(Assignment.application_id.in_([a.id for a in applications] or [-1]),
               Assignment.status.in_(evaluation.LIVE)).group_by(Assignment.application_id)).all())
    wanting = {a.id: (a, evaluation.needed(a) - live.get(a.id, 0)) for a in applications}
    wanting = {i: pair for i, pair in wanting.items() if pair[1] > 0}
    people = evaluators.pool(call)
    loads = live_loads(call)
    forbidden = _forbidden([a for a, _n in wanting.values()], people)
    return Input(
        call=call, applications={i: a for i, (a, _n) in wanting.items()}, evaluators={e.id: e for e in people},
        needs=[solver.Need(i, n) for i, (_a, n) in wanting.items()],
        pool=[solver.Evaluator(e.id, loads.get(e.id, 0), call.max_assignments_per_evaluator) for e in people],
        forbidden=forbidden)


def _forbidden(applications: list[Application], people: list[User]) -> dict[tuple[int, int], str]:
    """`evaluation.conflict_reason` for every pair at once, in a fixed number of queries: the known conflicts
    (app/services/conflicts.py `known`, what `conflicts.reason` reads) and the assignments the evaluator has or had
    of the application. `evaluation.assign` asks `conflict_reason` again for each pair it stores."""
    if not applications or not people:
        return {}
    known = conflicts.known(people, {a.organisation for a in applications})
    had = set(db.session.execute(select(Assignment.application_id, Assignment.evaluator_id).where(
        Assignment.application_id.in_([a.id for a in applications]),
        Assignment.evaluator_id.in_([e.id for e in people]))).all())
    found = {}
    for application in applications:
        for evaluator in people:
            reasons = known.get((evaluator.id, application.organisation_id))
            if reasons:
                found[(application.id, evaluator.id)] = reasons[0].reason
            elif (application.id, evaluator.id) in had:
                found[(application.id, evaluator.id)] = _("This evaluator already has (or had) this application.")
    return found


def shortfall_text(shortfall: solver.Shortfall, call: Call) -> str:
    if shortfall.reason == solver.FEW_WITHOUT_CONFLICT:
        return _("Too few evaluators without a conflict with it (nor an earlier assignment of it): %(count)s, "
                 "and it still needs %(needed)s.", count=shortfall.without_conflict, needed=shortfall.needed)
    if shortfall.reason == solver.AT_MAXIMUM:
        return _("The evaluators without a conflict are at the maximum of %(maximum)s applications each: "
                 "%(count)s of them have room left.", maximum=call.max_assignments_per_evaluator,
                 count=shortfall.with_room)
    return _("The evaluators without a conflict who have room left are needed by other applications too: raise "
             "the maximum per evaluator or add evaluators to the call.")


# --- proposals ----------------------------------------------------------------------------------------------------

def propose(call: Call) -> Proposal:
    """The optimal plan for the call as it is now (nothing is written)."""
    given = build_input(call)
    plan = solver.solve(given.needs, given.pool, given.forbidden)
    return _proposal(given, plan.pairs, plan, [])


def revise(call: Call, pairs: list[tuple[int, int]]) -> Proposal:
    """The admin's changed plan, checked in full against the database; its `problems` say what cannot be
    confirmed as it is. Repeated pairs count once."""
    given = build_input(call)
    pairs = list(dict.fromkeys(pairs))
    plan = solver.solve(given.needs, given.pool, given.forbidden)  # to say why an application stays short
    return _proposal(given, pairs, plan, problems_of(given, pairs))


def problems_of(given: Input, pairs: list[tuple[int, int]]) -> list[str]:
    problems, counted, added = [], {}, {}
    for application_id, evaluator_id in pairs:
        application, evaluator = given.applications.get(application_id), given.evaluators.get(evaluator_id)
        if application is None:
            known = db.session.get(Application, application_id)
            problems.append(_("Application %(number)s needs no more evaluators.", number=known.number)
                            if known is not None and known.call_id == given.call.id
                            else _("An application in the plan is not one of this call's."))
            continue
        if evaluator is None:
            problems.append(_("An evaluator in the plan does not serve this call."))
            continue
        reason = given.forbidden.get((application_id, evaluator_id))
        if reason:
            problems.append(f"{application.number} · {evaluator.name}: {reason}")
        counted[application_id] = counted.get(application_id, 0) + 1
        added[evaluator_id] = added.get(evaluator_id, 0) + 1
    for application_id, count in counted.items():
        needed = given.need_of(application_id)
        if count > needed:
            problems.append(_("Application %(number)s needs %(needed)s more evaluators, not %(count)s.",
                              number=given.applications[application_id].number, needed=needed, count=count))
    maximum = given.call.max_assignments_per_evaluator
    if maximum is not None:
        current = {e.evaluator_id: e.load for e in given.pool}
        for evaluator_id, count in added.items():
            if current[evaluator_id] + count > maximum:
                problems.append(_("%(name)s would hold %(count)s applications of the call, above the maximum of "
                                  "%(maximum)s.", name=given.evaluators[evaluator_id].name,
                                  count=current[evaluator_id] + count, maximum=maximum))
    return problems


def _proposal(given: Input, pairs, plan: solver.Plan, problems: list[str]) -> Proposal:
    reasons = {s.application_id: shortfall_text(s, given.call) for s in plan.shortfalls}
    rows = []
    for need in given.needs:
        proposed = [given.evaluators[e] for a, e in pairs if a == need.application_id and e in given.evaluators]
        ids = {e.id for e in proposed}
        candidates = [e for e in given.evaluators.values()
                      if e.id not in ids and (need.application_id, e.id) not in given.forbidden]
        missing = max(0, need.needed - len(proposed))
        reason = reasons.get(need.application_id) if missing else None
        if missing and reason is None:
            reason = _("Left short by the changes to the proposal.")
        rows.append(Row(given.applications[need.application_id], need.needed, proposed, candidates, missing, reason))
    added = {}
    for _a, e in pairs:
        added[e] = added.get(e, 0) + 1
    loads = [Load(given.evaluators[e.evaluator_id], e.load, added.get(e.evaluator_id, 0), e.maximum)
             for e in given.pool]
    return Proposal(given.call, rows, loads, list(pairs), problems)


# --- confirming ---------------------------------------------------------------------------------------------------

def confirm(call: Call, pairs: list[tuple[int, int]], actor: User) -> list[Assignment]:
    """Assign every pair, all or nothing. Checked again under the call's row lock (two admins confirming plans at
    once cannot both push an evaluator past the maximum); a problem refuses the whole plan with its reason."""
    lock(call)
    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        raise Refused(_("The plan assigns nobody: nothing was saved."))
    given = build_input(call)
    problems = problems_of(given, pairs)
    if problems:
        raise Refused(_("The plan was not saved: %(problem)s", problem=" ".join(problems)))
    return [evaluation.assign(given.applications[a], given.evaluators[e], actor) for a, e in pairs]


def fill(application: Application, actor: User | None) -> tuple[list[Assignment], str | None]:
    """Give one application the evaluators it still needs, chosen by the solver among the call's pool (the least
    loaded in the call, never conflicted, never above the maximum): the replacement after a recusal, a
    revocation or a voided review, and the further evaluator of a divergent application. Returns what was
    assigned and, when it stays short, why."""
    call = application.call  # not locked: a review move holds its application's row, and a call's own moves lock
    given = build_input(call, [application])  # the call before its applications; the other order could deadlock
    plan = solver.solve(given.needs, given.pool, given.forbidden)
    made = [evaluation.assign(application, given.evaluators[e], actor) for _a, e in plan.pairs]
    reason = shortfall_text(plan.shortfalls[0], call) if plan.shortfalls else None
    return made, reason
