"""A call: the list, its definition while a draft (criteria, checks), its page and its steps."""
from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from app import policies
from app.extensions import db
from app.forms.admin import CallTriggerForm
from app.forms.attachments import AttachmentTypeForm
from app.forms.calls import AUTOMATIC_CHECKS, TRANCHE_EVENTS, CallForm, CheckForm, CopyCallForm, CriterionForm
from app.models import Application, AuditEvent, Call, Check, Criterion, Question, RankingProtocol, User
from app.models.attachments import AttachmentType
from app.services import attachments as attachment_service
from app.services import call_drafts
from app.services import calls as call_service
from app.services import questions as question_service
from app.services.workflow import effective_status, fire, offers
from app.views.admin import PER_PAGE, _document_url, _flash_errors, _organisers, _trigger_name, bp
from app.views.common import attempt, confirmed, current_lang, paginate
from workflows import diagram
from workflows.application import APPLICATION
from workflows.engine import WORKFLOWS

@bp.get("/")
def calls():
    query = (select(Call).where(policies.visible_calls_filter(current_user)).options(joinedload(Call.organiser))
             .order_by(Call.created_at.desc(), Call.id.desc()))
    page = paginate(query, PER_PAGE)
    counted = func.sum(case((Application.status != "draft", 1), else_=0))
    drafts = func.sum(case((Application.status == "draft", 1), else_=0))
    funded = func.sum(case((Application.status.in_(APPLICATION.groups["holds_award"]), 1), else_=0))
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
    if request.method == "POST" and _row_action(form):
        return render_template("admin/call_form.html", form=form, call=None, copy_form=_copy_form(formdata=None))
    if form.validate_on_submit():
        fields = form.call_fields()
        organiser_id = fields.pop("organiser_id")
        call = call_service.create(organiser_id, current_user, **fields)
        db.session.commit()
        flash(_("The call is created as a draft. Add its criteria and checks, then announce it."), "success")
        return redirect(url_for(".call", call_id=call.id))
    elif request.method == "POST":
        flash(_("Please correct the marked fields. Nothing was saved."), "error")
    return render_template("admin/call_form.html", form=form, call=None, copy_form=_copy_form(formdata=None))


def _copy_form(**kwargs) -> CopyCallForm:
    """The earlier calls an admin may copy: those of the organisers they act for, newest first."""
    sources = db.session.scalars(select(Call).where(Call.organiser_id.in_([o.id for o in _organisers()] or [-1]))
                                 .order_by(Call.created_at.desc(), Call.id.desc())).all()
    return CopyCallForm(sources=sources, **kwargs)


@bp.post("/calls/new/copy")
def copy_call():
    if current_user.role != "admin":
        abort(403)
    form = _copy_form()
    if not form.validate():
        flash(_("Please correct the marked fields. Nothing was saved."), "error")
        return render_template("admin/call_form.html", form=CallForm(formdata=None, organisers=_organisers()),
                               call=None, copy_form=form)
    source = policies.call_for_admin(form.source_id.data, current_user, write=True)
    copied = {}

    def act():
        copied["call"] = call_drafts.copy_call(source, current_user, code=(form.code.data or "").strip() or None,
                                               number_prefix=(form.number_prefix.data or "").strip() or None,
                                               opens_at=form.opens_at.data)

    if attempt(act, _("The call is copied as a new draft. Check its dates and texts, then announce it.")):
        return redirect(url_for(".call", call_id=copied["call"].id))
    return redirect(url_for(".new_call"))


def _row_action(form: CallForm) -> bool:
    """"Add a row" / "Remove" pressed in a list of the form (tranches, reports, tie-breaks): the form is shown
    again with the row added or removed, nothing saved, nothing validated."""
    action = request.form.get("row_action", "")
    if not action:
        return False
    verb, _sep, rest = action.partition(":")
    name, _sep, index = rest.partition(":")
    if name not in CallForm.ROW_LISTS or verb not in ("add", "remove") or (verb == "remove" and not index.isdigit()):
        abort(400)
    if verb == "add":
        form.add_row(name)
    else:
        form.remove_row(name, int(index))
    return True


@bp.route("/calls/<int:call_id>/edit", methods=["GET", "POST"])
def edit_call(call_id):
    call = policies.call_for_admin(call_id, current_user, write=request.method == "POST")
    if call.status != "draft":
        flash(_("The call is announced; its definition is frozen."), "error")
        return redirect(url_for(".call", call_id=call.id))
    form = CallForm(data=CallForm.data_of(call) if request.method == "GET" else None, call_id=call.id,
                    organisers=_organisers(), criteria=call.criteria)
    if request.method == "POST" and _row_action(form):
        return render_template("admin/call_form.html", form=form, call=call)
    if form.validate_on_submit():
        if attempt(lambda: call_service.update_draft(call, current_user, form.call_fields()), _("The call is saved.")):
            return redirect(url_for(".call", call_id=call.id))
    elif request.method == "POST":
        flash(_("Please correct the marked fields. Nothing was saved."), "error")
    return render_template("admin/call_form.html", form=form, call=call)


