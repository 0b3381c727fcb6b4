"""The programme administrator's pages: calls, applications, checks, assignments, ranking, grants, reports.

Every view is thin: load through `policies` (404 outside the admin's organisers, 403 to act without the right),
parse a form, call one service function, commit, flash, redirect. Auditors read every page in scope and change
nothing: the blueprint refuses them every POST before any view runs. States change only through the services
and `workflow.fire`.
"""
from __future__ import annotations

from datetime import date
from fractions import Fraction

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from app import clock, formatting, policies
from app.extensions import db
from app.forms.admin import (ApplicationTriggerForm, AssignForm, CallTriggerForm, ClarificationForm,
                             PaymentTriggerForm, TriggerForm, checks_form)
from app.forms.calls import AUTOMATIC_CHECKS, CallForm, CheckForm, CriterionForm
from app.ranking import pass_failures
from app.models import (Appeal, Application, Assignment, Attachment, AuditEvent, Call, Check, Clarification,
                        Criterion, Organiser, Payment, RankingProtocol, Recovery, Report, Score, User)
from app.services import applications, decisions, evaluation, grants, scoring
from app.services import calls as call_service
from app.services.workflow import available, effective_status, fire
from app.views.common import attempt, current_lang
from workflows import diagram
from workflows.engine import WORKFLOWS

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50
STAFF = ("admin", "auditor")
READ_METHODS = ("GET", "HEAD", "OPTIONS")
EVALUATION_STAGES = ("evaluation", "ranking", "awarded", "reporting", "completed")
# Application triggers that have a form of their own on the page, not a plain button.
FORM_TRIGGERS = ("request_clarification", "pass_checks", "fail_checks")
DANGER = ("cancel", "terminate", "void", "revoke", "reject", "write_off", "dismiss_appeal")


@bp.before_request
@login_required
def staff_only():
    if current_user.role not in STAFF:
        abort(403)
    if request.method not in READ_METHODS and current_user.role != "admin":
        abort(403)


# --- small helpers ----------------------------------------------------------------------------------------------



def _page() -> int:
    return max(request.args.get("page", 1, type=int), 1)


def _needs_note(workflow: str) -> set[str]:
    return {t.trigger for t in WORKFLOWS[workflow].transitions if t.needs_note}


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


# --- calls ------------------------------------------------------------------------------------------------------

@bp.get("/")
def calls():
    query = (select(Call).where(policies.visible_calls_filter(current_user)).options(joinedload(Call.organiser))
             .order_by(Call.created_at.desc(), Call.id.desc()))
    page = db.paginate(query, page=_page(), per_page=PER_PAGE, error_out=False)
    counted = func.sum(case((Application.status != "draft", 1), else_=0))
    drafts = func.sum(case((Application.status == "draft", 1), else_=0))
    funded = func.sum(case((Application.status.in_(("funded", "accepted", "contracted", "closed")), 1), else_=0))
    counts = {row[0]: row[1:] for row in db.session.execute(
        select(Application.call_id, counted, drafts, funded)
        .where(Application.call_id.in_([c.id for c in page.items] or [-1])).group_by(Application.call_id))}
    rows = [{"call": c, "status": effective_status(c), "counts": counts.get(c.id, (0, 0, 0))} for c in page.items]
    return render_template("admin/calls.html", page=page, rows=rows,
                           may_create=current_user.role == "admin" and bool(_organisers()))


@bp.route("/calls/new", methods=["GET", "POST"])
def new_call():
    if current_user.role != "admin":
        abort(403)  # auditors read; the form to create is not theirs
    form = CallForm(organisers=_organisers())
    if form.validate_on_submit():
        fields = form.call_fields()
        organiser_id = fields.pop("organiser_id")
        call = call_service.create(organiser_id, current_user, **fields)
        db.session.commit()
        flash(_("The call is created as a draft. Add its criteria and checks, then announce it."), "success")
        return redirect(url_for(".call", call_id=call.id))
    elif request.method == "POST":
        flash(_("Please correct the marked fields. Nothing was saved."), "error")
    return render_template("admin/call_form.html", form=form, call=None)


