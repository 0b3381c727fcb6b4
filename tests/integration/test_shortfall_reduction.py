"""A shortfall in results recorded as a reduction of the tranches still to pay (issue 8): the last tranche first, a
tranche taken whole is cancelled, never more than is still to pay outside bank files, each change in the audit trail
with its reason, and the NGO told. The demo call pays 80 % on signing and 20 % after the final report."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import Refused
from app.extensions import db
from app.models import AuditEvent, Message, Payment, Recovery
from app.services import payment_batches, reporting
from app.services.workflow import fire
from tests import factories as f
from tests.factories import admin_of, login_as, member_of
from tests.integration.test_payments_due import IBAN_A
from tests.integration.test_sepa import bank_ready


def _payments(application_id: int) -> list[Payment]:
    db.session.expire_all()
    return db.session.scalars(select(Payment).where(Payment.application_id == application_id)
                              .order_by(Payment.tranche)).all()


def _events(payment_id: int) -> list[tuple[str, str, str]]:
    return [(e.trigger, e.to_state, e.note) for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "payment", AuditEvent.entity_id == payment_id).order_by(AuditEvent.id))]


@pytest.fixture
def signed_report(app):
    """An approved interim report of a grant whose first tranche (80 %) is paid; the last (20 %) is still to pay."""
    report = f.make_report("approved")
    f.make_payment("paid", application=report.application)
    return report


def test_the_admin_reduces_the_last_tranche_on_the_report_page(signed_report, client):
    application = signed_report.application
    admin, member = admin_of(application.call), member_of(application)
    first, last = _payments(application.id)
    grant, last_before = application.amount_cents, last.amount_cents
    assert (first.status, last.status, last_before) == ("paid", "scheduled", grant - first.amount_cents)
    login_as(client, admin)

    response = client.post(f"/admin/reports/{signed_report.id}/shortfall", follow_redirects=True, data={
        "how": "reduction", "amount": "100,00", "reason": "Sasniegti 14 no 16 dalībniekiem."})

    assert "Vēl neizmaksātie maksājumi ir samazināti" in response.get_data(as_text=True)
    first, last = _payments(application.id)
    assert (last.status, last.amount_cents, last.reduced_cents) == ("scheduled", last_before - 10_000, 10_000)
    assert first.amount_cents + last.amount_cents == grant - 10_000  # what the grant will pay in all
    assert _events(last.id)[-1] == ("reduce", "scheduled", "Sasniegti 14 no 16 dalībniekiem.")
    subjects = db.session.scalars(select(Message.subject).where(Message.user_id == member.id,
                                                                Message.entity_type == "application")).all()
    assert f"Finansējums samazināts: {application.number}" in subjects
    assert db.session.scalars(select(Recovery)).all() == []  # a reduction demands nothing back
    page = client.get(f"/admin/applications/{application.id}").get_data(as_text=True)
    assert "samazināts par 100,00" in page


def test_a_reduction_of_the_whole_last_tranche_cancels_it(signed_report, app):
    application = signed_report.application
    admin = admin_of(application.call)
    _first, last = _payments(application.id)
    whole = last.amount_cents

    changed = reporting.record_shortfall(signed_report, admin, whole, "Nav notikušas 3 darbnīcas.", "reduction")
    db.session.commit()

    assert [p.id for p in changed] == [last.id]
    _first, last = _payments(application.id)
    assert (last.status, last.amount_cents, last.reduced_cents) == ("cancelled", whole, whole)
    trigger, state, note = _events(last.id)[-1]
    assert (trigger, state) == ("cancel", "cancelled") and "Nav notikušas 3 darbnīcas." in note


def test_a_reduction_spans_tranches_from_the_last_one_back(app):
    report = f.make_report("approved")  # both tranches still scheduled: nothing paid yet
    application = report.application
    admin = admin_of(application.call)
    first, last = _payments(application.id)
    first_before, amount = first.amount_cents, last.amount_cents + 5_000

    reporting.record_shortfall(report, admin, amount, "Projekts īstenots daļēji.", "reduction")
    db.session.commit()

    first_after, last_after = _payments(application.id)
    assert last_after.status == "cancelled"
    assert (first_after.status, first_after.amount_cents, first_after.reduced_cents) == (
        "scheduled", first_before - 5_000, 5_000)


@pytest.mark.parametrize("amount", [0, -100])
def test_a_reduction_of_nothing_or_less_is_refused(signed_report, app, amount):
    admin = admin_of(signed_report.application.call)
    with pytest.raises(Refused, match="lielākai par nulli"):
        reporting.record_shortfall(signed_report, admin, amount, "Iemesls.", "reduction")


def test_a_reduction_above_what_is_still_to_pay_is_refused_and_changes_nothing(signed_report, client):
    application = signed_report.application
    login_as(client, admin_of(application.call))
    _first, last = _payments(application.id)
    too_much = last.amount_cents + 1

    response = client.post(f"/admin/reports/{signed_report.id}/shortfall", follow_redirects=True, data={
        "how": "reduction", "amount": f"{too_much // 100},{too_much % 100:02d}", "reason": "Par daudz."})

    assert "ne lielākai par to, kas vēl jāizmaksā ārpus bankas failiem" in response.get_data(as_text=True)
    _first, after = _payments(application.id)
    assert (after.amount_cents, after.reduced_cents, after.status) == (last.amount_cents, 0, "scheduled")
    assert db.session.scalars(select(Message).where(Message.subject.like("Finansējums samazināts%"))).all() == []


def test_a_tranche_in_a_bank_file_is_not_reduced(app):
    """The bank has the file with the tranche's amount: reducing it here would not reduce what the bank pays."""
    report = f.make_report("approved")  # both tranches scheduled; the first (on signing) is due
    application = report.application
    admin = admin_of(application.call)
    application.organisation.iban, application.organisation.municipality = IBAN_A, "Ogres novads"
    bank_ready(application.call.organiser)
    first, last = _payments(application.id)
    payment_batches.issue(admin, [first.id])
    db.session.commit()

    assert reporting.reducible(application) == last.amount_cents
    with pytest.raises(Refused, match="ārpus bankas failiem"):
        reporting.record_shortfall(report, admin, last.amount_cents + 1, "Iemesls.", "reduction")
    db.session.rollback()
    first_after, _last = _payments(application.id)
    assert (first_after.amount_cents, first_after.reduced_cents) == (first.amount_cents, 0)


def test_a_report_not_yet_submitted_takes_no_shortfall(app):
    report = f.make_report("draft")
    with pytest.raises(Refused, match="iesniegtai atskaitei"):
        reporting.record_shortfall(report, admin_of(report.application.call), 1_000, "Iemesls.", "reduction")


def test_the_reduce_step_alone_refuses_a_whole_or_missing_amount(signed_report, app):
    """Posted straight to the payment's own step (not through the report), the guard still holds the amount."""
    _first, last = _payments(signed_report.application_id)
    admin = admin_of(signed_report.application.call)
    for data in ({}, {"amount_cents": last.amount_cents}, {"amount_cents": "100"}):
        with pytest.raises(Refused, match="daļu no maksājuma"):
            fire(last, "reduce", admin, "Iemesls.", **data)
        db.session.rollback()
