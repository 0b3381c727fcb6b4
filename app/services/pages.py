"""One read function per page that assembles its data from many queries: it returns a plain object the template
renders, so the view only parses, authorises, calls and renders (DESIGN 4.1). Nothing here writes.

Each page object is a frozen dataclass whose fields are the template's names; `context()` hands them over.
Forms, addresses and drawings stay in the views: they belong to the request, not to the data.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import clock, policies
from app.extensions import db
from app.models import (Appeal, Application, Assignment, Attachment, Call, CheckResult, Clarification, Decision,
                        Document, Grant, Organisation, Payment, RankingProtocol, Recovery, Report, Score, User)
from app.models.applications import ProjectPeriod
from app.ranking import Aggregate, pass_failures
from app.services import applications, automatic_checks, calls, decisions, evaluation, grants, protocols, scoring
from app.services.protocols import RankingRow
from app.services.workflow import Offer, effective_status, offers
from workflows.call import CALL


class Page:
    def context(self) -> dict:
        """The page's fields by name, for `render_template(..., **page.context())`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --- the admin's page of one application ------------------------------------------------------------------------

# Application triggers that have a form of their own on the page, not a plain button.
FORM_TRIGGERS = ("request_clarification", "pass_checks", "fail_checks")
CHECKS_OPEN = ("submitted", "clarification")  # the checks form is shown (pass_checks / fail_checks leave these)
ASSIGNABLE = ("eligible", "in_review")


@dataclass(frozen=True)
class AdminApplicationPage(Page):
    application: Application
    call: Call
    organisation: Organisation
    may_act: bool  # the viewer administers the call (an auditor or another organiser's admin only reads)
    budget_lines: list
    project_period: ProjectPeriod
    attachments: list[Attachment]
    clarifications: list[Clarification]
    appeals: list[Appeal]
    # checks
    checks: list
    check_results: dict[int, CheckResult]  # check id -> the recorded answer
    suggestions: dict[str, bool]  # what the system decides itself, by the check's `automatic` name
    check_answers: dict[str, str | None]  # the checks form's prefill: recorded answers, else the suggestions
    findings: list[automatic_checks.Finding]  # what the system found, each in words (deadline, number, amount, ...)
    checks_open: bool  # the viewer may record the checks now
    may_clarify: bool
    # assignments and scores
    assignments: list[tuple[Assignment, list[Offer]]]
    assignable: bool
    candidates: list[User]  # evaluators without a known conflict, for the assign form
    needed: int
    criteria: list
    submitted_reviews: list[Assignment]
    scores: dict[tuple[int, int], Score]  # (assignment id, criterion id) -> score
    aggregate: Aggregate | None
    failures: list[str]  # why the aggregate does not pass, in words
    # decision, grant, money, documents
    decision: Decision | None
    offers: list[Offer]
    grant: Grant | None
    paid_total: int
    today: str  # Riga date, ISO: the template marks overdue reports
    reports: list[Report]
    payments: list[tuple[Payment, list[Offer]]]
    recoveries: list[tuple[Recovery, list[Offer]]]
    document_ids: list[tuple[str, int]]  # (label, document id) of the receipt, decision letter, agreement