@bp.get("/calls/<int:call_id>/preview")
def preview_call(call_id):
    """The public page of a draft as it will look once announced: for its admins and auditors only."""
    call = policies.call_for_admin(call_id, current_user)
    return render_template("admin/call_preview.html", call=call, status="announced", results=None, accepting=False,
                           svg=diagram.to_svg(WORKFLOWS["call"], "announced", lang=current_lang()))


@bp.get("/calls/<int:call_id>/preview/regulations.pdf")
def preview_regulations(call_id):
    """The regulations as announcing would render them now, rendered on the fly and never stored."""
    from flask import Response

    from app import documents

    call = policies.call_for_admin(call_id, current_user)
    pdf = documents.render("regulations", call_service.regulations_context(call), "lv")
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{call.code}-nolikums-projekts.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/calls/<int:call_id>")
def call(call_id):
    return _render_call(policies.call_for_admin(call_id, current_user))


def _render_call(call: Call, criterion_form=None, check_form=None):
    status = effective_status(call)
    editable = call.status == "draft" and policies.administers(current_user, call)
    criteria, checks = call.criteria, call.checks
    events = paginate(select(AuditEvent).where(AuditEvent.entity_type == "call", AuditEvent.entity_id == call.id)
                      .order_by(AuditEvent.id.desc()), PER_PAGE)
    actors = {e.actor_id for e in events.items if e.actor_id is not None}
    actor_names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(actors or {-1}))).all())
    protocols = db.session.scalars(select(RankingProtocol).where(RankingProtocol.call_id == call.id)
                                   .order_by(RankingProtocol.id.desc())).all()
    codes = {c.code for c in criteria}
    offered = offers(call, current_user, state=status)
    special = ("announce", "extend_deadline", "reopen")
    return render_template(
        "admin/call.html", call=call, status=status, organiser=call.organiser, criteria=criteria, checks=checks,
        editable=editable,
        attachment_types=attachment_service.types_of(call), attachment_type_form=AttachmentTypeForm(formdata=None),
        formats_text=attachment_service.formats_text,
        criterion_form=criterion_form or CriterionForm(formdata=None),
        check_form=check_form or CheckForm(formdata=None),
        max_total=sum(c.max_half_points for c in criteria),
        anchors={c.id: _anchors(c) for c in criteria}, automatic_labels=AUTOMATIC_CHECKS,
        report_schedule=[(item["kind"], date.fromisoformat(item["due_on"])) for item in call.report_schedule or []],
        unknown_tie_keys=[k for k in call.tie_break_keys or [] if k != "submitted_at" and k not in codes],
        tie_labels=[_tie_label(k, criteria) for k in call.tie_break_keys or ["submitted_at"]],
        tranche_events=TRANCHE_EVENTS,
        blockers=_blockers(call) if call.status == "draft" else [],
        special_offers=[o for o in offered if o.trigger in special],
        plain_offers=[o for o in offered if o.trigger not in special],
        svg=diagram.to_svg(WORKFLOWS["call"], status, lang=current_lang()),
        regulations_url=_document_url(call.regulations_document_id),
        protocols=[(p, _document_url(p.document_id)) for p in protocols],
        events=events, actor_names=actor_names)


def _tie_label(key: str, criteria) -> str:
    if key == "submitted_at":
        return _("earlier submission")
    titles = {c.code: c.title(current_lang()) for c in criteria}
    if key in titles:
        return _("score of criterion %(code)s: %(title)s", code=key, title=titles[key])
    return _("criterion %(code)s, which this call does not have", code=key)


# where a problem is fixed: a section of the call page; anything else is a field of the settings form
_SECTIONS = {"criteria", "checks", "questions", "attachment-types", "cost-categories"}


def _blockers(call: Call) -> list[tuple[call_drafts.Problem, str | None]]:
    """Everything that blocks announcing the draft, each with the address of the place to fix it."""
    found = []
    for problem in call_drafts.announce_summary(call, current_user):
        if problem.where is None:
            href = None
        elif problem.where in _SECTIONS:
            href = url_for(".call", call_id=call.id, _anchor=problem.where)
        else:
            href = url_for(".edit_call", call_id=call.id, _anchor=problem.where)
        found.append((problem, href))
    return found


