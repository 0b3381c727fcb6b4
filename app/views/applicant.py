"""The NGO's pages: its applications from draft to closed grant, and its reports."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app import clock, policies
from app.extensions import csrf, db
from app.forms.attachments import UploadForm
from app.models.attachments import MAX_FILE_BYTES
from app.services import attachments as attachment_service
from app.forms.applications import (STEP_FORMS, ActionForm, AppealForm, ApplicationForm, ClarificationForm,
                                    ReportForm)
from app.models import Application, Call, Report
from app.services import applications, jobs, pages, questions, reporting, steps
from app.services.workflow import available, fire, offers
from app.views.common import attempt, current_lang, only_role, paginate, save_then_submit
from workflows import diagram
from workflows.engine import WORKFLOWS

bp = Blueprint("applicant", __name__, url_prefix="/apply")

# Triggers the generic action route fires; those that need more than a reason have routes of their own.
SIMPLE_TRIGGERS = ("withdraw", "accept_offer", "decline", "renounce")
PAGE_SIZE = 25


def _keep_expired_step_post():
    """A step posted after the session ended: Flask-Login would send the user to log in and the text would be
    lost. Keep it (steps.keep: only with the signature the step's form carries) and come back to it after login."""
    if request.method != "POST" or request.endpoint != "applicant.step" or current_user.is_authenticated:
        return None
    args = request.view_args or {}
    form_class = STEP_FORMS.get(args.get("step"))
    if form_class is None:
        return None
    names = {f.name for f in form_class(formdata=None, meta={"csrf": False})} - {"keep", "csrf_token"}
    token = steps.keep(request.form.get("keep", ""), args.get("app_id"), args.get("step"),
                       list(request.form.items(multi=True)), lambda name: name in names or name.startswith("q-"))
    if token is None:
        return None  # the role gate sends the visitor to log in; nothing is kept
    flash(_("Your session had ended, so the step was not saved yet; your text is kept. Log in to continue."), "info")
    return redirect(url_for("auth.login", next=url_for(".step", app_id=args["app_id"], step=args["step"],
                                                       kept=token)))


bp.before_request(_keep_expired_step_post)  # before the role gate, which sends the anonymous to log in
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


@bp.post("/announcements")
@login_required
def announcements():
    """"Do not e-mail me new calls": the member's own choice, ticked or not (a checkbox not ticked is not sent)."""
    from app.services import calls as call_service

    opt_out = request.form.get("announcements_opt_out") == "y"
    attempt(lambda: call_service.set_announcements_opt_out(current_user, opt_out),
            _("New calls will not be e-mailed to you.") if opt_out else _("New calls will be e-mailed to you."))
    return redirect(url_for("auth.messages"))


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


def _deadline_context(application: Application) -> dict:
    call = application.call
    remaining = call.closes_at - clock.now() if call.closes_at else None
    return {"application": application, "call": call, "editable": _editable(application),
            "days_left": remaining.days if remaining and remaining.total_seconds() > 0 else None}


def _edit_page(application: Application, form: ApplicationForm | None = None, status: int = 200,
               sent: dict | None = None, question_errors: dict | None = None):
    """The draft's main page: the task list of the guided form's steps (templates/applicant/edit.html). A refused
    whole-form save (the one-page form's POST, kept for old clients) says what was wrong above it."""
    if form is not None and status == 400:  # the task list has no fields to show the errors beside
        for error in dict.fromkeys([*(str(e) for f in form for e in f.errors), *(question_errors or {}).values()]):
            flash(error, "error")
    return render_template("applicant/edit.html", **_deadline_context(application),
                           tasks=steps.task_list(application),
                           problems=steps.problems(application, current_user),
                           svg=diagram.to_svg(WORKFLOWS["application"], application.status, lang=current_lang())), status


def _step_page(application: Application, step, form, *, answers: dict, question_errors: dict | None = None,
               theirs: list | None = None, status: int = 200):
    shown = steps.shown(application)
    position = shown.index(step)
    form.keep.data = steps.keep_signature(application, step)
    return render_template("applicant/step.html", **_deadline_context(application), step=step, form=form,
                           fields=steps.fields_of(application, step), position=position + 1, total=len(shown),
                           previous=steps.url(application, shown[position - 1]) if position else None,
                           call_questions=steps.questions_for(application, step.name), answers=answers,
                           question_errors=question_errors or {}, theirs=theirs), status


def _answer_rows(application: Application, step) -> list[dict]:
    """What a step holds, as the "check your answers" page shows it: label, text, and the field to change."""
    from app.formatting import day, money

    form = STEP_FORMS[step.name](formdata=None, meta={"csrf": False})
    form.fill(application)
    rows = []
    for name in steps.fields_of(application, step):
        value = steps.stored(application, name)
        if name == "amount_cents":
            rows.append({"field": "amount", "label": form.amount.label.text,
                         "text": money(value, current_lang()) if value else ""})
        elif name in ("start_on", "end_on"):
            period = application.project_period
            found = period.start if name == "start_on" else period.end
            rows.append({"field": name, "label": form[name].label.text,
                         "text": day(found, current_lang()) if found else ""})
        elif name == "declarations_accepted":
            rows.append({"field": "declarations", "label": form.declarations.label.text,
                         "text": _("Yes") if value else _("No")})
        elif name == "indicators":
            rows.append({"field": "indicator_1_name", "label": _("Indicators"), "lines": [
                f"{i.get('name')}: {i.get('target')}" for i in (value or []) if isinstance(i, dict)]})
        else:
            rows.append({"field": name, "label": form[name].label.text,
                         "text": "" if value is None else str(value)})
    asked = {q.key for q in steps.questions_for(application, step.name)}
    if asked:
        for shown in questions.shown(application, current_lang()):
            if shown["key"] in asked:
                rows.append({"field": f"q-{shown['key']}", "label": shown["label"], "text": shown["answer"]})
    return rows


def _save(application: Application, form: ApplicationForm, answers: dict) -> None:
    budgeted = application.call.funding_mode == "budgeted"
    applications.save_draft(
        application, current_user, title=form.title.data or "", content=form.content(),
        amount_cents=(form.amount_cents or 0) if budgeted else application.amount_cents,
        declarations_accepted=bool(form.declarations.data), version=form.loaded_version)
    questions.save(application, current_user, answers)


def _posted_answers(application: Application):
    """The call's questions as posted: (answers judged, errors by key, what was sent, to show it again)."""
    asked = questions.asked(application.call)
    answers, errors = questions.parse_answers(asked, request.form)
    return answers, errors, {q.key: request.form.get(questions.field_name(q)) for q in asked}


@bp.route("/applications/<int:app_id>", methods=["GET", "POST"])
@login_required
def edit(app_id):
    """GET: the task list. POST: the one-page form's whole save, which no page sends any more (old clients)."""
    application = policies.application_for(app_id, current_user, write=request.method == "POST")
    if application.status != "draft":
        return redirect(url_for(".view", app_id=app_id))
    if request.method == "GET":
        return _edit_page(application)
    form = ApplicationForm()
    answers, question_errors, sent = _posted_answers(application)
    if not form.validate() or question_errors:
        flash(_("Some fields need correcting; nothing was saved."), "error")
        return _edit_page(application, form, 400, sent, question_errors)
    attempt(lambda: _save(application, form, answers), _("Saved."))
    return redirect(url_for(".edit", app_id=app_id))


@bp.route("/applications/<int:app_id>/steps/<step>", methods=["GET", "POST"], endpoint="step")
@login_required
def step_page(app_id, step):
    """One step of the guided form, saved when the user leaves it: "Save and continue" goes on to the next step
    (after the last, to "check your answers"), "Save and come back later" to the task list."""
    if request.method == "GET":
        steps.discard_for_stranger(request.args.get("kept"), app_id, current_user)
    application = policies.application_for(app_id, current_user, write=request.method == "POST")
    if application.status != "draft":
        return redirect(url_for(".view", app_id=app_id))
    found = steps.find(application, step)
    if found is None:
        abort(404)
    form_class, asked = STEP_FORMS[found.name], steps.questions_for(application, found.name)
    if request.method == "GET":
        kept = steps.kept(request.args.get("kept"), application, found, current_user)
        if kept is not None:
            sent = MultiDict([tuple(pair) for pair in kept.data])
            form = form_class(formdata=sent)
            form.kept.data = kept.token
            flash(_("Your text from before the sign-in is back: check it and save."), "info")
            return _step_page(application, found, form,
                              answers={q.key: sent.get(questions.field_name(q)) for q in asked})
        form = form_class(formdata=None)
        form.fill(application)
        form.fingerprint.data = steps.fingerprint(application, found)
        return _step_page(application, found, form, answers=questions.answers_of(application) if asked else {})
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()  # exempt from the app-wide check only so that a post after the session ended can be kept
    form = form_class()
    answers, question_errors = questions.parse_answers(asked, request.form) if asked else ({}, {})
    sent = {q.key: request.form.get(questions.field_name(q)) for q in asked}
    if not form.validate() or question_errors:
        flash(_("Some fields need correcting; nothing was saved."), "error")
        return _step_page(application, found, form, answers=sent, question_errors=question_errors, status=400)

    def save():
        steps.save(application, current_user, found, form.values(), answers=answers, version=form.loaded_version,
                   loaded=form.fingerprint.data or "")
        steps.drop(form.kept.data, application)

    if not attempt(save, _("Saved.")):
        # Refused (another member saved this step meanwhile, or the call closed): what was typed stays on the page.
        application = policies.application_for(app_id, current_user)
        theirs = _answer_rows(application, found) if application.version != form.loaded_version else None
        form.version.data = str(application.version)
        form.fingerprint.data = steps.fingerprint(application, found)
        return _step_page(application, found, form, answers=sent, theirs=theirs, status=409)
    if request.form.get("go") == "later":
        return redirect(url_for(".edit", app_id=app_id))
    shown = steps.shown(application)
    following = shown[shown.index(found) + 1:]
    return redirect(steps.url(application, following[0]) if following else url_for(".check", app_id=app_id))


csrf.exempt(step_page)


@bp.get("/applications/<int:app_id>/check")
@login_required
def check(app_id):
    """Check your answers: every step's answers with a link back to each, what still blocks submitting, Submit."""
    application = policies.application_for(app_id, current_user)
    if application.status != "draft":
        return redirect(url_for(".view", app_id=app_id))
    sections = [{**task, "rows": _answer_rows(application, task["step"]) if task["step"].own else None}
                for task in steps.task_list(application)]
    return render_template("applicant/check.html", **_deadline_context(application), sections=sections,
                           problems=steps.problems(application, current_user))


@bp.post("/applications/<int:app_id>/submit")
@login_required
def submit(app_id):
    """Submit the draft. When posted from the edit form, the form is saved first, so no typing is lost; the page
    that asks first then posts confirmed=1 alone, as the form is saved."""
    application = policies.application_for(app_id, current_user, write=True)
    save = None
    if "version" in request.form and application.status == "draft":
        form = ApplicationForm()
        answers, question_errors, sent = _posted_answers(application)
        if not form.validate() or question_errors:
            flash(_("Some fields need correcting; nothing was saved or submitted."), "error")
            return _edit_page(application, form, 400, sent, question_errors)
        save = lambda: _save(application, form, answers)  # noqa: E731
    return save_then_submit(
        application, "submit", save=save, submit=lambda: applications.submit(application, current_user),
        done=_("Your application is submitted. Keep the receipt."), fields=[],
        back=url_for(".check", app_id=app_id), then=url_for(".receipt", app_id=app_id),
        kept=_("Your changes are saved, but the application is not submitted yet."))


@bp.get("/applications/<int:app_id>/receipt")
@login_required
def receipt(app_id):
    application = policies.application_for(app_id, current_user)
    if application.submitted_at is None:
        return redirect(url_for(".edit", app_id=app_id))
    return render_template("applicant/receipt.html", application=application,
                           attachments=attachment_service.receipt_rows(application, current_lang()),
                           copy=jobs.copy_of(application.receipt_document_id, current_user))


# --- after submission ---------------------------------------------------------------------------------------

@bp.get("/applications/<int:app_id>/view")
@login_required
def view(app_id):
    application = policies.application_for(app_id, current_user)
    if application.status == "draft":
        return redirect(url_for(".edit", app_id=app_id))
    page = pages.applicant_application_page(application, current_user)
    from app.forms.agreements import AcceptAgreementForm, SignedAgreementForm
    from app.services import agreements

    return render_template("applicant/view.html", **page.context(), clarify_form=ClarificationForm(),
                           appeal_form=AppealForm(), agreement=agreements.summary(application),
                           accept_agreement_form=AcceptAgreementForm(), signed_agreement_form=SignedAgreementForm(),
                           svg=diagram.to_svg(WORKFLOWS["application"], application.status, lang=current_lang()))


@bp.post("/applications/<int:app_id>/clarify")
@login_required
def clarify(app_id):
    application = policies.application_for(app_id, current_user, write=True)
    form = ClarificationForm()
    if not form.validate():
        flash(str(form.answer.errors[0]), "error")  # "Write your answer." or that it is too long
        return redirect(url_for(".view", app_id=app_id))
    files = [(f.filename, f.read(MAX_FILE_BYTES + 1)) for f in form.files.data or () if getattr(f, "filename", "")]
    attempt(lambda: applications.clarify(application, current_user, form.answer.data, files),
            _("Your answer is sent."))
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
    # accept_offer: the agreement's SHA-256 the page showed, so that a version issued meanwhile is not accepted
    data = {"sha256": request.form.get("sha256", "")[:64]} if trigger == "accept_offer" else {}
    attempt(lambda: fire(application, trigger, current_user, form.note.data, **data),
            lambda: _("Done: %(state)s.", state=WORKFLOWS["application"].label(application.status, current_lang())))
    return redirect(url_for(".view", app_id=app_id))


@bp.post("/applications/<int:app_id>/agreement/accept")
@login_required
def accept_agreement(app_id):
    """Accept the agreement awaiting acceptance (the offer's or an amendment's), as the page showed it."""
    from app.forms.agreements import AcceptAgreementForm
    from app.services import agreements

    application = policies.application_for(app_id, current_user, write=True)
    form = AcceptAgreementForm()
    if not form.validate():
        abort(400)
    if not form.confirm.data:
        flash(_("Tick the confirmation first."), "error")
        return redirect(url_for(".view", app_id=app_id))
    attempt(lambda: agreements.accept(application, current_user, form.sha256.data or None),
            _("You accepted the agreement."))
    return redirect(url_for(".view", app_id=app_id, _anchor="agreement"))


@bp.post("/applications/<int:app_id>/agreement/signed")
@login_required
def upload_signed_agreement(app_id):
    """A copy of the agreement signed with an electronic signature: kept with what its check found; it counts as
    the acceptance only when its signature is intact and it is the agreement issued."""
    from app.forms.agreements import SignedAgreementForm
    from app.services import agreements

    application = policies.application_for(app_id, current_user, write=True)
    form = SignedAgreementForm()
    if not form.validate():
        abort(400)
    upload = form.file.data
    if not getattr(upload, "filename", ""):
        flash(_("Choose the file again."), "error")
        return redirect(url_for(".view", app_id=app_id, _anchor="agreement"))
    stored = []
    if attempt(lambda: stored.append(agreements.upload_signed(application, current_user, upload.filename,
                                                               upload.read(MAX_FILE_BYTES + 1)))):
        row = stored[0]
        flash(_("You accepted the agreement with your signed copy.") if row.accepted else
              _("The signed copy does not count as acceptance."), "success" if row.accepted else "error")
        for message in agreements.finding_messages(row):
            flash(message, "info")
    return redirect(url_for(".view", app_id=app_id, _anchor="agreement"))


# --- reports ------------------------------------------------------------------------------------------------

def _report_page(report: Report, form: ReportForm, status: int = 200, part_errors=None, posted=None):
    # "Save and submit" saves this very form before its guards judge it, so it stays enabled (as the draft's and
    # the score sheet's do) and the checklist beside it says what is still missing; only a refusal that saving
    # cannot cure (the reported period has not begun) disables it, with the reason from `offers` beside it.
    submit_offer = next((o for o in offers(report, current_user) if o.trigger in ("submit", "resubmit")), None)
    blocked = submit_offer.reason if submit_offer and not submit_offer.allowed and reporting.too_early(report) else None
    return render_template("applicant/report.html", report=report, application=report.application, form=form,
                           problems=reporting.problems(report), editable=report.status in reporting.EDITABLE,
                           triggers=available(report, current_user), blocked=blocked,
                           indicators=reporting.indicators_of(report), spending=reporting.spending_of(report),
                           part_errors=part_errors or {}, posted=posted, files=reporting.files_of(report),
                           file_kinds=reporting.FILE_KINDS, rounds=reporting.rounds_of(report),
                           overdue=reporting.is_overdue(report), upload_form=UploadForm()), status


def _report_save(found: Report, form: ReportForm):
    """The form's content and the errors of its indicator and spending parts (judged on the server)."""
    indicators, spending, errors = reporting.read_parts(found, request.form)
    return {**form.content(), "indicators": indicators, "spending": spending}, errors


@bp.route("/reports/<int:report_id>", methods=["GET", "POST"])
@login_required
def report(report_id):
    found = policies.report_for(report_id, current_user, write=request.method == "POST")
    form = ReportForm()
    if request.method == "GET":
        form.fill(found)
        return _report_page(found, form)
    content, errors = _report_save(found, form)
    if not form.validate() or errors:
        flash(_("Some fields need correcting; nothing was saved."), "error")
        return _report_page(found, form, 400, errors, request.form)
    attempt(lambda: reporting.save(found, current_user, content, form.loaded_version), _("Saved."))
    return redirect(url_for(".report", report_id=report_id))


@bp.post("/reports/<int:report_id>/submit")
@login_required
def submit_report(report_id):
    found = policies.report_for(report_id, current_user, write=True)
    save = None
    if "version" in request.form and found.status in reporting.EDITABLE:
        form = ReportForm()
        content, errors = _report_save(found, form)
        if not form.validate() or errors:
            flash(_("Some fields need correcting; nothing was saved or submitted."), "error")
            return _report_page(found, form, 400, errors, request.form)
        save = lambda: reporting.save(found, current_user, content, form.loaded_version)  # noqa: E731
    back = url_for(".report", report_id=report_id)
    return save_then_submit(found, "submit", save=save, submit=lambda: reporting.submit(found, current_user),
                            done=_("The report is submitted."), back=back, then=back)


@bp.post("/reports/<int:report_id>/files")
@login_required
def report_upload(report_id):
    found = policies.report_for(report_id, current_user, write=True)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file first."), "error")
        return redirect(url_for(".report", report_id=report_id, _anchor="files"))
    data = upload.read(MAX_FILE_BYTES + 1)
    attempt(lambda: reporting.upload(found, current_user, request.form.get("kind", ""), upload.filename, data),
            _("The file is added."))
    return redirect(url_for(".report", report_id=report_id, _anchor="files"))


@bp.post("/reports/<int:report_id>/files/remove")
@login_required
def report_remove_file(report_id):
    found = policies.report_for(report_id, current_user, write=True)
    file_id = request.form.get("file_id", "")
    if not file_id.isdigit() or len(file_id) > 9:
        abort(400)
    attempt(lambda: reporting.remove(found, current_user, int(file_id)), _("The file is removed."))
    return redirect(url_for(".report", report_id=report_id, _anchor="files"))


@bp.get("/reports/<int:report_id>/files/<int:file_id>")
@login_required
def report_file(report_id, file_id):
    found = policies.report_for(report_id, current_user)
    row = reporting.download(found, current_user, file_id)
    db.session.commit()  # the download is logged
    return send_report_file(row)


def send_report_file(row):
    from flask import Response
    from urllib.parse import quote

    response = Response(row.content or b"", mimetype=row.content_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(row.filename)}"
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the budget table of a budgeted call (app/services/budget.py) ---------------------------------------------

BLANK_ROWS = 3  # empty rows offered below the lines, so the table works without JavaScript


def _budget_page(application: Application, form, rows, errors=None, general=(), status: int = 200):
    from app.services import budget

    call = application.call
    editable = _editable(application)
    if editable:
        rows = list(rows) + [budget.LineInput() for _ in range(BLANK_ROWS)]
    typed = budget.read(call, rows).lines if errors is not None else application.budget_lines
    return render_template("applicant/budget.html", application=application, call=call, form=form, rows=rows,
                           errors=errors or {}, general=list(general), editable=editable,
                           summary=budget.summary(call, typed),
                           totals=[_line_total(row) for row in rows]), status


def _line_total(row) -> int | None:
    from app.services import budget

    try:
        return budget.parse_quantity(row.quantity) * budget.parse_unit_cost(row.unit_cost)
    except ValueError:
        return None


@bp.route("/applications/<int:app_id>/budget", methods=["GET", "POST"])
@login_required
def budget(app_id):
    from app.errors import Refused
    from app.formatting import money
    from app.forms.applications import BudgetForm
    from app.services import budget as budget_service

    application = policies.application_for(app_id, current_user, write=request.method == "POST")
    if application.call.funding_mode != "budgeted":
        flash(_("This call funds a lump sum: there is no budget table to fill in."), "info")
        return redirect(url_for(".edit", app_id=app_id))
    if application.status != "draft":
        return redirect(url_for(".view", app_id=app_id))
    form = BudgetForm()
    if request.method == "GET":
        form.version.data = str(application.version)
        return _budget_page(application, form, budget_service.rows_of(application))
    rows = form.rows()
    if not form.validate():
        return _budget_page(application, form, rows, errors={}, general=form.version.errors, status=400)
    try:
        summary = budget_service.save(application, current_user, rows, form.loaded_version)
        db.session.commit()
    except budget_service.BudgetInvalid as invalid:
        db.session.rollback()
        flash(invalid.message, "error")
        return _budget_page(application, form, rows, errors=invalid.reading.errors,
                            general=invalid.reading.general, status=400)
    except Refused as refused:  # stale, closed, submitted meanwhile: say why, and keep what was typed on the page
        db.session.rollback()
        db.session.refresh(application)
        flash(refused.message, "error")
        return _budget_page(application, form, rows, errors={}, status=409)
    flash(_("The budget is saved: %(total)s.", total=money(summary.total_cents, current_lang())), "success")
    if summary.problems:
        flash(_("Before you submit: %(problems)s", problems=" ".join(summary.problems)), "info")
    return redirect(url_for(".budget", app_id=app_id))


# --- attachments --------------------------------------------------------------------------------------------

def _attachments_page(application: Application):
    return render_template("applicant/attachments.html", application=application,
                           rows=attachment_service.rows_of(application, current_lang()),
                           missing=attachment_service.missing_required(application),
                           editable=attachment_service.editable(application),
                           max_other=attachment_service.MAX_OTHER_FILES, form=UploadForm())


@bp.route("/applications/<int:app_id>/attachments", methods=["GET", "POST"])
@login_required
def attachments(app_id):
    """The application's files, one row per type the call asks for, and other files: upload or replace (POST)
    while a draft. The file is judged by the service (content, size, type); the view only reads the request."""
    application = policies.application_for(app_id, current_user, write=request.method == "POST")
    if request.method == "GET":
        return _attachments_page(application)
    form = UploadForm()
    if not form.validate():
        abort(400)  # no form of ours sends this: the type is a hidden field of each row
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        flash(_("Choose a file to upload."), "error")
        return redirect(url_for(".attachments", app_id=app_id))
    data, name = upload.read(MAX_FILE_BYTES + 1), upload.filename
    attempt(lambda: attachment_service.upload(application, current_user, form.chosen_type, name, data),
            lambda: _("“%(name)s” is attached.", name=attachment_service.display_name(name)))
    return redirect(url_for(".attachments", app_id=app_id))


@bp.post("/applications/<int:app_id>/attachments/<int:file_id>/remove")
@login_required
def remove_attachment(app_id, file_id):
    application = policies.application_for(app_id, current_user, write=True)
    attempt(lambda: attachment_service.remove(application, current_user, file_id), _("The file is removed."))
    return redirect(url_for(".attachments", app_id=app_id))


# --- conflicts of interest the NGO names ------------------------------------------------------------------------

@bp.route("/applications/<int:app_id>/conflicts", methods=["GET", "POST"])
@login_required
def conflicts(app_id):
    """While drafting or after submitting, until evaluators are assigned, the NGO names an evaluator of the call's
    pool it considers conflicted, with its reason (app/services/conflicts.py). Names only: no address is shown."""
    from app.services import conflicts as conflict_service

    application = policies.application_for(app_id, current_user, write=request.method == "POST")
    if request.method == "POST":
        evaluator_id = (request.form.get("evaluator_id") or "").strip()
        attempt(lambda: conflict_service.name_conflict(
            application, current_user, int(evaluator_id) if evaluator_id.isdigit() and len(evaluator_id) < 10
            else -1, request.form.get("reason", "")),
            _("The conflict of interest is recorded: this evaluator will not be given your applications."))
        return redirect(url_for(".conflicts", app_id=app_id))
    problem = conflict_service.naming_problem(application)
    named = conflict_service.named_by_organisation(application.organisation_id)
    names = conflict_service.evaluator_names([c.evaluator_id for c in named] + [c.named_by_id for c in named])
    return render_template("applicant/conflicts.html", application=application, problem=problem, named=named,
                           names=names, choices=[] if problem else conflict_service.nameable(application),
                           limit=conflict_service.REASON_LIMIT)


@bp.get("/applications/<int:app_id>/timeline")
@login_required
def timeline(app_id):
    """Everything that happened to the application and its grant, in order (app/services/timeline.py)."""
    from app.services import timeline as timeline_service

    application = policies.application_for(app_id, current_user)
    return render_template("applicant/timeline.html", application=application,
                           entries=timeline_service.grant_timeline(application, current_user, current_lang()))