@bp.route("/calls/<int:call_id>/edit", methods=["GET", "POST"])
def edit_call(call_id):
    call = policies.call_for_admin(call_id, current_user, write=request.method == "POST")
    if call.status != "draft":
        flash(_("The call is announced; its definition is frozen."), "error")
        return redirect(url_for(".call", call_id=call.id))
    form = CallForm(data=CallForm.data_of(call) if request.method == "GET" else None, call_id=call.id,
                    organisers=_organisers())
    if form.validate_on_submit():
        if attempt(lambda: call_service.update_draft(call, current_user, form.call_fields()), _("The call is saved.")):
            return redirect(url_for(".call", call_id=call.id))
    elif request.method == "POST":
        flash(_("Please correct the marked fields. Nothing was saved."), "error")
    return render_template("admin/call_form.html", form=form, call=call)


@bp.get("/calls/<int:call_id>")
def call(call_id):
    return _render_call(policies.call_for_admin(call_id, current_user))


def _render_call(call: Call, criterion_form=None, check_form=None):
    status = effective_status(call)
    editable = call.status == "draft" and policies.administers(current_user, call)
    criteria, checks = call.criteria, call.checks
    events = db.paginate(select(AuditEvent).where(AuditEvent.entity_type == "call", AuditEvent.entity_id == call.id)
                         .order_by(AuditEvent.id.desc()), page=_page(), per_page=PER_PAGE, error_out=False)
    actors = {e.actor_id for e in events.items if e.actor_id is not None}
    actor_names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(actors or {-1}))).all())
    protocols = db.session.scalars(select(RankingProtocol).where(RankingProtocol.call_id == call.id)
                                   .order_by(RankingProtocol.id.desc())).all()
    codes = {c.code for c in criteria}
    triggers = available(call, current_user, status)
    special = ("announce", "extend_deadline", "reopen")
    return render_template(
        "admin/call.html", call=call, status=status, organiser=call.organiser, criteria=criteria, checks=checks,
        editable=editable,
        criterion_form=criterion_form or CriterionForm(formdata=None),
        check_form=check_form or CheckForm(formdata=None),
        max_total=sum(c.max_half_points for c in criteria),
        anchors={c.id: _anchors(c) for c in criteria}, automatic_labels=AUTOMATIC_CHECKS,
        report_schedule=[(item["kind"], date.fromisoformat(item["due_on"])) for item in call.report_schedule or []],
        unknown_tie_keys=[k for k in call.tie_break_keys or [] if k != "submitted_at" and k not in codes],
        special_triggers=[t for t in triggers if t in special],
        plain_triggers=[t for t in triggers if t not in special],
        needs_note=_needs_note("call"), fire_url=lambda _t: url_for(".call_fire", call_id=call.id),
        svg=diagram.to_svg(WORKFLOWS["call"], status, lang=current_lang()),
        regulations_url=_document_url(call.regulations_document_id),
        protocols=[(p, _document_url(p.document_id)) for p in protocols],
        events=events, actor_names=actor_names)


def _anchors(criterion: Criterion) -> list[tuple[int, str]]:
    """The scale anchors in points order (their keys are half points as text)."""
    return sorted((int(k), v) for k, v in (criterion.anchors or {}).items() if str(k).isdigit())


@bp.post("/calls/<int:call_id>/fire")
def call_fire(call_id):
    call = policies.call_for_admin(call_id, current_user, write=True)
    form = CallTriggerForm()
    from_ranking = "ranking" in (request.args.get("back"), request.form.get("back"))
    back = url_for(".ranking", call_id=call.id) if from_ranking else url_for(".call", call_id=call.id)
    if not form.validate():
        _flash_errors(form)
        return redirect(back)
    trigger, note = form.trigger.data, form.note.data
    if trigger == "publish_results" and not form.confirm.data:
        flash(_("Tick the confirmation to publish the results: this cannot be undone."), "error")
        return redirect(back)
    if trigger in ("extend_deadline", "reopen") and form.closes_at.data is None:
        flash(_("Enter the new deadline."), "error")
        return redirect(back)

    def act():
        if trigger == "announce":
            call_service.announce(call, current_user, confirm_short_period=form.confirm_short_period.data)
        elif trigger == "extend_deadline":
            call_service.extend_deadline(call, current_user, form.closes_at.data, note)
        elif trigger == "reopen":
            call_service.reopen(call, current_user, form.closes_at.data, note)
        else:
            fire(call, trigger, current_user, note)

    attempt(act, _("Done: %(step)s.", step=_trigger_name("call", trigger)))
    return redirect(back)


