"""The payments due (issue 8): every scheduled tranche whose date has come or whose event has happened, by the pay
guard's own rule, as a page and a CSV, in the admin's organisers only.

The expected rows are written out (names, numbers, amounts), never read back from the code under test.
"""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from app.extensions import db
from app.models import Payment
from app.services import payment_batches
from tests import factories
from tests.factories import admin_of, login_as, riga
from tests.integration.test_call_editor import in_english, text

DUE = date(2031, 3, 16)
DATED = [{"percent": 60, "on": "sign"}, {"percent": 40, "due_on": DUE.isoformat()}]
IBAN_A, IBAN_B = "LV87HABA0551012345678", "LV04UNLA0050012345678"


def _payments(application) -> list[Payment]:
    return sorted((p for p in db.session.query(Payment).filter_by(application_id=application.id)),
                  key=lambda p: p.tranche)


@pytest.fixture
def grants(make_call):
    """Two contracted grants of one call (two NGOs) whose second tranche is due on 16.03.2031, and one of another
    call whose second tranche waits for the approved final report."""
    call = make_call(state="announced", when="past", payment_tranches=DATED, projects=3)
    dated_a, dated_b = factories.make_applications(call, ["contracted", "contracted"])
    for application, (name, iban, municipality) in ((dated_a, ("Biedrība „Ogres jaunieši”", IBAN_A, "Ogres novads")),
                                                    (dated_b, ("Nodibinājums „Ķekavas skola”", IBAN_B,
                                                               "Ķekavas novads"))):
        organisation = application.organisation
        organisation.name, organisation.iban, organisation.municipality = name, iban, municipality
    db.session.commit()
    other_call = make_call(state="announced", when="past", organiser=call.organiser, admin=admin_of(call))
    waiting = factories.make_application(other_call, "contracted")  # 80 % on signing, 20 % after the final report
    return call, dated_a, dated_b, waiting


def test_the_list_holds_the_due_tranches_and_not_those_whose_date_or_event_has_not_come(grants, clock):
    call, dated_a, dated_b, waiting = grants
    admin = admin_of(call)
    clock.travel_to(riga(2031, 3, 15, 23, 59))  # the day before the dated tranches

    due = {(row.application.id, row.payment.tranche): row.payment.amount_cents
           for row in payment_batches.due(admin)}
    assert due == {(dated_a.id, 1): 276_000, (dated_b.id, 1): 276_000, (waiting.id, 1): 368_000}

    clock.travel_to(riga(2031, 3, 16, 0, 1))  # their Riga day has come; the final report's tranche still waits
    due = {(row.application.id, row.payment.tranche): row.payment.amount_cents
           for row in payment_batches.due(admin)}
    assert due == {(dated_a.id, 1): 276_000, (dated_a.id, 2): 184_000, (dated_b.id, 1): 276_000,
                   (dated_b.id, 2): 184_000, (waiting.id, 1): 368_000}


def test_the_list_uses_the_pay_guards_rule(grants, clock):
    """Whatever the list shows can be paid, and what it leaves out is refused: one rule (grants.not_due_reason)."""
    from app.errors import Refused
    from app.services.workflow import fire

    call, dated_a, _dated_b, waiting = grants
    admin = admin_of(call)
    clock.travel_to(riga(2031, 3, 15, 12))
    listed = {row.payment.id for row in payment_batches.due(admin)}
    left_out = [p for app in (dated_a, waiting) for p in _payments(app) if p.id not in listed]
    assert [p.tranche for p in left_out] == [2, 2]
    for payment in left_out:
        with pytest.raises(Refused):
            fire(payment, "pay", admin, bank_reference="REF")
        db.session.rollback()


def test_a_paid_tranche_leaves_the_list(grants):
    call, dated_a, _dated_b, _waiting = grants
    admin = admin_of(call)
    factories._fire(_payments(dated_a)[0], "pay", admin, bank_reference="SWED-1")
    assert (dated_a.id, 1) not in {(row.application.id, row.payment.tranche) for row in payment_batches.due(admin)}


def test_the_page_shows_the_ngo_its_number_iban_amount_and_reference_in_latvian_and_english(grants, client, clock):
    call, dated_a, _dated_b, waiting = grants
    clock.travel_to(riga(2031, 3, 16, 9))
    login_as(client, admin_of(call))
    page = text(client.get(f"/admin/payments?call={call.id}"))
    assert "Izmaksājamie maksājumi" in page
    assert "Biedrība „Ogres jaunieši”" in page and dated_a.organisation.registration_number in page
    assert IBAN_A in page and "2 760,00 €" in page and "1 840,00 €" in page
    assert f"Projekts {dated_a.number}, 2. maksājuma daļa" in page
    assert waiting.number not in page  # another call's: the filter holds

    in_english(client, admin_of(call))
    page = text(client.get("/admin/payments"))
    assert "Payments due" in page and "Tranche" in page and "Registration number" in page
    # the reference is what the NGO reads on its bank statement: in Latvian whoever downloads the file
    assert f"Projekts {dated_a.number}, 2. maksājuma daļa" in page
    assert waiting.number in page  # every call of the admin's organisers
    assert "Download the bank file (SEPA XML) for the chosen payments" in page


def test_the_csv_holds_the_same_rows(grants, client, clock):
    call, dated_a, dated_b, _waiting = grants
    clock.travel_to(riga(2031, 3, 16, 9))
    login_as(client, admin_of(call))
    response = client.get(f"/admin/payments.csv?call={call.id}")

    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the Latvian letters
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert [(r["application"], r["tranche"], r["amount_eur"], r["iban"]) for r in rows] == sorted([
        (dated_a.number, "1", "2760,00", IBAN_A), (dated_a.number, "2", "1840,00", IBAN_A),
        (dated_b.number, "1", "2760,00", IBAN_B), (dated_b.number, "2", "1840,00", IBAN_B)])
    assert {r["organisation"] for r in rows if r["application"] == dated_a.number} == {"Biedrība „Ogres jaunieši”"}
    assert {r["registration_number"] for r in rows} == {dated_a.organisation.registration_number,
                                                        dated_b.organisation.registration_number}
    assert {r["reference"] for r in rows if r["application"] == dated_a.number} == {
        f"Projekts {dated_a.number}, 1. maksājuma daļa", f"Projekts {dated_a.number}, 2. maksājuma daļa"}
    assert {r["end_to_end_id"] for r in rows if r["application"] == dated_b.number} == {
        f"{dated_b.number}-T1", f"{dated_b.number}-T2"}


def test_another_organisers_call_is_not_found_and_its_payments_are_not_listed(grants, client, make_call):
    call, dated_a, _dated_b, _waiting = grants
    stranger_call = make_call(state="announced", when="past")
    stranger = factories.make_application(stranger_call, "contracted")
    login_as(client, admin_of(call))
    assert client.get(f"/admin/payments?call={stranger_call.id}").status_code == 404
    assert client.get(f"/admin/payments.csv?call={stranger_call.id}").status_code == 404
    page = text(client.get("/admin/payments"))
    assert dated_a.number in page and stranger.number not in page
