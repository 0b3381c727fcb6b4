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
from app.forms.calls import AUTOMATIC_CHECKS, CallForm, CheckForm, CriterionForm
from app.models import Application, AuditEvent, Call, Check, Criterion, RankingProtocol, User
from app.services import calls as call_service
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
        criterion_form=criterion_form or CriterionForm(formdata=None),
        check_form=check_form or CheckForm(formdata=None),
        max_total=sum(c.max_half_points for c in criteria),
        anchors={c.id: _anchors(c) for c in criteria}, automatic_labels=AUTOMATIC_CHECKS,
        report_schedule=[(item["kind"], date.fromisoformat(item["due_on"])) for item in call.report_schedule or []],
        unknown_tie_keys=[k for k in call.tie_break_keys or [] if k != "submitted_at" and k not in codes],
        special_offers=[o for o in offered if o.trigger in special],
        plain_offers=[o for o in offered if o.trigger not in special],
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
