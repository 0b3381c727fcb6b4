"""The payments due, and the batches of them sent to the bank (issue 8, DESIGN 2.4).

- `due(user, call)`: every scheduled tranche in the admin's or auditor's reach whose date has come or whose event
  has happened, by the pay guard's own rule (`grants.not_due_reason`), with what a transfer needs: the NGO, its
  registration number and IBAN, the amount, the tranche, the reference.
- `issue(user, payment_ids)`: the SEPA credit-transfer file (app/services/sepa.py) for the chosen payments,
  recorded as a PaymentBatch (who, when, the message id, the payments, the file and its SHA-256). A payment goes
  into one file at most: a second file for it could have the bank pay it twice.
- `pay(batch, user, paid_on, bank_reference)`: every payment of the batch still scheduled marked paid, each by
  `workflow.fire(payment, "pay")` (its guards, its audit event), in the caller's one transaction: all or nothing.

Locks, in the money order (DESIGN 4.2): the calls in id order, then the applications in id order, then the
payments in id order, before anything is read; `fire` takes the same rows again (already held). So two admins
issuing or paying the same payments at once go one after the other: the second finds them batched or paid and is
told, and nothing is paid twice.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from stdnum import bic as bic_number
from stdnum import iban as iban_number

from app import clock, formatting, municipalities, policies
from app.errors import NotAllowed, NotFound, Refused
from app.extensions import db
from app.models import Application, Call, Organisation, Organiser, Payment, PaymentBatch, PaymentBatchItem
from app.services import audit, grants, sepa
from app.services.workflow import fire, lock


@dataclass(frozen=True)
class DueRow:
    payment: Payment
    application: Application
    call: Call
    organisation: Organisation
    batch_id: int | None  # the batch whose file already holds it, if any

    @property
    def end_to_end_id(self) -> str:
        return end_to_end_id(self.application, self.payment)

    @property
    def reference(self) -> str:
        return remittance(self.application, self.payment)


LIVE = PaymentBatchItem.released.is_(False)  # an item of a batch that was not discarded


def end_to_end_id(application: Application, payment: Payment) -> str:
    """Unique per payment (an application's number is unique, a tranche once per application); at most 35."""
    return f"{application.number[:30]}-T{payment.tranche}"


def remittance(application: Application, payment: Payment) -> str:
    """What the NGO reads on its bank statement, in Latvian (the statement's language) whoever downloads."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return _("Project %(number)s, tranche %(tranche)s", number=application.number, tranche=payment.tranche)


def _rows(query) -> list[tuple[Payment, Application, Call, Organisation]]:
    return db.session.execute(query.join(Application, Application.id == Payment.application_id)
                              .join(Call, Call.id == Application.call_id)
                              .join(Organisation, Organisation.id == Application.organisation_id)).all()


def due(user, call: Call | None = None) -> list[DueRow]:
    """The scheduled payments due now in the user's organisers (one call's, if given), by call, then number."""
    query = (select(Payment, Application, Call, Organisation).where(Payment.status == "scheduled")
             .where(policies.visible_calls_filter(user)))
    if call is not None:
        query = query.where(Call.id == call.id)
    now = clock.now()
    found = [row for row in _rows(query.order_by(Call.id, Application.number, Payment.tranche))
             if grants.not_due_reason(row[0], now) is None]
    batched = dict(db.session.execute(select(PaymentBatchItem.payment_id, PaymentBatchItem.batch_id).where(
        PaymentBatchItem.payment_id.in_([row[0].id for row in found] or [-1]), LIVE)).all())
    return [DueRow(payment, application, call_, organisation, batched.get(payment.id))
            for payment, application, call_, organisation in found]


CSV_COLUMNS = ("call", "application", "organisation", "registration_number", "iban", "tranche", "amount_eur",
               "due", "reference", "end_to_end_id", "batch")


def csv_text(rows: list[DueRow], lang: str) -> str:
    """The list as CSV: UTF-8 with a BOM, `;` between fields, as the app's other CSVs; amounts as 4600,00."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([row.call.code, row.application.number, row.organisation.name,
                         row.organisation.registration_number, row.organisation.iban, row.payment.tranche,
                         f"{row.payment.amount_cents // 100},{row.payment.amount_cents % 100:02d}",
                         grants.tranche_when(row.payment, lang), row.reference, row.end_to_end_id,
                         row.batch_id or ""])
    return "\ufeff" + buffer.getvalue()


