"""The SEPA credit-transfer file (pain.001.001.09) and its batch (issue 8): what the bank reads, validated against
the message's official XSD (the one sepaxml ships, ISO 20022's generated schema), the batch recorded with the
file's SHA-256, the whole batch marked paid at once or not at all, and never a payment paid twice.

Expected values are written out: the IBANs, the amounts in euros as the file writes them, the towns.
"""
from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from importlib import resources

import pytest
import xmlschema
from sqlalchemy import func, select

from app.errors import Refused
from app.extensions import db
from app.models import AuditEvent, Grant, Payment, PaymentBatch, PaymentBatchItem, User
from app.services import audit, payment_batches
from app.services.workflow import fire
from tests import factories
from tests.concurrency.conftest import race  # noqa: F401  the concurrency suite's fixture
from tests.factories import admin_of, login_as, make_organiser_admin, riga
from tests.integration.test_call_editor import in_english
from tests.integration.test_payments_due import IBAN_A, IBAN_B, grants  # noqa: F401  the fixture

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
DEBTOR_IBAN = "LV60PARX0002484470001"
XSD = resources.files("sepaxml") / "schemas" / "pain.001.001.09.xsd"


def bank_ready(organiser) -> None:
    organiser.bank_iban, organiser.bank_bic = DEBTOR_IBAN, "PARXLV22"
    organiser.address_street, organiser.address_building = "Brīvības iela", "33"
    organiser.address_postcode, organiser.address_town, organiser.address_country = "LV-5001", "Ogre", "LV"
    db.session.commit()


def _payments(application) -> list[Payment]:
    return db.session.scalars(select(Payment).where(Payment.application_id == application.id)
                              .order_by(Payment.tranche)).all()


def _issue(client, payments, **extra):
    return client.post("/admin/payments/sepa", data={"payment_ids": [str(p.id) for p in payments], **extra})


@pytest.fixture
def ready(grants, clock):  # noqa: F811
    call, dated_a, dated_b, waiting = grants
    bank_ready(call.organiser)
    clock.travel_to(riga(2031, 3, 16, 10))  # every dated tranche is due; the final-report one still waits
    return call, dated_a, dated_b, waiting


def test_the_file_validates_against_the_xsd_and_holds_every_transfer(ready, client):
    call, dated_a, dated_b, _waiting = ready
    chosen = [*_payments(dated_a), _payments(dated_b)[1]]
    login_as(client, admin_of(call))

    response = _issue(client, chosen)

    assert response.status_code == 200 and response.mimetype == "application/xml"
    content = response.get_data()
    xmlschema.XMLSchema(str(XSD)).validate(content.decode("utf-8"))  # raises on any invalid element
    root = ET.fromstring(content)
    assert root.tag == "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.09}Document"
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    assert header.findtext("p:NbOfTxs", namespaces=NS) == "3"
    assert header.findtext("p:CtrlSum", namespaces=NS) == "6440.00"  # 2 760,00 + 1 840,00 + 1 840,00
    info = root.find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert info.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == DEBTOR_IBAN
    debtor_address = info.find("p:Dbtr/p:PstlAdr", NS)
    assert (debtor_address.findtext("p:TwnNm", namespaces=NS), debtor_address.findtext("p:Ctry", namespaces=NS),
            debtor_address.findtext("p:StrtNm", namespaces=NS)) == ("Ogre", "LV", "Brivibas iela")
    assert info.findtext("p:ReqdExctnDt/p:Dt", namespaces=NS) == "2031-03-16"
    transfers = info.findall("p:CdtTrfTxInf", NS)
    found = [(tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS), tx.findtext("p:Amt/p:InstdAmt", namespaces=NS),
              tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS),
              tx.findtext("p:Cdtr/p:PstlAdr/p:TwnNm", namespaces=NS),
              tx.findtext("p:Cdtr/p:PstlAdr/p:Ctry", namespaces=NS),
              tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS)) for tx in transfers]
    assert sorted(found) == sorted([
        (f"{dated_a.number}-T1", "2760.00", IBAN_A, "Ogres novads", "LV", f"Projekts {dated_a.number}, 1. maksajuma dala"),
        (f"{dated_a.number}-T2", "1840.00", IBAN_A, "Ogres novads", "LV", f"Projekts {dated_a.number}, 2. maksajuma dala"),
        (f"{dated_b.number}-T2", "1840.00", IBAN_B, "Kekavas novads", "LV",
         f"Projekts {dated_b.number}, 2. maksajuma dala")])
    amounts = sum(int(tx.findtext("p:Amt/p:InstdAmt", namespaces=NS).replace(".", "")) for tx in transfers)
    assert amounts == int(info.findtext("p:CtrlSum", namespaces=NS).replace(".", "")) == 644_000

    batch = db.session.scalars(select(PaymentBatch)).one()
    assert batch.sha256 == hashlib.sha256(content).hexdigest() and batch.content == content
    assert header.findtext("p:MsgId", namespaces=NS) == batch.message_id
    assert (batch.created_by, batch.total_cents) == (admin_of(call).id, 644_000)
    assert sorted(db.session.scalars(select(PaymentBatchItem.payment_id))) == sorted(p.id for p in chosen)
    assert client.get(f"/admin/payment-batches/{batch.id}/file").get_data() == content  # the same bytes again
    assert all(p.status == "scheduled" for p in chosen)  # a file is not a payment: the bank has not paid yet