def admin_application_page(application: Application, viewer: User) -> AdminApplicationPage:
    call = application.call
    may_act = policies.administers(viewer, call)
    assignments = _rows(select(Assignment).where(Assignment.application_id == application.id)
                        .options(joinedload(Assignment.evaluator)).order_by(Assignment.id))
    checks = call.checks
    results = {r.check_id: r for r in applications.check_results(application)}
    suggestions = applications.suggested_checks(application)
    assignable = may_act and application.status in ASSIGNABLE
    submitted = [a for a in assignments if a.status == "submitted"]
    aggregate = _aggregate(application) if submitted else None
    failures = pass_failures(aggregate, scoring.criteria_of(call), scoring.rules_of(call)) if aggregate else []
    decision = decisions.current_decision(application)
    return AdminApplicationPage(
        application=application, call=call, organisation=application.organisation, may_act=may_act,
        budget_lines=application.budget_lines, project_period=application.project_period,
        attachments=_rows(select(Attachment).where(Attachment.application_id == application.id)
                          .order_by(Attachment.id)),
        clarifications=_rows(select(Clarification).where(Clarification.application_id == application.id)
                             .order_by(Clarification.id)),
        appeals=_rows(select(Appeal).where(Appeal.application_id == application.id).order_by(Appeal.id)),
        checks=checks, check_results=results, suggestions=suggestions,
        check_answers=_check_answers(checks, results, suggestions),
        findings=automatic_checks.findings(application),
        checks_open=may_act and application.status in CHECKS_OPEN,
        may_clarify=may_act and application.status == "submitted",
        assignments=[(a, offers(a, viewer)) for a in assignments], assignable=assignable,
        candidates=_candidates(application) if assignable else [], needed=evaluation.needed(application),
        criteria=call.criteria, submitted_reviews=submitted, scores=_scores(submitted), aggregate=aggregate,
        failures=[protocols.failure_words(f, call) for f in failures],
        decision=decision, offers=[o for o in offers(application, viewer) if o.trigger not in FORM_TRIGGERS],
        grant=grants.grant_of(application), paid_total=grants.paid_total(application),
        today=clock.to_riga(clock.now()).date().isoformat(),
        reports=_rows(select(Report).where(Report.application_id == application.id)
                      .order_by(Report.due_on, Report.id)),
        payments=[(p, [o for o in offers(p, viewer) if o.trigger != "reduce"]) for p in _rows(  # reduced from a report
            select(Payment).where(Payment.application_id == application.id).order_by(Payment.tranche, Payment.id))],
        recoveries=[(r, offers(r, viewer)) for r in _rows(
            select(Recovery).where(Recovery.application_id == application.id).order_by(Recovery.id))],
        document_ids=[(label, document_id) for label, document_id in (
            (_("Receipt"), application.receipt_document_id),
            (_("Decision letter"), decision.letter_document_id if decision else None),
            (_("Agreement"), application.agreement_document_id)) if document_id])


def _check_answers(checks, results: dict[int, CheckResult], suggestions: dict[str, bool]) -> dict:
    answers = {}
    for check in checks:
        result = results.get(check.id)
        passed = result.passed if result is not None else suggestions.get(check.automatic)
        answers[f"passed_{check.id}"] = None if passed is None else ("yes" if passed else "no")
        answers[f"reason_{check.id}"] = result.reason if result is not None else ""
    return answers


def _candidates(application: Application) -> list[User]:
    """The call's pool less the evaluators with a known conflict or who have (had) the application."""
    from app.services import conflicts, evaluators as evaluator_pool

    pool = sorted(evaluator_pool.pool(application.call), key=lambda e: (e.name, e.id))
    conflicted = conflicts.conflicted_evaluator_ids(pool, application)
    had = set(db.session.scalars(select(Assignment.evaluator_id).where(Assignment.application_id == application.id)))
    return [e for e in pool if e.id not in conflicted and e.id not in had]


def _scores(submitted: list[Assignment]) -> dict[tuple[int, int], Score]:
    return {(s.assignment_id, s.criterion_id): s for s in _rows(
        select(Score).where(Score.assignment_id.in_([a.id for a in submitted] or [-1])))}


def _aggregate(application: Application) -> Aggregate | None:
    """The aggregate the ranking will use; None while no review counts (e.g. every submitted one voided)."""
    try:
        return scoring.aggregate_for(application)
    except (ValueError, IndexError):  # ranking.aggregate of no counted reviews
        return None


# --- the applicant's page of one application --------------------------------------------------------------------

DECIDED = ("funded", "reserve", "rejected")  # decisions whose letter comes with the evaluation summary


@dataclass(frozen=True)
class EvaluationSummary:
    """What an applicant sees of the evaluation (DESIGN 3): per-criterion means and the counted reviews' comments,
    numbered, never with the evaluators' names."""

    aggregate: Aggregate
    comments: dict[int, list[tuple[int, str]]]  # criterion id -> [(evaluator number, comment)]


def evaluation_summary(application: Application) -> EvaluationSummary:
    aggregate = scoring.aggregate_for(application)
    counted = sorted(aggregate.counted_review_ids)
    number_of = {review_id: n for n, review_id in enumerate(counted, start=1)}
    comments: dict[int, list[tuple[int, str]]] = {}
    for score in _rows(select(Score).where(Score.assignment_id.in_(counted or [-1]))
                       .order_by(Score.assignment_id, Score.id)):
        if score.comment:
            comments.setdefault(score.criterion_id, []).append((number_of[score.assignment_id], score.comment))
    return EvaluationSummary(aggregate, comments)