@bp.post("/calls/<int:call_id>/criteria")
def add_criterion(call_id):
    call = policies.call_for_admin(call_id, current_user, write=True)
    form = CriterionForm(taken_codes=[c.code for c in call.criteria])
    if not form.validate():
        flash(_("The criterion was not added: correct the marked fields."), "error")
        return _render_call(call, criterion_form=form)
    fields = form.criterion_fields()
    attempt(lambda: call_service.add_criterion(call, **fields), _("Criterion %(code)s added.", code=fields["code"]))
    return redirect(url_for(".call", call_id=call.id, _anchor="criteria"))


@bp.post("/calls/<int:call_id>/criteria/<int:criterion_id>/delete")
def delete_criterion(call_id, criterion_id):
    call = policies.call_for_admin(call_id, current_user, write=True)
    criterion = db.session.get(Criterion, criterion_id)
    if criterion is None or criterion.call_id != call.id:
        abort(404)
    attempt(lambda: call_service.remove_from_draft(call, criterion), _("Criterion %(code)s removed.", code=criterion.code))
    return redirect(url_for(".call", call_id=call.id, _anchor="criteria"))


@bp.post("/calls/<int:call_id>/checks")
def add_check(call_id):
    call = policies.call_for_admin(call_id, current_user, write=True)
    form = CheckForm(taken_codes=[c.code for c in call.checks])
    if not form.validate():
        flash(_("The check was not added: correct the marked fields."), "error")
        return _render_call(call, check_form=form)
    fields = form.check_fields()
    attempt(lambda: call_service.add_check(call, **fields), _("Check %(code)s added.", code=fields["code"]))
    return redirect(url_for(".call", call_id=call.id, _anchor="checks"))


@bp.post("/calls/<int:call_id>/checks/<int:check_id>/delete")
def delete_check(call_id, check_id):
    call = policies.call_for_admin(call_id, current_user, write=True)
    check = db.session.get(Check, check_id)
    if check is None or check.call_id != call.id:
        abort(404)
    attempt(lambda: call_service.remove_from_draft(call, check), _("Check %(code)s removed.", code=check.code))
    return redirect(url_for(".call", call_id=call.id, _anchor="checks"))


# --- the call's applications ------------------------------------------------------------------------------------

@bp.get("/calls/<int:call_id>/applications")
def call_applications(call_id):
    """Bounded queries whatever the number of rows: the page, its count, one aggregate for the reviews, one for
    the status filter."""
    call = policies.call_for_admin(call_id, current_user)
    status = effective_status(call)
    states = [s.name for s in WORKFLOWS["application"].states if s.name != "draft"]
    chosen = request.args.get("status") if request.args.get("status") in states else None
    query = (select(Application).where(Application.call_id == call.id, Application.status != "draft")
             .options(joinedload(Application.organisation)).order_by(Application.submitted_at, Application.id))
    if chosen:
        query = query.where(Application.status == chosen)
    page = db.paginate(query, page=_page(), per_page=PER_PAGE, error_out=False)
    reviews = dict(db.session.execute(
        select(Assignment.application_id, func.count(Assignment.id))
        .where(Assignment.application_id.in_([a.id for a in page.items] or [-1]), Assignment.status == "submitted")
        .group_by(Assignment.application_id)).all())
    by_state = dict(db.session.execute(
        select(Application.status, func.count(Application.id))
        .where(Application.call_id == call.id, Application.status != "draft").group_by(Application.status)).all())
    return render_template(
        "admin/applications.html", call=call, status=status, page=page, reviews=reviews, chosen=chosen,
        filters=[(s, by_state[s]) for s in states if by_state.get(s)], total=sum(by_state.values()),
        show_reviews=status in EVALUATION_STAGES)


# --- one application --------------------------------------------------------------------------------------------

@bp.get("/applications/<int:application_id>")
def application(application_id):
    application = policies.application_for(application_id, current_user)
    return render_template("admin/application.html", **_application_context(application))