def test_a_payment_goes_into_one_file_only(ready):
    call, dated_a, _dated_b, _waiting = ready
    admin = admin_of(call)
    payment_batches.issue(admin, [_payments(dated_a)[0].id])
    db.session.commit()
    with pytest.raises(Refused) as refused:
        payment_batches.issue(admin, [p.id for p in _payments(dated_a)])
    assert refused.value.message.endswith("tas jau ir bankas failā; tā vietā lejupielādējiet to failu vēlreiz.")
    db.session.rollback()
    assert db.session.scalar(select(func.count(PaymentBatch.id))) == 1


def test_a_tranche_not_due_cannot_go_into_a_file(ready, clock):
    call, dated_a, _dated_b, waiting = ready
    admin = admin_of(call)
    with pytest.raises(Refused) as refused:
        payment_batches.issue(admin, [_payments(waiting)[1].id])
    assert "tā tiek izmaksāta pēc noslēguma atskaites apstiprināšanas" in refused.value.message
    db.session.rollback()
    clock.travel_to(riga(2031, 3, 15, 10))
    with pytest.raises(Refused) as refused:
        payment_batches.issue(admin, [_payments(dated_a)[1].id])
    assert "to izmaksā, sākot ar 16.03.2031." in refused.value.message


def test_without_the_organisers_bank_account_the_file_is_refused_in_either_language(grants, client, clock):  # noqa: F811
    call, dated_a, _dated_b, _waiting = grants
    in_english(client, admin_of(call))
    response = _issue(client, _payments(dated_a)[:1])
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "has no bank account (a valid IBAN) or no address (town and country)" in page
    assert db.session.scalar(select(func.count(PaymentBatch.id))) == 0


def test_the_whole_batch_is_marked_paid_at_once_each_through_its_own_move(ready, client):
    call, dated_a, dated_b, _waiting = ready
    admin = admin_of(call)
    batch = payment_batches.issue(admin, [*(p.id for p in _payments(dated_a)), _payments(dated_b)[0].id])
    db.session.commit()
    login_as(client, admin)

    response = client.post(f"/admin/payment-batches/{batch.id}/pay",
                           data={"paid_on": "2031-03-16", "bank_reference": "PARX-20310316-7"})

    assert response.status_code == 302
    db.session.expire_all()
    paid = [*_payments(dated_a), _payments(dated_b)[0]]
    assert [(p.status, p.paid_on.isoformat(), p.bank_reference) for p in paid] == [
        ("paid", "2031-03-16", "PARX-20310316-7")] * 3
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "payment",
                                                         AuditEvent.trigger == "pay")).all()
    assert sorted(e.entity_id for e in events) == sorted(p.id for p in paid)
    assert {json.loads(e.data)["batch"] for e in events} == {batch.id} and {e.actor_id for e in events} == {admin.id}
    assert _payments(dated_b)[1].status == "scheduled"  # not in the batch
    assert audit.verify().ok
    page = client.get(f"/admin/payment-batches/{batch.id}").get_data(as_text=True)
    assert "Visi šīs paketes maksājumi ir izmaksāti vai atcelti." in page