@dataclass(frozen=True)
class ApplicantApplicationPage(Page):
    application: Application
    call: Call
    status: str
    offers: dict[str, Offer]  # trigger -> its button
    triggers: list[str]
    buttons: list[Offer]  # the steps shown at the foot of the page
    decision: Decision | None
    letter_id: int | None
    aggregate: Aggregate | None
    comments: dict[int, list[tuple[int, str]]]
    failed_checks: list[CheckResult]
    clarification: Clarification | None
    # The guards decide; these only spare the NGO a form whose deadline has visibly passed.
    answer_open: bool
    offer_open: bool
    appeal_open: bool
    appeal_deadline: datetime | None  # the first moment the window is closed (exclusive); the guard decides on it
    appeal_last_day: date | None  # the last day of the window, inclusive, as the NGO is told it
    appeals: list[Appeal]
    reports: list[Report]
    payments: list[Payment]


def applicant_application_page(application: Application, viewer: User) -> ApplicantApplicationPage:
    status = application.status
    decision = decisions.current_decision(application)
    letter_id = decision.letter_document_id if decision else None
    if letter_id is None and status in ("ineligible", "appealed"):  # the ineligibility letter has no decision
        letter_id = db.session.scalar(select(Document.id).where(
            Document.entity_type == "application", Document.entity_id == application.id, Document.kind == "letter")
            .order_by(Document.id.desc()))
    summary = evaluation_summary(application) if decision is not None and decision.outcome in DECIDED else None
    offered = {offer.trigger: offer for offer in offers(application, viewer)}
    now = clock.now()
    appeal_deadline = decisions.appeal_deadline(application) if "appeal" in offered else None
    clarification = applications.open_clarification(application)
    return ApplicantApplicationPage(
        application=application, call=application.call, status=status, offers=offered, triggers=list(offered),
        buttons=[offered[t] for t in ("withdraw", "renounce") if t in offered],
        decision=decision, letter_id=letter_id,
        aggregate=summary.aggregate if summary else None, comments=summary.comments if summary else {},
        failed_checks=[r for r in applications.check_results(application) if r.passed is False],
        clarification=clarification,
        answer_open=clarification is not None and now < clarification.answer_due_at,
        offer_open=application.offer_deadline is not None and now < application.offer_deadline,
        appeal_open=appeal_deadline is not None and now < appeal_deadline, appeal_deadline=appeal_deadline,
        appeal_last_day=decisions.appeal_last_day(application) if appeal_deadline is not None else None,
        appeals=_rows(select(Appeal).where(Appeal.application_id == application.id).order_by(Appeal.id)),
        reports=_rows(select(Report).where(Report.application_id == application.id).order_by(Report.due_on)),
        payments=_rows(select(Payment).where(Payment.application_id == application.id).order_by(Payment.tranche)))


# --- a call's ranking ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RankingPage(Page):
    call: Call
    status: str
    provisional: bool  # computed now from the stored reviews, not yet confirmed
    confirmed: bool  # the rows are the latest protocol's, and that protocol still matches the inputs (or is published)
    rows: list[RankingRow]
    explanation: protocols.Explanation  # the allocation line, the reserve list, the overrides
    error: str | None  # why the ranking cannot be computed
    protocol: RankingProtocol | None
    protocol_current: bool  # the latest protocol's inputs are today's: publishing needs no new confirmation
    offers: list[Offer]
    funded_total: int
    awarded_total: int | None  # after promotions and declines, once the results are published


def ranking_page(call: Call, viewer: User) -> RankingPage:
    status = effective_status(call)
    protocol = calls.latest_protocol(call)
    # Confirmed once a protocol holds today's inputs: the page then shows the protocol, not a new computation.
    protocol_current = (protocol is not None and status == "ranking"
                        and protocol.inputs_sha256 == scoring.inputs_hash(call))
    provisional = status == "evaluation" or (status == "ranking" and not protocol_current)
    stored, error = [], None
    if provisional:
        try:  # in evaluation, the applications still in review count with the reviews they have
            stored = protocols.stored_rows(
                scoring.compute(call, ("reviewed",) if status == "ranking" else ("in_review", "reviewed")))
        except ValueError as problem:  # e.g. a tie-break key that names no criterion
            error = str(problem)
    elif protocol is not None:
        stored = protocol.ranking
    explanation = protocols.explain(call, stored)
    rows = explanation.rows
    return RankingPage(
        call=call, status=status, provisional=provisional, confirmed=not provisional and protocol is not None,
        rows=rows, explanation=explanation, error=error, protocol=protocol, protocol_current=protocol_current,
        offers=[o for o in offers(call, viewer, state=status) if o.trigger in ("confirm_ranking", "publish_results")],
        funded_total=sum(r.amount_cents for r in rows if r.decision == "funded"),
        awarded_total=calls.awarded_total(call) if status in CALL.groups["results_published"] else None)


def _rows(query) -> list:
    return list(db.session.scalars(query).all())