def batches(user, limit: int = 20) -> list[PaymentBatch]:
    query = select(PaymentBatch).order_by(PaymentBatch.id.desc()).limit(limit)
    if not user.programme_level:
        query = query.where(PaymentBatch.organiser_id.in_(user.organiser_ids or {-1}))
    return db.session.scalars(query).all()


def batch_for(batch_id: int, user, *, write: bool = False) -> PaymentBatch:
    """404 outside the user's organisers; 403 to act without being the organiser's admin."""
    batch = db.session.get(PaymentBatch, batch_id)
    if batch is None or not (user.programme_level or batch.organiser_id in user.organiser_ids):
        raise NotFound()
    if write and user.role != "admin":
        raise NotAllowed()
    return batch


def batch_rows(batch: PaymentBatch) -> list[tuple[PaymentBatchItem, Payment, Application, Organisation]]:
    return db.session.execute(
        select(PaymentBatchItem, Payment, Application, Organisation)
        .join(Payment, Payment.id == PaymentBatchItem.payment_id)
        .join(Application, Application.id == Payment.application_id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .where(PaymentBatchItem.batch_id == batch.id).order_by(Payment.id)).all()


# --- the locks ----------------------------------------------------------------------------------------------------

def _lock_money_rows(payments: list[Payment]) -> None:
    """The calls, then the applications, then the payments, each in id order (the money order)."""
    applications = {p.application_id: db.session.get(Application, p.application_id) for p in payments}
    for call in sorted({a.call for a in applications.values()}, key=lambda c: c.id):
        lock(call)
    for application_id in sorted(applications):
        lock(applications[application_id])
    for payment in sorted(payments, key=lambda p: p.id):
        lock(payment)


def _named(payment: Payment) -> str:
    application = db.session.get(Application, payment.application_id)
    return _("%(organisation)s, %(number)s, tranche %(tranche)s", organisation=application.organisation.name,
             number=application.number, tranche=payment.tranche)


# --- the file -----------------------------------------------------------------------------------------------------

def _debtor(organiser: Organiser) -> sepa.Party:
    iban = (organiser.bank_iban or "").replace(" ", "")
    if not iban or not iban_number.is_valid(iban) or not organiser.address_town or not organiser.address_country:
        raise Refused(_("%(organiser)s has no bank account (a valid IBAN) or no address (town and country) for "
                        "the bank file: set them under “The organiser's bank account”.", organiser=organiser.name))
    return sepa.Party(organiser.name, iban, sepa.Address(
        town=organiser.address_town, country=organiser.address_country, street=organiser.address_street,
        building=organiser.address_building, postcode=organiser.address_postcode), organiser.bank_bic or None)


def _creditor(organisation: Organisation) -> sepa.Party:
    town = municipalities.name(organisation.municipality, "lv")
    if not town:
        raise Refused(_("%(organisation)s has no municipality, which the bank file needs as its town.",
                        organisation=organisation.name))
    return sepa.Party(organisation.name, organisation.iban,
                      sepa.Address(town=town, country="LV", lines=(organisation.address,) if organisation.address
                                   else ()))


def set_bank_details(organiser_name: str, *, iban: str, town: str, country: str = "LV", bic: str | None = None,
                     street: str | None = None, building: str | None = None,
                     postcode: str | None = None, actor=None) -> Organiser:
    """The debtor's settings (the organiser's bank account page, or `flask --app wsgi organiser-bank`): checked
    here, as the bank would; every change is in the audit trail (the account the grants are paid from)."""
    organiser = db.session.scalar(select(Organiser).where(Organiser.name == organiser_name))
    if organiser is None:
        raise NotFound(_("No organiser is called %(name)s.", name=organiser_name))
    iban = iban_number.compact(iban or "")
    if not iban_number.is_valid(iban):
        raise Refused(_("The IBAN is not valid."))
    bic = bic_number.compact(bic or "") or None
    if bic and not bic_number.is_valid(bic):
        raise Refused(_("The BIC is not valid: 8 or 11 letters and digits."))
    country = (country or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country) or not (town or "").strip():
        raise Refused(_("The address needs a town and a two-letter country code."))
    fields = ("bank_iban", "bank_bic", "address_street", "address_building", "address_postcode", "address_town",
              "address_country")
    before = {name: getattr(organiser, name) for name in fields}
    organiser.bank_iban, organiser.bank_bic, organiser.address_country = iban, bic, country
    organiser.address_town = town.strip()[:35]
    organiser.address_street = (street or "").strip()[:70] or None
    organiser.address_building = (building or "").strip()[:16] or None
    organiser.address_postcode = (postcode or "").strip()[:16] or None
    changed = {name: [before[name], getattr(organiser, name)] for name in fields
               if before[name] != getattr(organiser, name)}
    if changed:
        audit.record("organiser", organiser.id, "set_bank_details", "active", "active",
                     actor.id if actor else None, data={"changed": changed})
    db.session.flush()
    return organiser


def issue(user, payment_ids, execution_date: date | None = None) -> PaymentBatch:
    """The SEPA file for the chosen payments, recorded as a batch; raises Refused (with the payment named) for a
    payment that is not due, already in a file, or beyond the grant, and NotFound for one outside the admin's
    reach. The caller commits."""
    ids = sorted({int(i) for i in payment_ids})
    if not ids:
        raise Refused(_("Choose the payments for the bank file."))
    payments = db.session.scalars(select(Payment).where(Payment.id.in_(ids))).all()
    if len(payments) != len(ids) or not all(policies.may_act_on(user, p) for p in payments):
        raise NotFound()
    today = clock.to_riga(clock.now()).date()
    execution_date = execution_date or today
    if execution_date < today:
        raise Refused(_("The execution date cannot be in the past."))
    _lock_money_rows(payments)
    now = clock.now()
    rows = _rows(select(Payment, Application, Call, Organisation).where(Payment.id.in_(ids)).order_by(Payment.id))
    organisers = {call.organiser_id for _p, _a, call, _o in rows}
    if len(organisers) != 1:
        raise Refused(_("A bank file is paid from one account: choose the payments of one organiser."))
    batched = set(db.session.scalars(select(PaymentBatchItem.payment_id).where(PaymentBatchItem.payment_id.in_(ids),
                                                                                LIVE)))
    in_file: dict[int, int] = {}
    for payment, application, _call, _organisation in rows:
        if payment.status != "scheduled":
            raise Refused(_("%(payment)s: it is no longer scheduled.", payment=_named(payment)))
        if payment.id in batched:
            raise Refused(_("%(payment)s: it is already in a bank file; download that file again instead.",
                            payment=_named(payment)))
        why = grants.not_due_reason(payment, now)
        if why:
            raise Refused(f"{_named(payment)}: {why}")
        in_file[application.id] = in_file.get(application.id, 0) + payment.amount_cents
        grant = grants.grant_of(application)
        if grants.paid_total(application) + in_file[application.id] > grant.amount_cents:
            raise Refused(f"{_named(payment)}: {_('Paying this would exceed the grant.')}")
    organiser = db.session.get(Organiser, organisers.pop())
    riga_now = clock.to_riga(now)
    message_id = f"PG-{organiser.id}-{riga_now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    transfers = [sepa.Transfer(_creditor(organisation), payment.amount_cents, end_to_end_id(application, payment),
                               remittance(application, payment))
                 for payment, application, _call, organisation in rows]
    content = sepa.render(sepa.CreditTransferFile(message_id, now, execution_date, _debtor(organiser), transfers))
    batch = PaymentBatch(organiser_id=organiser.id, message_id=message_id, created_by=user.id, created_at=now,
                         execution_date=execution_date, total_cents=sum(t.amount_cents for t in transfers),
                         sha256=hashlib.sha256(content).hexdigest(), content=content)
    db.session.add(batch)
    db.session.flush()
    db.session.add_all(PaymentBatchItem(batch_id=batch.id, payment_id=payment.id,
                                        end_to_end_id=end_to_end_id(application, payment))
                       for payment, application, _call, _organisation in rows)
    db.session.flush()
    return batch