def test_a_payment_above_what_remains_refuses_the_whole_batch(ready):
    call, dated_a, dated_b, _waiting = ready
    admin = admin_of(call)
    batch = payment_batches.issue(admin, [_payments(dated_a)[0].id, _payments(dated_b)[0].id])
    db.session.commit()
    grant_b = db.session.scalars(select(Grant).where(Grant.application_id == dated_b.id)).one()
    grant_b.amount_cents = 200_000  # reduced after the file was made: 2 760,00 € no longer fits
    db.session.commit()

    with pytest.raises(Refused) as refused:
        payment_batches.pay(batch, admin, None, "PARX-1")
    assert refused.value.message == (
        f"{dated_b.organisation.name}, {dated_b.number}, 1. maksājuma daļa: Šis maksājums pārsniegtu piešķirto "
        "finansējumu. Neviens paketes maksājums netika atzīmēts kā izmaksāts.")
    db.session.rollback()
    assert [p.status for p in (_payments(dated_a)[0], _payments(dated_b)[0])] == ["scheduled", "scheduled"]


def test_marking_a_batch_paid_twice_is_refused_and_nothing_is_paid_twice(ready, client):
    call, dated_a, _dated_b, _waiting = ready
    admin = admin_of(call)
    batch = payment_batches.issue(admin, [_payments(dated_a)[0].id])
    db.session.commit()
    payment_batches.pay(batch, admin, None, "PARX-1")
    db.session.commit()

    in_english(client, admin)
    response = client.post(f"/admin/payment-batches/{batch.id}/pay", data={"bank_reference": "PARX-2"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Every payment of this batch is already paid or cancelled: nothing was marked paid." in page
    with pytest.raises(Refused):
        fire(_payments(dated_a)[0], "pay", admin, bank_reference="PARX-3")
    db.session.rollback()
    assert _payments(dated_a)[0].bank_reference == "PARX-1"
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.trigger == "pay")) == 1


def test_a_payment_date_in_the_future_is_refused(ready):
    call, dated_a, _dated_b, _waiting = ready
    admin = admin_of(call)
    batch = payment_batches.issue(admin, [_payments(dated_a)[0].id])
    db.session.commit()
    from datetime import date
    with pytest.raises(Refused) as refused:
        payment_batches.pay(batch, admin, date(2031, 3, 17), "PARX-1")
    assert refused.value.message == "Maksājuma datums nevar būt nākotnē."


def test_an_applicant_an_auditor_and_another_organisers_admin_cannot_have_the_file(ready, app):
    call, dated_a, _dated_b, _waiting = ready
    batch = payment_batches.issue(admin_of(call), [_payments(dated_a)[0].id])
    db.session.commit()
    visitors = {"applicant": (factories.member_of(dated_a), 403), "auditor": (factories.make_user(
        "auditor", organiser=call.organiser), 200), "other_admin": (factories.make_user("admin"), 404)}
    for name, (user, status) in visitors.items():
        client = app.test_client()
        login_as(client, user)
        answer = client.get(f"/admin/payment-batches/{batch.id}/file")
        assert answer.status_code == status, name
        if status != 200:
            assert b"CstmrCdtTrfInitn" not in answer.get_data()
        posted = client.post("/admin/payments/sepa", data={"payment_ids": [str(_payments(dated_a)[1].id)]})
        assert posted.status_code in (403, 404), name
    assert db.session.scalar(select(func.count(PaymentBatch.id))) == 1


# --- two admins at once (SQLite, and PostgreSQL with TEST_DATABASE_URL) -----------------------------------------