def _application_context(application: Application, checks_form=None, clarification_form=None) -> dict:
    call = application.call
    may_act = policies.administers(current_user, call)
    assignments = db.session.scalars(select(Assignment).where(Assignment.application_id == application.id)
                                     .options(joinedload(Assignment.evaluator)).order_by(Assignment.id)).all()
    reports = db.session.scalars(select(Report).where(Report.application_id == application.id)
                                 .order_by(Report.due_on, Report.id)).all()
    payments = db.session.scalars(select(Payment).where(Payment.application_id == application.id)
                                  .order_by(Payment.tranche, Payment.id)).all()
    recoveries = db.session.scalars(select(Recovery).where(Recovery.application_id == application.id)
                                    .order_by(Recovery.id)).all()
    triggers = [t for t in available(application, current_user) if t not in FORM_TRIGGERS]
    decision = decisions.current_decision(application)
    return {
        "application": application, "call": call, "organisation": application.organisation, "may_act": may_act,
        "budget_lines": application.budget_lines, "project_dates": _project_dates(application),
        "attachments": db.session.scalars(select(Attachment).where(Attachment.application_id == application.id)
                                          .order_by(Attachment.id)).all(),
        "clarifications": db.session.scalars(select(Clarification).where(
            Clarification.application_id == application.id).order_by(Clarification.id)).all(),
        "appeals": db.session.scalars(select(Appeal).where(Appeal.application_id == application.id)
                                      .order_by(Appeal.id)).all(),
        **_checks_context(application, may_act, checks_form),
        "clarification_form": clarification_form or ClarificationForm(formdata=None),
        **_assignments_context(application, assignments, may_act),
        **_scores_context(application, assignments),
        "decision": decision, "triggers": triggers, "needs_note": _needs_note("application"),
        "fire_url": lambda _t: url_for(".application_fire", application_id=application.id),
        "grant": grants.grant_of(application), "paid_total": grants.paid_total(application),
        "today": clock.to_riga(clock.now()).date().isoformat(),
        "reports": reports, "payments": [(p, available(p, current_user)) for p in payments],
        "recoveries": [(r, available(r, current_user)) for r in recoveries],
        "documents": [(label, _document_url(document_id)) for label, document_id in (
            (_("Receipt"), application.receipt_document_id),
            (_("Decision letter"), decision.letter_document_id if decision else None),
            (_("Agreement"), application.agreement_document_id)) if document_id],
        "svg": diagram.to_svg(WORKFLOWS["application"], application.status, lang=current_lang()),
    }


def _project_dates(application: Application) -> list:
    """The project's start and end as dates (the content stores ISO text); None where missing or unreadable."""
    found = []
    for key in ("start_on", "end_on"):
        try:
            found.append(date.fromisoformat((application.content or {}).get(key) or ""))
        except ValueError:
            found.append(None)
    return found


def _checks_context(application: Application, may_act: bool, bound=None) -> dict:
    checks = application.call.checks
    results = {r.check_id: r for r in applications.check_results(application)}
    suggestions = applications.suggested_checks(application)
    prefill = {}
    for check in checks:
        result = results.get(check.id)
        passed = result.passed if result is not None else suggestions.get(check.automatic)
        prefill[f"passed_{check.id}"] = None if passed is None else ("yes" if passed else "no")
        prefill[f"reason_{check.id}"] = result.reason if result is not None else ""
    open_for_checks = application.status in ("submitted", "clarification")
    return {"checks": checks, "check_results": results, "suggestions": suggestions,
            "checks_form": (bound or checks_form(checks, formdata=None, data=prefill)) if may_act and open_for_checks
            else None,
            "may_clarify": may_act and application.status == "submitted"}


def _assignments_context(application: Application, assignments, may_act: bool) -> dict:
    assignable = may_act and application.status in ("eligible", "in_review")
    candidates = []
    if assignable:
        evaluators = db.session.scalars(select(User).where(User.role == "evaluator", User.active)
                                        .order_by(User.name, User.id)).all()
        candidates = [e for e in evaluators if evaluation.conflict_reason(e, application) is None]
    return {"assignments": [(a, available(a, current_user)) for a in assignments],
            "assign_form": AssignForm(formdata=None, evaluators=candidates) if assignable else None,
            "assignable": assignable, "needed": evaluation.needed(application),
            "review_note": _needs_note("review")}


def _scores_context(application: Application, assignments) -> dict:
    """Each submitted review's scores, and the aggregate the ranking will use."""
    call = application.call
    submitted = [a for a in assignments if a.status == "submitted"]
    scores = {}
    for score in db.session.scalars(select(Score).where(Score.assignment_id.in_([a.id for a in submitted] or [-1]))):
        scores[(score.assignment_id, score.criterion_id)] = score
    aggregate, failures = None, []
    if submitted:
        try:
            aggregate = scoring.aggregate_for(application)
        except (ValueError, IndexError):  # no counted reviews in a state the ranking reads
            aggregate = None
        else:
            failures = pass_failures(aggregate, scoring.criteria_of(call), scoring.rules_of(call))
    return {"criteria": call.criteria, "submitted_reviews": submitted, "scores": scores, "aggregate": aggregate,
            "failures": [_failure_words(f, call) for f in failures]}