def file_name(batch: PaymentBatch) -> str:
    return f"{batch.message_id}.xml"


# --- paid -----------------------------------------------------------------------------------------------------------

def pay(batch: PaymentBatch, user, paid_on: date | None, bank_reference: str) -> list[Payment]:
    """Every payment of the batch still scheduled, marked paid through `fire` (guards, audit events), or none:
    the first refusal names its payment and the caller rolls everything back."""
    today = clock.to_riga(clock.now()).date()
    paid_on = paid_on or today
    if paid_on > today:
        raise Refused(_("The payment date cannot be in the future."))
    if paid_on < clock.to_riga(batch.created_at).date():
        raise Refused(_("The payment date cannot be before the bank file was made (%(date)s).",
                        date=formatting.day(clock.to_riga(batch.created_at).date(), formatting.current_lang())))
    if batch.discarded_at is not None:
        raise Refused(_("This bank file was discarded: nothing of it is marked paid."))
    payments = [payment for _item, payment, _application, _organisation in batch_rows(batch)]
    _lock_money_rows(payments)  # reloads each payment: a state another admin committed meanwhile is seen
    open_ = [payment for payment in payments if payment.status == "scheduled"]
    if not open_:
        raise Refused(_("Every payment of this batch is already paid or cancelled: nothing was marked paid."))
    for payment in open_:
        try:
            fire(payment, "pay", user, bank_reference=bank_reference, paid_on=paid_on, batch=batch.id)
        except Refused as refused:
            raise Refused(_("%(payment)s: %(reason)s Nothing of the batch was marked paid.",
                            payment=_named(payment), reason=refused.message)) from refused
    return open_


