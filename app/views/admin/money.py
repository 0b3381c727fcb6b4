"""A grant's money and reporting: payments, recoveries, reports."""
from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock, policies
from app.extensions import db
from app.forms.admin import PaymentTriggerForm, ShortfallForm, TriggerForm
from app.models import Payment, Recovery
from app.services import reporting
from app.services.workflow import fire, offers
from app.views.admin import _flash_errors, _owned, _redirect_to_application, _trigger_name, bp
from app.views.common import attempt, confirmed, current_lang
from workflows import diagram
from workflows.engine import WORKFLOWS


@bp.post("/payments/<int:payment_id>/fire")
def payment_fire(payment_id):
    payment, application = _owned(Payment, payment_id)
    form = PaymentTriggerForm()
    if form.validate():
        trigger = form.trigger.data
        asked = confirmed(payment, trigger, back=url_for(".application", application_id=application.id,
                                                          _anchor="payments"), note=form.note.data)
        if asked is not None:  # only a step marked irreversible is asked first
            return asked
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
        asked = confirmed(recovery, form.trigger.data, back=url_for(".application", application_id=application.id,
                                                                     _anchor="payments"), note=form.note.data)
        if asked is not None:
            return asked
        attempt(lambda: fire(recovery, form.trigger.data, current_user, form.note.data),
                 _("Done: %(step)s.", step=_trigger_name("recovery", form.trigger.data)))
    else:
        _flash_errors(form)
    return _redirect_to_application(application, "payments")


# --- reports ----------------------------------------------------------------------------------------------------

@bp.get("/reports/<int:report_id>")
def report(report_id):
    report = policies.report_for(report_id, current_user)
    application = report.application
    return render_template(
        "admin/report.html", report=report, application=application, call=application.call,
        organisation=application.organisation, attachments=reporting.files_of(report),
        file_kinds=reporting.FILE_KINDS, indicators=reporting.indicators_of(report),
        spending=reporting.spending_of(report), rounds=reporting.rounds_of(report),
        overdue=reporting.is_overdue(report), opens=reporting.period_opens(report),
        recoverable=reporting.recoverable(application), reducible=reporting.reducible(application),
        shortfall_form=ShortfallForm(how="reduction" if reporting.reducible(application) else "recovery"),
        offers=offers(report, current_user),
        svg=diagram.to_svg(WORKFLOWS["report"], report.status, lang=current_lang()))


@bp.get("/reports/<int:report_id>/files/<int:file_id>")
def report_file(report_id, file_id):
    from app.views.applicant import send_report_file

    report = policies.report_for(report_id, current_user)
    row = reporting.download(report, current_user, file_id)
    db.session.commit()  # every download is logged
    return send_report_file(row)


@bp.post("/reports/<int:report_id>/shortfall")
def report_shortfall(report_id):
    report = policies.report_for(report_id, current_user, write=True)
    form = ShortfallForm()
    if form.validate():
        attempt(lambda: reporting.record_shortfall(report, current_user, form.cents, form.reason.data,
                                                   form.how.data),
                _("The tranches still to pay are reduced; the NGO is told.") if form.how.data == "reduction"
                else _("The recovery is recorded; it is tracked with the grant's payments."))
    else:
        _flash_errors(form)
    return redirect(url_for(".report", report_id=report.id, _anchor="shortfall"))


@bp.post("/reports/<int:report_id>/fire")
def report_fire(report_id):
    report = policies.report_for(report_id, current_user, write=True)
    form = TriggerForm()
    if form.validate():
        asked = confirmed(report, form.trigger.data, back=url_for(".report", report_id=report.id),
                          note=form.note.data)
        if asked is not None:
            return asked
        attempt(lambda: fire(report, form.trigger.data, current_user, form.note.data),
                 _("Done: %(step)s.", step=_trigger_name("report", form.trigger.data)))
    else:
        _flash_errors(form)
    return redirect(url_for(".report", report_id=report.id))
