"""The NGO's pages: its applications from draft to closed grant, and its reports."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app import clock, policies
from app.errors import NotAllowed, Refused
from app.extensions import db
from app.forms.applications import ActionForm, AppealForm, ApplicationForm, ClarificationForm, ReportForm
from app.models import Appeal, Application, Assignment, Call, Document, Payment, Report, Score
from app.services import applications, decisions, reporting, scoring
from app.services.workflow import available, effective_status, fire
from app.views.common import attempt, current_lang, flash_refusal, only_role
from workflows import diagram
from workflows.engine import WORKFLOWS, NotAvailable

bp = Blueprint("applicant", __name__, url_prefix="/apply")

# Triggers the generic action route fires; those that need more than a reason have routes of their own.
SIMPLE_TRIGGERS = ("withdraw", "accept_offer", "decline", "renounce")
DECIDED = ("funded", "reserve", "rejected")
PAGE_SIZE = 25


bp.before_request(only_role("applicant"))


def project_period(application: Application) -> tuple[date, date] | None:
    """The planned start and end as dates, for display (the content stores ISO strings)."""
    c = application.content or {}
    try:
        return date.fromisoformat(c.get("start_on") or ""), date.fromisoformat(c.get("end_on") or "")
    except ValueError:
        return None


# --- the organisation's applications ------------------------------------------------------------------------

@bp.get("/")
@login_required
def home():
    page = db.paginate(select(Application).where(Application.organisation_id == current_user.organisation_id)
                       .options(selectinload(Application.call)).order_by(Application.id.desc()),
                       per_page=PAGE_SIZE, error_out=False)
    candidates = db.session.scalars(select(Call).where(Call.status.in_(("announced", "open")))
                                    .options(joinedload(Call.organiser)).order_by(Call.closes_at)).all()
    open_calls = [call for call in candidates if effective_status(call) == "open"]
    drafts = dict(db.session.execute(select(Application.call_id, func.min(Application.id)).where(
        Application.organisation_id == current_user.organisation_id, Application.status == "draft",
        Application.call_id.in_([c.id for c in open_calls] or [-1])).group_by(Application.call_id)).all())
    return render_template("applicant/home.html", page=page, open_calls=open_calls, drafts=drafts,
                           organisation=current_user.organisation)


@bp.post("/calls/<code>/start")
@login_required
def start(code):
    call = db.session.scalar(select(Call).where(Call.code == code))
    if call is None or call.status in ("draft", "cancelled"):
        abort(404)
    if effective_status(call) != "open":
        flash(_("This call is not accepting applications."), "error")
        return redirect(url_for("public.call", code=call.code))
    existing = db.session.scalar(select(Application).where(
        Application.call_id == call.id, Application.organisation_id == current_user.organisation_id,
        Application.status == "draft").order_by(Application.id))
    if existing is not None:  # a double click, or a second tab: continue the draft rather than start another
        flash(_("Your organisation already has a draft for this call; continue it here."), "info")
        return redirect(url_for(".edit", app_id=existing.id))
    application = applications.create_draft(call, current_user)
    db.session.commit()
    flash(_("Your draft is created. Fill it in and save as often as you like; submit it before the deadline."),
          "success")
    return redirect(url_for(".edit", app_id=application.id))


# --- the draft ----------------------------------------------------------------------------------------------

def _editable(application: Application) -> bool:
    return application.status == "draft" and effective_status(application.call) == "open"


def _edit_page(application: Application, form: ApplicationForm, status: int = 200):
    call = application.call
    remaining = call.closes_at - clock.now() if call.closes_at else None
    return render_template("applicant/edit.html", application=application, call=call, form=form,
                           problems=applications.content_problems(application), editable=_editable(application),
                           period=project_period(application),
                           days_left=remaining.days if remaining and remaining.total_seconds() > 0 else None,
                           svg=diagram.to_svg(WORKFLOWS["application"], application.status, lang=current_lang())), status


def _save(application: Application, form: ApplicationForm) -> None:
    budgeted = application.call.funding_mode == "budgeted"
    applications.save_draft(
        application, current_user, title=form.title.data or "", content=form.content(),
        amount_cents=(form.amount_cents or 0) if budgeted else application.amount_cents,
        declarations_accepted=bool(form.declarations.data), version=form.loaded_version)


@bp.route("/applications/<int:app_id>", methods=["GET", "POST"])
@login_required
def edit(app_id):
    application = policies.application_for(app_id, current_user, write=request.method == "POST")
    if application.status != "draft":
        return redirect(url_for(".view", app_id=app_id))
    form = ApplicationForm()
    if request.method == "GET":
        form.fill(application)
        return _edit_page(application, form)
    if not form.validate():
        flash(_("Some fields need correcting; nothing was saved."), "error")
        return _edit_page(application, form, 400)
    try:
        _save(application, form)
        db.session.commit()
    except Refused as error:
        flash_refusal(error)
        return redirect(url_for(".edit", app_id=app_id))
    flash(_("Saved."), "success")
    return redirect(url_for(".edit", app_id=app_id))


@bp.post("/applications/<int:app_id>/submit")
@login_required
def submit(app_id):
    """Submit the draft. When posted from the edit form, the form is saved first, so no typing is lost."""
    application = policies.application_for(app_id, current_user, write=True)
    saved = False
    if "version" in request.form and application.status == "draft":
        form = ApplicationForm()
        if not form.validate():
            flash(_("Some fields need correcting; nothing was saved or submitted."), "error")
            return _edit_page(application, form, 400)
        try:
            _save(application, form)
            db.session.commit()
            saved = True
        except Refused as error:
            flash_refusal(error)
            return redirect(url_for(".edit", app_id=app_id))
    try:
        applications.submit(application, current_user)
        db.session.commit()
    except (Refused, NotAvailable, NotAllowed) as error:
        flash_refusal(error)
        if saved:
            flash(_("Your changes are saved, but the application is not submitted yet."), "info")
        return redirect(url_for(".edit", app_id=app_id))
    flash(_("Your application is submitted. Keep the receipt."), "success")
    return redirect(url_for(".receipt", app_id=app_id))


@bp.get("/applications/<int:app_id>/receipt")
@login_required
def receipt(app_id):
    application = policies.application_for(app_id, current_user)
    if application.submitted_at is None:
        return redirect(url_for(".edit", app_id=app_id))
    return render_template("applicant/receipt.html", application=application)


# --- after submission ---------------------------------------------------------------------------------------

def _evaluation_summary(application: Application):
    """Per-criterion means and the counted reviews' comments, numbered, never with evaluators' names."""
    aggregate = scoring.aggregate_for(application)
    counted = sorted(aggregate.counted_review_ids)
    number_of = {review_id: n for n, review_id in enumerate(counted, start=1)}
    scores = db.session.scalars(select(Score).join(Assignment).where(Assignment.id.in_(counted or [-1]))
                                .order_by(Score.assignment_id)).all()
    comments: dict[int, list[tuple[int, str]]] = {}
    for score in scores:
        if score.comment:
            comments.setdefault(score.criterion_id, []).append((number_of[score.assignment_id], score.comment))
    return aggregate, comments


def _view_context(application: Application) -> dict:
    status = application.status
    decision = decisions.current_decision(application)
    letter_id = decision.letter_document_id if decision else None
    if letter_id is None and status in ("ineligible", "appealed"):
        letter_id = db.session.scalar(select(Document.id).where(
            Document.entity_type == "application", Document.entity_id == application.id, Document.kind == "letter")
            .order_by(Document.id.desc()))
    summary = (_evaluation_summary(application)
               if decision is not None and decision.outcome in DECIDED else (None, {}))
    triggers = available(application, current_user)
    now = clock.now()
    appeal_deadline = decisions.appeal_deadline(application) if "appeal" in triggers else None
    clarification = applications.open_clarification(application)
    return {
        "application": application, "call": application.call, "status": status, "triggers": triggers,
        "buttons": [t for t in triggers if t in ("withdraw", "renounce")],
        "decision": decision, "letter_id": letter_id, "aggregate": summary[0], "comments": summary[1],
        "failed_checks": [r for r in applications.check_results(application) if r.passed is False],
        "clarification": clarification,
        # The guards decide; these only spare the NGO a form whose deadline has visibly passed.
        "answer_open": clarification is not None and now < clarification.answer_due_at,
        "offer_open": application.offer_deadline is not None and now < application.offer_deadline,
        "appeal_open": appeal_deadline is not None and now < appeal_deadline,
        "appeals": db.session.scalars(select(Appeal).where(Appeal.application_id == application.id)
                                      .order_by(Appeal.id)).all(),
        "appeal_deadline": appeal_deadline,
        "reports": db.session.scalars(select(Report).where(Report.application_id == application.id)
                                      .order_by(Report.due_on)).all(),
        "payments": db.session.scalars(select(Payment).where(Payment.application_id == application.id)
                                       .order_by(Payment.tranche)).all(),
        "svg": diagram.to_svg(WORKFLOWS["application"], status, lang=current_lang()),
        "period": project_period(application),
    }


@bp.get("/applications/<int:app_id>/view")
@login_required
def view(app_id):
    application = policies.application_for(app_id, current_user)
    if application.status == "draft":
        return redirect(url_for(".edit", app_id=app_id))
    return render_template("applicant/view.html", clarify_form=ClarificationForm(), appeal_form=AppealForm(),
                           **_view_context(application))


@bp.post("/applications/<int:app_id>/clarify")
@login_required
def clarify(app_id):
    application = policies.application_for(app_id, current_user, write=True)
    form = ClarificationForm()
    if not form.validate():
        flash(str(form.answer.errors[0]), "error")  # "Write your answer." or that it is too long
        return redirect(url_for(".view", app_id=app_id))
    attempt(lambda: applications.clarify(application, current_user, form.answer.data), _("Your answer is sent."))
    return redirect(url_for(".view", app_id=app_id))


@bp.post("/applications/<int:app_id>/appeal")
@login_required
def appeal(app_id):
    application = policies.application_for(app_id, current_user, write=True)
    form = AppealForm()
    if not form.validate():
        written = bool((form.text.data or "").strip())
        if written and form.text.errors:  # written, but too long: say so rather than "explain the appeal"
            flash(str(form.text.errors[0]), "error")
        if not written or form.grounds.errors or form.confirm.errors:
            flash(_("Choose the grounds, explain the appeal and tick the confirmation."), "error")
        return redirect(url_for(".view", app_id=app_id))
    attempt(lambda: fire(application, "appeal", current_user, form.text.data, grounds=form.grounds.data),
            _("Your appeal is filed. You will be told the outcome."))
    return redirect(url_for(".view", app_id=app_id))


@bp.post("/applications/<int:app_id>/action")
@login_required
def action(app_id):
    """Withdraw, accept or decline the offer, renounce the agreement: each behind a confirmation tick."""
    application = policies.application_for(app_id, current_user, write=True)
    form = ActionForm()
    trigger = form.trigger.data
    if trigger not in SIMPLE_TRIGGERS:
        abort(400)
    if not form.validate():
        if not form.note.errors:
            abort(400)
        flash(str(form.note.errors[0]), "error")  # the reason is too long, or holds a character we cannot store
        return redirect(url_for(".view", app_id=app_id))
    if not form.confirm.data:
        flash(_("Tick the confirmation first."), "error")
        return redirect(url_for(".view", app_id=app_id))
    try:
        fire(application, trigger, current_user, form.note.data)
        db.session.commit()
    except (Refused, NotAvailable, NotAllowed) as error:
        flash_refusal(error)
    else:
        flash(_("Done: %(state)s.", state=WORKFLOWS["application"].label(application.status, current_lang())), "success")
    return redirect(url_for(".view", app_id=app_id))


# --- reports ------------------------------------------------------------------------------------------------

def _report_page(report: Report, form: ReportForm, status: int = 200):
    return render_template("applicant/report.html", report=report, application=report.application, form=form,
                           problems=reporting.problems(report), editable=report.status in reporting.EDITABLE,
                           triggers=available(report, current_user)), status


@bp.route("/reports/<int:report_id>", methods=["GET", "POST"])
@login_required
def report(report_id):
    found = policies.report_for(report_id, current_user, write=request.method == "POST")
    form = ReportForm()
    if request.method == "GET":
        form.fill(found)
        return _report_page(found, form)
    if not form.validate():
        flash(_("Some fields need correcting; nothing was saved."), "error")
        return _report_page(found, form, 400)
    attempt(lambda: reporting.save(found, current_user, form.content(), form.loaded_version), _("Saved."))
    return redirect(url_for(".report", report_id=report_id))


@bp.post("/reports/<int:report_id>/submit")
@login_required
def submit_report(report_id):
    found = policies.report_for(report_id, current_user, write=True)
    if "version" in request.form and found.status in reporting.EDITABLE:
        form = ReportForm()
        if not form.validate():
            flash(_("Some fields need correcting; nothing was saved or submitted."), "error")
            return _report_page(found, form, 400)
        try:
            reporting.save(found, current_user, form.content(), form.loaded_version)
            db.session.commit()
        except Refused as error:
            flash_refusal(error)
            return redirect(url_for(".report", report_id=report_id))
    try:
        reporting.submit(found, current_user)
        db.session.commit()
    except (Refused, NotAvailable, NotAllowed) as error:
        flash_refusal(error)
    else:
        flash(_("The report is submitted."), "success")
    return redirect(url_for(".report", report_id=report_id))
