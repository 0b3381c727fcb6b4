"""A bank file the bank rejected (issue 8): the admin discards it with what the bank answered; the batch and its
file are kept for the record, its payments go into a new file, and a discarded file is never marked paid. A file
of which a payment is paid was taken by the bank: it cannot be discarded."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import Refused
from app.extensions import db
from app.models import AuditEvent, PaymentBatch, PaymentBatchItem
from app.services import payment_batches
from tests.factories import admin_of, login_as
from tests.integration.test_payments_due import grants  # noqa: F401  the fixture
from tests.integration.test_sepa import _payments, ready  # noqa: F401  the fixture

pytestmark = pytest.mark.postgres


def _issued(call, application):
    admin = admin_of(call)
    batch = payment_batches.issue(admin, [p.id for p in _payments(application)])
    db.session.commit()
    return admin, batch


def test_the_admin_discards_a_rejected_file_and_its_payments_go_into_a_new_one(ready, client):
    call, dated_a, _dated_b, _waiting = ready
    admin, batch = _issued(call, dated_a)
    login_as(client, admin)
    page = client.get(f"/admin/payment-batches/{batch.id}").get_data(as_text=True)
    assert "Banka šo failu noraidīja" in page

    response = client.post(f"/admin/payment-batches/{batch.id}/discard", follow_redirects=True,
                           data={"reason": "Saņēmēja konts slēgts.", "confirm": "y"})

    text = response.get_data(as_text=True)
    assert "Bankas fails ir atmests" in text and "Saņēmēja konts slēgts." in text
    db.session.expire_all()
    stored = db.session.get(PaymentBatch, batch.id)
    assert (stored.discarded_by, stored.discard_reason) == (admin.id, "Saņēmēja konts slēgts.")
    assert stored.content and stored.sha256  # the file is kept for the record
    items = db.session.scalars(select(PaymentBatchItem).where(PaymentBatchItem.batch_id == batch.id)).all()
    assert len(items) == 2 and all(item.released for item in items)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "payment_batch",
                                                        AuditEvent.entity_id == batch.id)).one()
    assert (event.trigger, event.actor_id, event.note) == ("discard", admin.id, "Saņēmēja konts slēgts.")
    assert all(row.batch_id is None for row in payment_batches.due(admin) if row.application.id == dated_a.id)
    again = payment_batches.issue(admin, [p.id for p in _payments(dated_a)])  # a new file for the same payments
    db.session.commit()
    assert again.id != batch.id and again.message_id != batch.message_id


def test_discarding_needs_the_banks_answer_and_the_confirmation(ready, client):
    call, dated_a, _dated_b, _waiting = ready
    admin, batch = _issued(call, dated_a)
    login_as(client, admin)
    for data, message in (({"reason": "Noraidīts.", "confirm": ""}, "Apstipriniet, ka banka failu noraidīja."),
                          ({"reason": " ", "confirm": "y"}, "Norādiet iemeslu: ko atbildēja banka.")):
        response = client.post(f"/admin/payment-batches/{batch.id}/discard", data=data, follow_redirects=True)
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PaymentBatch, batch.id).discarded_at is None


def test_a_discarded_file_is_not_marked_paid_and_not_discarded_twice(ready, app):
    call, dated_a, _dated_b, _waiting = ready
    admin, batch = _issued(call, dated_a)
    payment_batches.discard(batch, admin, "Formāts noraidīts.")
    db.session.commit()
    with pytest.raises(Refused, match="atmests"):
        payment_batches.pay(batch, admin, None, "REF-1")
    db.session.rollback()
    with pytest.raises(Refused, match="jau ir atmests"):
        payment_batches.discard(batch, admin, "Vēlreiz.")
    db.session.rollback()
    assert all(p.status == "scheduled" for p in _payments(dated_a))


def test_a_file_with_a_paid_payment_cannot_be_discarded(ready, app):
    call, dated_a, _dated_b, _waiting = ready
    admin, batch = _issued(call, dated_a)
    payment_batches.pay(batch, admin, None, "PARX-1")
    db.session.commit()
    with pytest.raises(Refused, match="banka failu pieņēma"):
        payment_batches.discard(batch, admin, "Kļūda.")
    db.session.rollback()
    items = db.session.scalars(select(PaymentBatchItem).where(PaymentBatchItem.batch_id == batch.id)).all()
    assert not any(item.released for item in items)


def test_a_payment_is_in_one_live_file_at_most_even_written_straight(ready, app):
    """The partial unique index holds it whatever the code does: a second live item for a payment is refused."""
    from sqlalchemy.exc import IntegrityError

    call, dated_a, _dated_b, _waiting = ready
    _admin, batch = _issued(call, dated_a)
    payment = _payments(dated_a)[0]
    db.session.add(PaymentBatchItem(batch_id=batch.id, payment_id=payment.id, end_to_end_id="X"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