@bp.post("/applications/<int:application_id>/checks")
def record_checks(application_id):
    application = policies.application_for(application_id, current_user, write=True)
    checks = application.call.checks
    form = checks_form(checks)
    if not form.validate():
        _flash_errors(form)
    elif attempt(lambda: applications.record_checks(application, current_user, form.results(checks)),
                  _("The checks are recorded.")):
        return _redirect_to_application(application, "checks")
    # refused: show the page again with the answers as given
    return render_template("admin/application.html", **_application_context(application, checks_form=form))


@bp.post("/applications/<int:application_id>/clarification")
def request_clarification(application_id):
    application = policies.application_for(application_id, current_user, write=True)
    form = ClarificationForm()
    if form.validate() and attempt(
            lambda: applications.request_clarification(application, current_user, form.question.data,
                                                       form.answer_due_at.data),
            _("The question is sent to the applicant.")):
        return _redirect_to_application(application, "clarifications")
    return render_template("admin/application.html", **_application_context(application, clarification_form=form))


@bp.post("/applications/<int:application_id>/assign")
def assign(application_id):
    application = policies.application_for(application_id, current_user, write=True)
    evaluators = db.session.scalars(select(User).where(User.role == "evaluator", User.active)).all()
    form = AssignForm(evaluators=evaluators)
    if not form.validate():
        _flash_errors(form)
        return _redirect_to_application(application, "assignments")
    evaluator = db.session.get(User, form.evaluator_id.data)
    attempt(lambda: evaluation.assign(application, evaluator, current_user),
             _("%(name)s is assigned.", name=evaluator.name))
    return _redirect_to_application(application, "assignments")


@bp.post("/applications/<int:application_id>/auto-assign")
def auto_assign(application_id):
    application = policies.application_for(application_id, current_user, write=True)
    made = []
    if attempt(lambda: made.extend(evaluation.auto_assign(application, current_user)),
                _("Evaluators assigned automatically.")) and not made:
        flash(_("No evaluator was added: the application has enough, or nobody without a conflict is free."), "info")
    return _redirect_to_application(application, "assignments")


@bp.post("/applications/<int:application_id>/fire")
def application_fire(application_id):
    application = policies.application_for(application_id, current_user, write=True)
    form = ApplicationTriggerForm()
    if not form.validate():
        _flash_errors(form)
        return _redirect_to_application(application)
    trigger = form.trigger.data
    data = {"recovery_cents": form.recovery.data} if trigger == "terminate" and form.recovery.data is not None else {}
    attempt(lambda: fire(application, trigger, current_user, form.note.data, **data),
             _("Done: %(step)s.", step=_trigger_name("application", trigger)))
    return _redirect_to_application(application)


@bp.post("/assignments/<int:assignment_id>/fire")
def assignment_fire(assignment_id):
    assignment, application = _owned(Assignment, assignment_id)
    form = TriggerForm()
    if form.validate():
        attempt(lambda: fire(assignment, form.trigger.data, current_user, form.note.data),
                 _("Done: %(step)s.", step=_trigger_name("review", form.trigger.data)))
    else:
        _flash_errors(form)
    return _redirect_to_application(application, "assignments")


@bp.post("/payments/<int:payment_id>/fire")
def payment_fire(payment_id):
    payment, application = _owned(Payment, payment_id)
    form = PaymentTriggerForm()
    if form.validate():
        trigger = form.trigger.data
        paid_on = form.paid_on.data or clock.to_riga(clock.now()).date()
        data = {"bank_reference": form.bank_reference.data or "", "paid_on": paid_on} if trigger == "pay" else {}
        attempt(lambda: fire(payment, trigger, current_user, form.note.data, **data),
                 _("Done: %(step)s.", step=_trigger_name("payment", trigger)))
    else:
        _flash_errors(form)
    return _redirect_to_application(application, "payments")