def _anchors(criterion: Criterion) -> list[list[tuple[int, str]]]:
    """The scale anchors in Latvian, then in English, each in points order (their keys are half points as text)."""
    return [sorted((int(k), v) for k, v in (anchors or {}).items() if str(k).isdigit())
            for anchors in (criterion.anchors, criterion.anchors_en)]


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
    if trigger in ("extend_deadline", "reopen") and form.closes_at.data is None:
        flash(_("Enter the new deadline."), "error")
        return redirect(back)
    asked = confirmed(call, trigger, back=back, note=note)  # confirm the ranking, publish, cancel: asked first
    if asked is not None:
        return asked

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


# --- the call's own questions (app/services/questions.py) ----------------------------------------------------

def _question_of(call: Call, question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or question.call_id != call.id:
        abort(404)
    return question


def _question_page(call: Call, question: Question | None, values: dict, errors: dict, status: int = 200):
    return render_template("admin/question_form.html", call=call, question=question, values=values, errors=errors,
                           kinds=question_service.TYPED_KINDS if question else question_service.KINDS,
                           kind_labels=question_service.KIND_LABELS,
                           steps=question_service.STEP_CHOICES, step_labels=question_service.STEP_LABELS,
                           editable=call.status == "draft" and policies.administers(current_user, call)), status


def _frozen(call: Call):
    """The call page, saying why, when the call is no longer a draft (its questions are frozen); else None."""
    if call.status == "draft":
        return None
    flash(_("The call is announced; its definition is frozen."), "error")
    return redirect(url_for(".call", call_id=call.id, _anchor="questions"))


def _question_save(call: Call, question: Question | None):
    """Add (question None) or change a question from the posted form; the form again with the errors if wrong."""
    kinds = question_service.TYPED_KINDS if question else question_service.KINDS  # a question never becomes a file
    fields, errors = question_service.parse_definition(request.form, kinds)
    if errors:
        flash(_("Please correct the marked fields. Nothing was saved."), "error")
        return _question_page(call, question, request.form.to_dict(), errors, 400)
    if question is None and fields["kind"] == "file":
        done = attempt(lambda: question_service.ask_for_file(call, current_user, fields),
                       _("The file is asked for as an attachment of the call: it is listed under the attachments, "
                         "and the applicant uploads it in the attachments step."))
    elif question is None:
        done = attempt(lambda: question_service.add(call, current_user, fields), _("The question is added."))
    else:
        done = attempt(lambda: question_service.update(question, current_user, fields), _("The question is saved."))
    if not done:
        return _question_page(call, question, request.form.to_dict(), {}, 409)
    return redirect(url_for(".call", call_id=call.id, _anchor="questions"))


@bp.route("/calls/<int:call_id>/questions/new", methods=["GET", "POST"])
def new_question(call_id):
    call = policies.call_for_admin(call_id, current_user, write=request.method == "POST")
    if (frozen := _frozen(call)) is not None:
        return frozen
    if request.method == "POST":
        return _question_save(call, None)
    return _question_page(call, None, {"step": question_service.DEFAULT_STEP, "kind": "short_text"}, {})


@bp.route("/calls/<int:call_id>/questions/<int:question_id>", methods=["GET", "POST"])
def edit_question(call_id, question_id):
    call = policies.call_for_admin(call_id, current_user, write=request.method == "POST")
    question = _question_of(call, question_id)
    if (frozen := _frozen(call)) is not None:
        return frozen
    if request.method == "POST":
        return _question_save(call, question)
    return _question_page(call, question, question_service.definition_values(question), {})


@bp.post("/calls/<int:call_id>/questions/<int:question_id>/delete")
def delete_question(call_id, question_id):
    call = policies.call_for_admin(call_id, current_user, write=True)
    question = _question_of(call, question_id)
    attempt(lambda: question_service.remove(question, current_user), _("The question is removed."))
    return redirect(url_for(".call", call_id=call.id, _anchor="questions"))


@bp.post("/calls/<int:call_id>/questions/<int:question_id>/move")
def move_question(call_id, question_id):
    call = policies.call_for_admin(call_id, current_user, write=True)
    question = _question_of(call, question_id)
    offset = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if offset is None:
        abort(400)
    attempt(lambda: question_service.move(question, current_user, offset), _("The order is saved."))
    return redirect(url_for(".call", call_id=call.id, _anchor="questions"))


# --- cost categories of a budgeted call (app/services/budget.py) ---------------------------------------------

def _category_of(call: Call, category_id: int):
    from app.models import CostCategory

    category = db.session.get(CostCategory, category_id)
    if category is None or category.call_id != call.id:
        abort(404)
    return category


def _category_save(call: Call, category):
    """Add (category None) or change a cost category from the posted form. A call whose categories are closed
    (announced, or not budgeted) goes back to its page with the reason; a wrong form is shown again as typed with
    each error beside its field, and nothing is saved."""
    from app.errors import Refused
    from app.forms.calls import CostCategoryForm
    from app.services import budget

    back = redirect(url_for(".call", call_id=call.id, _anchor="cost-categories"))
    if not attempt(lambda: budget.require_categories_editable(call)):
        return back
    form = CostCategoryForm()
    if not form.validate():
        return _category_page(call, category, form, 400)
    fields = form.category_fields()
    try:
        if category is None:
            budget.add_category(call, current_user, **fields)
        else:
            budget.update_category(category, current_user, **fields)
        db.session.commit()
    except Refused as refused:  # e.g. a name the call already has: said beside the names, as typed
        db.session.rollback()
        form.label_lv.errors = [*form.label_lv.errors, refused.message]
        return _category_page(call, category, form, 409)
    flash(_("Cost category “%(label)s” added.", label=fields["label_lv"]) if category is None
          else _("Cost category “%(label)s” saved.", label=fields["label_lv"]), "success")
    return back


def _category_page(call: Call, category, form, status: int = 200):
    editable = call.status == "draft" and call.funding_mode == "budgeted" and policies.administers(current_user, call)
    return render_template("admin/cost_category_form.html", call=call, category=category, form=form,
                           editable=editable), status


@bp.post("/calls/<int:call_id>/cost-categories")
def add_cost_category(call_id):
    return _category_save(policies.call_for_admin(call_id, current_user, write=True), None)


@bp.route("/calls/<int:call_id>/cost-categories/<int:category_id>", methods=["GET", "POST"])
def edit_cost_category(call_id, category_id):
    from app.forms.calls import CostCategoryForm

    call = policies.call_for_admin(call_id, current_user, write=request.method == "POST")
    category = _category_of(call, category_id)
    if request.method == "POST":
        return _category_save(call, category)
    form = CostCategoryForm(formdata=None, data={"label_lv": category.label_lv, "label_en": category.label_en,
                                                 "cap_percent": category.cap_percent})
    return _category_page(call, category, form)


@bp.post("/calls/<int:call_id>/cost-categories/<int:category_id>/move")
def move_cost_category(call_id, category_id):
    from app.services import budget

    call = policies.call_for_admin(call_id, current_user, write=True)
    category = _category_of(call, category_id)
    offset = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if offset is None:
        abort(400)
    attempt(lambda: budget.move_category(category, current_user, offset), _("The order is saved."))
    return redirect(url_for(".call", call_id=call.id, _anchor="cost-categories"))


@bp.post("/calls/<int:call_id>/cost-categories/<int:category_id>/delete")
def delete_cost_category(call_id, category_id):
    from app.models import CostCategory
    from app.services import budget

    call = policies.call_for_admin(call_id, current_user, write=True)
    category = db.session.get(CostCategory, category_id)
    if category is None or category.call_id != call.id:
        abort(404)
    label = category.label_lv
    attempt(lambda: budget.remove_category(call, current_user, category),
            _("Cost category “%(label)s” removed.", label=label))
    return redirect(url_for(".call", call_id=call.id, _anchor="cost-categories"))


@bp.post("/calls/<int:call_id>/attachment-types")
def add_attachment_type(call_id):
    call = policies.call_for_admin(call_id, current_user, write=True)
    form = AttachmentTypeForm()
    if not form.validate():
        _flash_errors(form)
        return redirect(url_for(".call", call_id=call.id, _anchor="attachment-types"))
    fields = form.type_fields()
    attempt(lambda: attachment_service.add_type(call, current_user, **fields),
            _("Attachment “%(label)s” added.", label=fields["label_lv"]))
    return redirect(url_for(".call", call_id=call.id, _anchor="attachment-types"))


@bp.post("/calls/<int:call_id>/attachment-types/<int:type_id>/delete")
def delete_attachment_type(call_id, type_id):
    call = policies.call_for_admin(call_id, current_user, write=True)
    item = db.session.get(AttachmentType, type_id)
    if item is None or item.call_id != call.id:
        abort(404)
    attempt(lambda: attachment_service.remove_type(call, current_user, item),
            _("Attachment “%(label)s” removed.", label=item.label_lv))
    return redirect(url_for(".call", call_id=call.id, _anchor="attachment-types"))