# --- rejected by the bank ---------------------------------------------------------------------------------------

def discard(batch: PaymentBatch, user, reason: str) -> PaymentBatch:
    """The bank rejected the file (a wrong account, a format it refused): the batch is kept with who discarded it,
    when and why, and its payments may go into a new file. Refused once any of its payments is paid: the bank did
    take that file. The caller commits."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_("Give the reason: what the bank answered."))
    db.session.execute(select(PaymentBatch.id).where(PaymentBatch.id == batch.id).with_for_update())
    db.session.refresh(batch)
    if batch.discarded_at is not None:
        raise Refused(_("This bank file is already discarded."))
    payments = [payment for _item, payment, _application, _organisation in batch_rows(batch)]
    _lock_money_rows(payments)
    if any(payment.status == "paid" for payment in payments):
        raise Refused(_("A payment of this bank file is marked paid: the bank took the file, so it cannot be "
                        "discarded."))
    batch.discarded_at, batch.discarded_by, batch.discard_reason = clock.now(), user.id, reason
    db.session.execute(update(PaymentBatchItem).where(PaymentBatchItem.batch_id == batch.id)
                       .values(released=True))
    audit.record("payment_batch", batch.id, "discard", "issued", "discarded", user.id, note=reason,
                 data={"message_id": batch.message_id, "payments": [p.id for p in payments],
                       "total_cents": batch.total_cents})
    db.session.flush()
    return batch
