"""The NGO's pages: its applications from draft to closed grant, and its reports."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app import clock, policies
from app.extensions import db
from app.forms.applications import ActionForm, AppealForm, ApplicationForm, ClarificationForm, ReportForm
from app.models import Application, Call, Report
from app.services import applications, jobs, pages, reporting
from app.services.workflow import available, fire
from app.views.common import attempt, current_lang, only_role, paginate, save_then_submit
from workflows import diagram
from workflows.engine import WORKFLOWS

bp = Blueprint("applicant", __name__, url_prefix="/apply")

# Triggers the generic action route fires; those that need more than a reason have routes of their own.
SIMPLE_TRIGGERS = ("withdraw", "accept_offer", "decline", "renounce")
PAGE_SIZE = 25


bp.before_request(only_role("applicant"))


# --- the organisation's applications ------------------------------------------------------------------------

@bp.get("/")
@login_required
def home():
    page = paginate(select(Application).where(Application.organisation_id == current_user.organisation_id)
                    .options(selectinload(Application.call)).order_by(Application.id.desc()), PAGE_SIZE)
    open_calls = db.session.scalars(select(Call).where(Call.accepting(clock.now()))
                                    .options(joinedload(Call.organiser)).order_by(Call.closes_at)).all()
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
    if not call.accepting(clock.now()):
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
    return application.status == "draft" and application.call.accepting(clock.now())


def _edit_page(application: Application, form: ApplicationForm, status: int = 200):
    call = application.call
    remaining = call.closes_at - clock.now() if call.closes_at else None
    return render_template("applicant/edit.html", application=application, call=call, form=form,
                           problems=applications.content_problems(application), editable=_editable(application),
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
    attempt(lambda: _save(application, form), _("Saved."))
    return redirect(url_for(".edit", app_id=app_id))


@bp.post("/applications/<int:app_id>/submit")
@login_required
def submit(app_id):
    """Submit the draft. When posted from the edit form, the form is saved first, so no typing is lost; the page
    that asks first then posts confirmed=1 alone, as the form is saved."""
    application = policies.application_for(app_id, current_user, write=True)
    save = None
    if "version" in request.form and application.status == "draft":
        form = ApplicationForm()
        if not form.validate():
            flash(_("Some fields need correcting; nothing was saved or submitted."), "error")
            return _edit_page(application, form, 400)
        save = lambda: _save(application, form)  # noqa: E731
    return save_then_submit(
        application, "submit", save=save, submit=lambda: applications.submit(application, current_user),
        done=_("Your application is submitted. Keep the receipt."), fields=[],
        back=url_for(".edit", app_id=app_id), then=url_for(".receipt", app_id=app_id),
        kept=_("Your changes are saved, but the application is not submitted yet."))


@bp.get("/applications/<int:app_id>/receipt")
@login_required
def receipt(app_id):
    application = policies.application_for(app_id, current_user)
    if application.submitted_at is None:
        return redirect(url_for(".edit", app_id=app_id))
    return render_template("applicant/receipt.html", application=application,
                           copy=jobs.copy_of(application.receipt_document_id, current_user))


# --- after submission ---------------------------------------------------------------------------------------

@bp.get("/applications/<int:app_id>/view")
@login_required
def view(app_id):
    application = policies.application_for(app_id, current_user)
    if application.status == "draft":
        return redirect(url_for(".edit", app_id=app_id))
    page = pages.applicant_application_page(application, current_user)
    return render_template("applicant/view.html", **page.context(), clarify_form=ClarificationForm(),
                           appeal_form=AppealForm(),
                           svg=diagram.to_svg(WORKFLOWS["application"], application.status, lang=current_lang()))


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
    attempt(lambda: fire(application, trigger, current_user, form.note.data),
            lambda: _("Done: %(state)s.", state=WORKFLOWS["application"].label(application.status, current_lang())))
    return redirect(url_for(".view", app_id=app_id))


# --- reports ------------------------------------------------------------------------------------------------

def _report_page(report: Report, form: ReportForm, status: int = 200):
    # Not `offers`: "Save and submit" saves this very form before its guards judge it, so it stays enabled (as the
    # draft's and the score sheet's do) and the checklist beside it says what is still missing.
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
    save = None
    if "version" in request.form and found.status in reporting.EDITABLE:
        form = ReportForm()
        if not form.validate():
            flash(_("Some fields need correcting; nothing was saved or submitted."), "error")
            return _report_page(found, form, 400)
        save = lambda: reporting.save(found, current_user, form.content(), form.loaded_version)  # noqa: E731
    back = url_for(".report", report_id=report_id)
    return save_then_submit(found, "submit", save=save, submit=lambda: reporting.submit(found, current_user),
                            done=_("The report is submitted."), back=back, then=back)