@bp.post("/recoveries/<int:recovery_id>/fire")
def recovery_fire(recovery_id):
    recovery, application = _owned(Recovery, recovery_id)
    form = TriggerForm()
    if form.validate():
        attempt(lambda: fire(recovery, form.trigger.data, current_user, form.note.data),
                 _("Done: %(step)s.", step=_trigger_name("recovery", form.trigger.data)))
    else:
        _flash_errors(form)
    return _redirect_to_application(application, "payments")


# --- ranking ----------------------------------------------------------------------------------------------------

def _failure_words(failure: str, call: Call) -> str:
    if failure == "total_below_pass_mark":
        return _("total below the pass mark of %(mark)s points",
                 mark=formatting.points(call.pass_mark_half_points, current_lang()))
    if failure.startswith("minimum:"):
        return _("below the minimum on criterion %(code)s", code=failure.split(":", 1)[1])
    return failure


def _tie_words(key: str | None) -> str:
    if not key:
        return ""
    if key == "submitted_at":
        return _("earlier submission")
    if key == "application_id":
        return _("application order")
    return _("criterion %(code)s", code=key)


@bp.get("/calls/<int:call_id>/ranking", endpoint="ranking")
def ranking_page(call_id):
    call = policies.call_for_admin(call_id, current_user)
    status = effective_status(call)
    protocol = call_service.latest_protocol(call)
    rows, error, provisional = [], None, status in ("evaluation", "ranking")
    if provisional:
        try:
            ranked = scoring.compute(call, ("reviewed",) if status == "ranking" else ("in_review", "reviewed"))
        except ValueError as problem:  # e.g. a tie-break key that names no criterion
            ranked, error = [], str(problem)
        rows = [{"application_id": r.application_id, "rank": r.rank, "decision": r.decision, "passed": r.passed,
                 "failures": r.failures, "total": r.aggregate.total, "weighted_total": r.aggregate.weighted_total,
                 "tie_broken_by": r.tie_broken_by, "amount_cents": r.amount_cents} for r in ranked]
    elif protocol is not None:
        rows = [dict(row, total=Fraction(row["total"]), weighted_total=Fraction(row["weighted_total"]))
                for row in protocol.ranking]
    found = {a.id: a for a in db.session.scalars(
        select(Application).where(Application.id.in_([r["application_id"] for r in rows] or [-1]))
        .options(joinedload(Application.organisation)))}
    for row in rows:
        row["application"] = found[row["application_id"]]
        row["failure_words"] = [_failure_words(f, call) for f in row["failures"]]
        row["tie_words"] = _tie_words(row["tie_broken_by"])
    protocol_current = (protocol is not None and status == "ranking"
                        and protocol.inputs_sha256 == scoring.inputs_hash(call))
    triggers = [t for t in available(call, current_user, status) if t in ("confirm_ranking", "publish_results")]
    return render_template(
        "admin/ranking.html", call=call, status=status, rows=rows, error=error, provisional=provisional,
        protocol=protocol, protocol_url=_document_url(protocol.document_id) if protocol else None,
        protocol_current=protocol_current, triggers=triggers,
        fire_url=lambda _t: url_for(".call_fire", call_id=call.id, back="ranking"),
        funded_total=sum(r["amount_cents"] for r in rows if r["decision"] == "funded"),
        awarded_total=call_service.awarded_total(call) if status in ("awarded", "reporting", "completed") else None)


# --- reports ----------------------------------------------------------------------------------------------------

@bp.get("/reports/<int:report_id>")
def report(report_id):
    report = policies.report_for(report_id, current_user)
    application = report.application
    return render_template(
        "admin/report.html", report=report, application=application, call=application.call,
        organisation=application.organisation,
        attachments=db.session.scalars(select(Attachment).where(Attachment.report_id == report.id)
                                       .order_by(Attachment.id)).all(),
        triggers=available(report, current_user), needs_note=_needs_note("report"),
        fire_url=lambda _t: url_for(".report_fire", report_id=report.id),
        svg=diagram.to_svg(WORKFLOWS["report"], report.status, lang=current_lang()))


@bp.post("/reports/<int:report_id>/fire")
def report_fire(report_id):
    report = policies.report_for(report_id, current_user, write=True)
    form = TriggerForm()
    if form.validate():
        attempt(lambda: fire(report, form.trigger.data, current_user, form.note.data),
                 _("Done: %(step)s.", step=_trigger_name("report", form.trigger.data)))
    else:
        _flash_errors(form)
    return redirect(url_for(".report", report_id=report.id))

