"""A call's applications and one application: its checks, clarifications, assignments and steps."""
from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.utils import secure_filename

from app import policies
from app.extensions import db
from app.forms.admin import ApplicationTriggerForm, AssignForm, ClarificationForm, TriggerForm
from app.forms.admin import checks_form as make_checks_form
from app.models import Application, Assignment, User
from app.forms.agreements import AmendAgreementForm
from app.services import agreements
from app.services import applications, applications_list, budget, evaluation, pages, questions, reviews
from app.services.applications_list import Cursor, ListFilter
from app.services.workflow import effective_status, fire
from app.views.admin import (_document_url, _flash_errors, _owned, _redirect_to_application,
                             _trigger_name, bp)
from app.views.common import attempt, confirmed, current_lang
from workflows import diagram
from workflows.call import CALL
from workflows.engine import WORKFLOWS


@bp.get("/calls/<int:call_id>/applications")
def call_applications(call_id):
    """Bounded queries whatever the number of rows: the page, the counts per state, one aggregate for the reviews."""
    call = policies.call_for_admin(call_id, current_user)
    status = effective_status(call)
    states = _listed_states()
    chosen = ListFilter.parse(request.args, states)
    page = applications_list.list_page(call, chosen, Cursor.decode(request.args.get("cursor"), chosen))
    show_reviews = status in CALL.groups["evaluation_started"]
    reviews = dict(db.session.execute(
        select(Assignment.application_id, func.count(Assignment.id))
        .where(Assignment.application_id.in_([a.id for a in page.rows] or [-1]), Assignment.status == "submitted")
        .group_by(Assignment.application_id)).all()) if show_reviews and page.rows else {}
    return render_template(
        "admin/applications.html", call=call, status=status, page=page, reviews=reviews, chosen=chosen,
        filters=[(s, page.by_state[s]) for s in states if page.by_state.get(s)],
        total=sum(page.by_state.values()), show_reviews=show_reviews)


