"""The payments due (a list, its CSV) and their bank batches (the SEPA file, marking a whole batch paid)."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import policies
from app.errors import Refused
from app.extensions import db
from app.models import User
from app.forms.payments import BankFileForm, BatchPaidForm, DiscardBatchForm
from app.services import payment_batches
from app.views.admin import _flash_errors, _organisers, bp
from app.views.common import attempt, current_lang


def _call_filter():
    """`?call=<id>`: one call's payments (404 outside the user's organisers); none: every call in reach."""
    raw = request.args.get("call")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 12:
        abort(404)
    return policies.call_for_admin(int(raw), current_user)


@bp.get("/payments")
def payments():
    call = _call_filter()
    rows = payment_batches.due(current_user, call)
    return render_template("admin/payments.html", call=call, rows=rows, form=BankFileForm(), organisers=_organisers(),
                           batches=payment_batches.batches(current_user),
                           total=sum(row.payment.amount_cents for row in rows))


@bp.get("/payments.csv")
def payments_csv():
    call = _call_filter()
    text = payment_batches.csv_text(payment_batches.due(current_user, call), current_lang())
    name = f"payments-due-{call.code}.csv" if call else "payments-due.csv"
    return Response(text.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/payments/sepa")
def payments_sepa():
    """The SEPA file for the chosen payments: recorded as a batch, then downloaded."""
    form = BankFileForm()
    back = url_for(".payments", call=request.args.get("call") or None)
    if not form.validate():
        _flash_errors(form)
        return redirect(back)
    try:
        batch = payment_batches.issue(current_user, form.payment_ids.data or [], form.execution_date.data)
        db.session.commit()
    except Refused as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(back)
    return _file(batch)


def _file(batch):
    return Response(batch.content, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{payment_batches.file_name(batch)}"'})


@bp.get("/payment-batches/<int:batch_id>")
def payment_batch(batch_id):
    batch = payment_batches.batch_for(batch_id, current_user)
    rows = payment_batches.batch_rows(batch)
    return render_template("admin/payments.html", batch=batch, batch_rows=rows, form=BatchPaidForm(),
                           discard_form=DiscardBatchForm(), discarded_by=db.session.get(User, batch.discarded_by)
                           if batch.discarded_by else None,
                           open_payments=sum(1 for _i, payment, _a, _o in rows if payment.status == "scheduled"),
                           any_paid=any(payment.status == "paid" for _i, payment, _a, _o in rows))


@bp.get("/payment-batches/<int:batch_id>/file")
def payment_batch_file(batch_id):
    return _file(payment_batches.batch_for(batch_id, current_user))


@bp.post("/payment-batches/<int:batch_id>/pay")
def payment_batch_pay(batch_id):
    batch = payment_batches.batch_for(batch_id, current_user, write=True)
    form = BatchPaidForm()
    if form.validate():
        attempt(lambda: payment_batches.pay(batch, current_user, form.paid_on.data, form.bank_reference.data),
                _("The payments of the batch are marked paid."))
    else:
        _flash_errors(form)
    return redirect(url_for(".payment_batch", batch_id=batch_id))


@bp.post("/payment-batches/<int:batch_id>/discard")
def payment_batch_discard(batch_id):
    batch = payment_batches.batch_for(batch_id, current_user, write=True)
    form = DiscardBatchForm()
    if form.validate():
        attempt(lambda: payment_batches.discard(batch, current_user, form.reason.data),
                _("The bank file is discarded; its payments may go into a new file."))
    else:
        _flash_errors(form)
    return redirect(url_for(".payment_batch", batch_id=batch_id))


# --- the account the organiser pays from --------------------------------------------------------------------------

def _organiser_for(organiser_id: int):
    from app.models import Organiser

    organiser = db.session.get(Organiser, organiser_id)
    if organiser is None or not (current_user.programme_level or organiser_id in current_user.organiser_ids):
        abort(404)
    return organiser


@bp.route("/organisers/<int:organiser_id>/bank", methods=["GET", "POST"])
def organiser_bank(organiser_id):
    from app.forms.payments import BankAccountForm

    organiser = _organiser_for(organiser_id)
    form = BankAccountForm(data={"iban": organiser.bank_iban, "bic": organiser.bank_bic,
                                 "street": organiser.address_street, "building": organiser.address_building,
                                 "postcode": organiser.address_postcode, "town": organiser.address_town,
                                 "country": organiser.address_country or "LV"} if request.method == "GET" else None)
    if request.method == "POST":
        if form.validate_on_submit():
            saved = attempt(lambda: payment_batches.set_bank_details(
                organiser.name, iban=form.iban.data, bic=form.bic.data, street=form.street.data,
                building=form.building.data, postcode=form.postcode.data, town=form.town.data,
                country=form.country.data, actor=current_user), _("The bank account is saved."))
            if saved:
                return redirect(url_for(".organiser_bank", organiser_id=organiser_id))
        else:
            _flash_errors(form)
        return render_template("admin/organiser_bank.html", organiser=organiser, form=form), 400
    return render_template("admin/organiser_bank.html", organiser=organiser, form=form)