@pytest.mark.postgres
def test_two_admins_mark_the_same_batch_paid_at_once_one_wins(ready, race):  # noqa: F811
    call, dated_a, dated_b, _waiting = ready
    first, second = admin_of(call), make_organiser_admin(call.organiser)
    batch = payment_batches.issue(first, [*(p.id for p in _payments(dated_a)), _payments(dated_b)[0].id])
    db.session.commit()
    batch_id, ids = batch.id, [p.id for p in (*_payments(dated_a), _payments(dated_b)[0])]
    first_id, second_id = first.id, second.id

    def paying(user_id, reference):
        def run():
            batch = db.session.get(PaymentBatch, batch_id)
            return len(payment_batches.pay(batch, db.session.get(User, user_id), None, reference))
        return run

    result = race(paying(first_id, "PARX-A"), paying(second_id, "PARX-B"))

    assert len(result.winners) == 1 and result.winners[0].value == 3
    assert len(result.refused) == 1
    assert "nekas netika atzīmēts kā izmaksāts" in result.refused[0].refused.message
    payments = db.session.scalars(select(Payment).where(Payment.id.in_(ids))).all()
    assert len({p.bank_reference for p in payments}) == 1 and {p.status for p in payments} == {"paid"}
    for payment_id in ids:  # one move each
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.entity_type == "payment", AuditEvent.entity_id == payment_id,
            AuditEvent.trigger == "pay")) == 1


@pytest.mark.postgres
def test_two_admins_make_a_file_of_the_same_payments_at_once_one_file(ready, race):  # noqa: F811
    call, dated_a, _dated_b, _waiting = ready
    first, second = admin_of(call), make_organiser_admin(call.organiser)
    ids, first_id, second_id = [p.id for p in _payments(dated_a)], first.id, second.id

    def issuing(user_id):
        return lambda: payment_batches.issue(db.session.get(User, user_id), ids).id

    result = race(issuing(first_id), issuing(second_id))

    assert len(result.winners) == 1 and len(result.refused) == 1
    assert db.session.scalar(select(func.count(PaymentBatch.id))) == 1
    assert db.session.scalar(select(func.count(PaymentBatchItem.id))) == 2


@pytest.mark.postgres
def test_two_tranches_of_one_grant_paid_at_once_never_exceed_it(ready, race):  # noqa: F811
    """Each tranche fits what remains of a reduced grant, both together do not: the pay move locks the call and
    the application before paid_within_grant adds up what is paid, so the second admin sees the first's payment."""
    call, dated_a, _dated_b, _waiting = ready
    grant = db.session.scalars(select(Grant).where(Grant.application_id == dated_a.id)).one()
    grant.amount_cents = 300_000  # 2 760,00 € and 1 840,00 € each fit, together (4 600,00 €) they do not
    db.session.commit()
    first, second = admin_of(call), make_organiser_admin(call.organiser)
    (one, two), first_id, second_id = [p.id for p in _payments(dated_a)], first.id, second.id
    application_id = dated_a.id

    def paying(payment_id, user_id):
        return lambda: fire(db.session.get(Payment, payment_id), "pay", db.session.get(User, user_id),
                            bank_reference=f"PARX-{payment_id}").id

    result = race(paying(one, first_id), paying(two, second_id))

    assert len(result.winners) == 1 and len(result.refused) == 1
    assert result.refused[0].refused.message == "Šis maksājums pārsniegtu piešķirto finansējumu."
    paid = db.session.scalars(select(Payment).where(Payment.application_id == application_id,
                                                    Payment.status == "paid")).all()
    assert len(paid) == 1 and paid[0].amount_cents <= 300_000


def test_the_organisers_bank_details_are_set_from_the_command_line_and_checked(grants, runner):  # noqa: F811
    call = grants[0]
    name = call.organiser.name
    refused = runner.invoke(args=["organiser-bank", "--organiser", name, "--iban", "LV60PARX0002484470002",
                                  "--town", "Ogre"])
    assert refused.exit_code != 0 and "IBAN nav derīgs." in refused.output
    refused = runner.invoke(args=["organiser-bank", "--organiser", name, "--iban", DEBTOR_IBAN, "--bic", "PARX",
                                  "--town", "Ogre"])
    assert refused.exit_code != 0 and "BIC nav derīgs" in refused.output

    done = runner.invoke(args=["organiser-bank", "--organiser", name, "--iban", "LV60 PARX 0002 4844 7000 1",
                               "--bic", "PARXLV22", "--street", "Brīvības iela", "--building", "33",
                               "--postcode", "LV-5001", "--town", "Ogre"])

    assert done.exit_code == 0, done.output
    db.session.expire_all()
    organiser = db.session.get(type(call.organiser), call.organiser_id)
    assert (organiser.bank_iban, organiser.bank_bic, organiser.address_town, organiser.address_country,
            organiser.address_street) == (DEBTOR_IBAN, "PARXLV22", "Ogre", "LV", "Brīvības iela")