@bp.get("/calls/<int:call_id>/applications.csv")
def call_applications_csv(call_id):
    """Every application under the list's filter, in its order, streamed: UTF-8 with a BOM (Excel then reads
    Latvian letters), `;` between fields (the list separator of Excel under Latvian regional settings, where the
    comma is the decimal sign; Python's csv and every spreadsheet read it when told)."""
    call = policies.call_for_admin(call_id, current_user)
    chosen = ListFilter.parse(request.args, _listed_states())
    lang, label, call_id = current_lang(), WORKFLOWS["application"], call.id
    asked = questions.asked(call)
    question_labels = [q.label(lang) for q in asked]
    for question in asked:  # read while streaming, after the request's session has let its objects go
        db.session.expunge(question)
    budget_headers, budget_values = budget.csv_columns(call, lang)  # per cost category, read now, not while streaming

    def answers(content):
        given = (content or {}).get("questions") or {}
        return [questions.answer_text(q, given.get(q.key), lang) for q in asked]

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow([*applications_list.CSV_COLUMNS, *question_labels, *budget_headers])
        yield "\ufeff" + buffer.getvalue()
        for row in applications_list.csv_rows(call_id, chosen, lambda state: label.label(state, lang), answers,
                                              budget_values):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(row)
            yield buffer.getvalue()

    name = secure_filename(f"{call.code}-applications.csv") or "applications.csv"
    return Response(stream_with_context(lines()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _listed_states() -> list[str]:
    return [s.name for s in WORKFLOWS["application"].states if s.name != "draft"]


# --- one application --------------------------------------------------------------------------------------------

@bp.get("/applications/<int:application_id>")
def application(application_id):
    application = policies.application_for(application_id, current_user)
    return _render_application(application)


def _render_application(application: Application, checks_form=None, clarification_form=None):
    """The application's page; a refused form is shown again as it was filled in."""
    page = pages.admin_application_page(application, current_user)
    if checks_form is None and page.checks_open:
        checks_form = make_checks_form(page.checks, formdata=None, data=page.check_answers)
    return render_template(
        "admin/application.html", **page.context(),
        checks_form=checks_form if page.checks_open else None,
        clarification_form=clarification_form or ClarificationForm(formdata=None),
        assign_form=AssignForm(formdata=None, evaluators=page.candidates) if page.assignable else None,
        documents=[(label, _document_url(document_id)) for label, document_id in page.document_ids],
        svg=diagram.to_svg(WORKFLOWS["application"], application.status, lang=current_lang()),
        consensus_notes=reviews.consensus_notes(application), agreement=agreements.summary(application),
        amend_form=AmendAgreementForm(formdata=None))


@bp.post("/applications/<int:application_id>/agreement/amend")
def amend_agreement(application_id):
    """Issue a new version of the agreement with a reason; the NGO accepts it again."""
    application = policies.application_for(application_id, current_user, write=True)
    form = AmendAgreementForm()
    if not form.validate():
        _flash_errors(form)
    else:
        attempt(lambda: agreements.amend(application, current_user, form.reason.data),
                _("A new version of the agreement is issued. The organisation is asked to accept it."))
    return _redirect_to_application(application, "agreement")


@bp.get("/agreement-signatures/<int:signature_id>")
def agreement_signature(signature_id):
    """An uploaded signed copy, as the NGO sent it, for whoever may see the application; always a download."""
    from app.models import AgreementSignature

    found = db.session.get(AgreementSignature, signature_id)
    if found is None:
        abort(404)
    policies.application_for(found.application_id, current_user)
    name = secure_filename(found.original_name) or f"signed.{found.format}"
    response = Response(found.content, mimetype="application/pdf" if found.format == "pdf"
                        else "application/vnd.etsi.asic-e+zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-SHA256"] = found.sha256
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/applications/<int:application_id>/checks")
def record_checks(application_id):
    application = policies.application_for(application_id, current_user, write=True)
    checks = application.call.checks
    form = make_checks_form(checks)
    if not form.validate():
        _flash_errors(form)
    elif attempt(lambda: applications.record_checks(application, current_user, form.results(checks)),
                  _("The checks are recorded.")):
        return _redirect_to_application(application, "checks")
    # refused: show the page again with the answers as given
    return _render_application(application, checks_form=form)


@bp.post("/applications/<int:application_id>/clarification")
def request_clarification(application_id):
    application = policies.application_for(application_id, current_user, write=True)
    form = ClarificationForm()
    if form.validate() and attempt(
            lambda: applications.request_clarification(application, current_user, form.question.data,
                                                       form.answer_due_at.data),
            _("The question is sent to the applicant.")):
        return _redirect_to_application(application, "clarifications")
    return _render_application(application, clarification_form=form)


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
    asked = confirmed(application, trigger, back=url_for(".application", application_id=application.id),
                      note=form.note.data)  # sign, close the grant: asked first
    if asked is not None:
        return asked
    data = {"recovery_cents": form.recovery.data} if trigger == "terminate" and form.recovery.data is not None else {}
    attempt(lambda: fire(application, trigger, current_user, form.note.data, **data),
             _("Done: %(step)s.", step=_trigger_name("application", trigger)))
    return _redirect_to_application(application)


@bp.post("/assignments/<int:assignment_id>/fire")
def assignment_fire(assignment_id):
    assignment, application = _owned(Assignment, assignment_id)
    form = TriggerForm()
    if form.validate():
        asked = confirmed(assignment, form.trigger.data, back=url_for(".application", application_id=application.id,
                                                                       _anchor="assignments"), note=form.note.data)
        if asked is not None:
            return asked
        attempt(lambda: fire(assignment, form.trigger.data, current_user, form.note.data),
                 _("Done: %(step)s.", step=_trigger_name("review", form.trigger.data)))
    else:
        _flash_errors(form)
    return _redirect_to_application(application, "assignments")
