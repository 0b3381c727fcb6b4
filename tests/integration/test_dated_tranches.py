"""Payment tranches due from a Riga calendar date or on an event (issues 6 and 8): set in the call editor in words,
scheduled when the agreement is signed, and paid only once their date has come or their event has happened.

Each test moves the clock or the reports as the admin would live them, and reads what the admin would check: the
payment's state, the reason beside the disabled button, the stored rows, the page's and the PDF's text.
"""
from __future__ import annotations

import html
import io
import re
from datetime import date

import pytest
import tinyhtml5
from pypdf import PdfReader
from sqlalchemy import func, select

from app.errors import Refused
from app.extensions import db
from app.models import Call, Payment
from app.services.workflow import fire
from tests import factories
from tests.factories import admin_of, login_as, riga
from tests.integration.test_call_editor import CALL_FORM, TECHNICAL, in_english, text

DUE = date(2031, 3, 16)  # a Monday; a dated tranche is paid from this Riga calendar day
DATED = [{"percent": 60, "on": "sign"}, {"percent": 40, "due_on": DUE.isoformat()}]
THREE_EVENTS = [{"percent": 50, "on": "sign"}, {"percent": 30, "on": "interim_report_approved"},
                {"percent": 20, "on": "final_report_approved"}]


def payments_of(application) -> list[Payment]:
    return db.session.scalars(select(Payment).where(Payment.application_id == application.id)
                              .order_by(Payment.tranche)).all()


def contracted(make_call, tranches):
    call = make_call(state="announced", when="past", payment_tranches=tranches)
    return factories.make_application(call, state="contracted")


def pay(payment, admin, reference="LV-REF-1"):
    fire(payment, "pay", admin, bank_reference=reference)
    db.session.commit()


def refusal_beside_mark_as_paid(client, application, payment) -> str:
    """The reason shown beside the disabled "Mark as paid" of `payment` on the admin's page of the application."""
    tree = tinyhtml5.parse(client.get(f"/admin/applications/{application.id}").get_data(as_text=True),
                           namespace_html_elements=False)
    why = tree.find(f".//*[@id='why-p{payment.id}-pay']")
    assert why is not None, "no reason beside the button"
    button = tree.find(f".//button[@aria-describedby='why-p{payment.id}-pay']")
    assert button is not None and "disabled" in button.attrib
    return " ".join("".join(why.itertext()).split())


# --- the payment guard -----------------------------------------------------------------------------------------

def test_a_dated_tranche_is_scheduled_at_signing_and_waits_for_its_date(make_call):
    application = contracted(make_call, DATED)

    first, dated = payments_of(application)

    assert (first.due_on_event, first.due_on, first.scheduled_at is not None) == ("sign", None, True)
    assert (dated.due_on_event, dated.due_on, dated.scheduled_at, dated.status) == (None, DUE, None, "scheduled")
    assert first.amount_cents == 276_000 and dated.amount_cents == 184_000  # 60 % and 40 % of 4 600,00 €


def test_a_dated_tranche_cannot_be_paid_the_day_before_and_can_on_its_riga_day(make_call, clock):
    application = contracted(make_call, DATED)
    admin, dated = admin_of(application.call), payments_of(application)[1]

    clock.travel_to(riga(2031, 3, 15, 23, 59, 59))
    with pytest.raises(Refused) as refused:
        pay(dated, admin)
    assert refused.value.message == "Šī maksājuma daļa vēl nav izmaksājama: to izmaksā, sākot ar 16.03.2031."
    db.session.rollback()
    assert db.session.get(Payment, dated.id).status == "scheduled"

    clock.travel_to(riga(2031, 3, 16, 0, 30))  # still 15 March in UTC: the day is Riga's
    pay(db.session.get(Payment, dated.id), admin)

    paid = db.session.get(Payment, dated.id)
    assert (paid.status, paid.bank_reference, paid.paid_on) == ("paid", "LV-REF-1", DUE)


def test_the_reason_is_shown_beside_the_disabled_button_in_the_readers_language(make_call, client, clock):
    application = contracted(make_call, DATED)
    dated = payments_of(application)[1]
    clock.travel_to(riga(2031, 3, 10, 12))

    in_english(client, admin_of(application.call))
    assert refusal_beside_mark_as_paid(client, application, dated) == (
        "This tranche is not due yet: it is paid from 16.03.2031.")
    page = text(client.get(f"/admin/applications/{application.id}"))
    assert "from 16.03.2031" in page and "on signing the agreement" in page
    assert [key for key in TECHNICAL if key in page] == []

    member = client.application.test_client()
    in_english(member, factories.member_of(application))
    grant_page = text(member.get(f"/apply/applications/{application.id}/view"))
    assert "from 16.03.2031" in grant_page and "on signing the agreement" in grant_page
    assert [key for key in TECHNICAL if key in grant_page] == []


def test_an_event_tranche_cannot_be_paid_right_after_signing_and_is_released_by_its_report(make_call, client):
    application = contracted(make_call, THREE_EVENTS)
    admin = admin_of(application.call)
    on_signing, after_interim, after_final = payments_of(application)
    pay(on_signing, admin)

    for payment, report in ((after_interim, "interim"), (after_final, "final")):
        with pytest.raises(Refused) as refused:
            pay(payment, admin)
        assert refused.value.message == {
            "interim": "Šī maksājuma daļa vēl nav izmaksājama: to izmaksā pēc starpposma atskaites apstiprināšanas.",
            "final": "Šī maksājuma daļa vēl nav izmaksājama: tā tiek izmaksāta pēc noslēguma atskaites "
                     "apstiprināšanas."}[report]
        db.session.rollback()
    in_english(client, admin)
    assert refusal_beside_mark_as_paid(client, application, after_interim) == (
        "This tranche is not due yet: it waits for the approved interim report.")

    factories.make_report("approved", application=application, kind="interim")
    pay(db.session.get(Payment, after_interim.id), admin, "LV-REF-2")  # the interim report released it
    with pytest.raises(Refused):
        pay(db.session.get(Payment, after_final.id), admin, "LV-REF-3")  # the final one still waits
    db.session.rollback()

    assert [p.status for p in payments_of(application)] == ["paid", "paid", "scheduled"]


# --- the call editor ---------------------------------------------------------------------------------------------

@pytest.fixture
def admin(make_organiser, make_user):
    return make_user("admin", organiser=make_organiser("Jelgavas novada pašvaldība"))


def post_call(client, admin, **rows):
    data = {**CALL_FORM, "organiser_id": str(admin.organisers[0].id),
            "payment_tranches-0-percent": "", "payment_tranches-0-on": "",
            "payment_tranches-1-percent": "", "payment_tranches-1-on": "", **rows}
    return client.post("/admin/calls/new", data=data)


def stored_call() -> Call | None:
    return db.session.scalar(select(Call).where(Call.code == CALL_FORM["code"]))


def test_the_editor_stores_a_tranche_from_a_date_and_shows_it_in_words(client, admin):
    in_english(client, admin)
    response = post_call(client, admin, **{
        "payment_tranches-0-percent": "70", "payment_tranches-0-on": "sign",
        "payment_tranches-1-percent": "30", "payment_tranches-1-on": "date",
        "payment_tranches-1-due_on": "01.09.2030"})

    assert response.status_code == 302, text(response)
    call = stored_call()
    assert call.payment_tranches == [{"percent": 70, "on": "sign"}, {"percent": 30, "due_on": "2030-09-01"}]
    page = text(client.get(f"/admin/calls/{call.id}"))
    assert "70 % on signing the agreement; 30 % from 01.09.2030" in page
    form = client.get(f"/admin/calls/{call.id}/edit").get_data(as_text=True)
    assert re.search(r'<option selected value="date">|<option value="date" selected>', form)
    assert 'value="2030-09-01"' in form
    assert [key for key in TECHNICAL if key in text(client.get(f"/admin/calls/{call.id}/edit"))] == []


@pytest.mark.parametrize(("lang", "rows", "message"), [
    ("en", {"payment_tranches-0-percent": "60", "payment_tranches-0-on": "sign",
            "payment_tranches-1-percent": "30", "payment_tranches-1-on": "date",
            "payment_tranches-1-due_on": "2030-09-01"},
     "The tranches add up to 90 %; they must add up to 100 %."),
    ("lv", {"payment_tranches-0-percent": "60", "payment_tranches-0-on": "sign",
            "payment_tranches-1-percent": "30", "payment_tranches-1-on": "date",
            "payment_tranches-1-due_on": "2030-09-01"},
     "Maksājuma daļas kopā ir 90 %; tām kopā jābūt 100 %."),
    ("en", {"payment_tranches-0-percent": "60", "payment_tranches-0-on": "sign",
            "payment_tranches-1-percent": "40", "payment_tranches-1-on": "date"},
     "Enter the date this tranche is paid from."),
    ("lv", {"payment_tranches-0-percent": "60", "payment_tranches-0-on": "sign",
            "payment_tranches-1-percent": "40", "payment_tranches-1-on": "sign",
            "payment_tranches-1-due_on": "2030-09-01"},
     "Maksājuma daļu izmaksā vai nu sākot ar datumu, vai pēc notikuma"),
    ("en", {"payment_tranches-0-percent": "60", "payment_tranches-0-on": "sign",
            "payment_tranches-1-percent": "40", "payment_tranches-1-on": "interim_report_approved",
            "report_schedule-0-kind": "", "report_schedule-0-due_on": ""},
     "This call schedules no interim report: add one under Reports, or choose another moment."),
])
def test_a_wrong_tranche_row_is_refused_beside_the_row_and_nothing_is_saved(client, admin, lang, rows, message):
    if lang == "en":
        in_english(client, admin)
    else:
        login_as(client, admin)

    response = post_call(client, admin, **rows)

    assert response.status_code == 200
    assert message in text(response)
    assert db.session.scalar(select(func.count(Call.id))) == 0


def test_each_row_of_a_wrong_total_carries_the_message(client, admin):
    in_english(client, admin)
    body = post_call(client, admin, **{
        "payment_tranches-0-percent": "60", "payment_tranches-0-on": "sign",
        "payment_tranches-1-percent": "30", "payment_tranches-1-on": "final_report_approved"}).get_data(as_text=True)

    assert html.unescape(body).count("The tranches add up to 90 %; they must add up to 100 %.") == 2
    assert len(re.findall(r'name="payment_tranches-[01]-percent"[^>]*is-invalid|is-invalid[^>]*'
                          r'name="payment_tranches-[01]-percent"', body)) == 2


def test_a_copy_moves_a_dated_tranche_with_the_other_dates(admin_client_for_copy):
    client, source = admin_client_for_copy
    response = client.post("/admin/calls/new/copy", data={"source_id": str(source.id), "opens_at": "",
                                                          "code": "COPY-1", "number_prefix": "COPY-1"})
    assert response.status_code == 302
    copy = db.session.scalar(select(Call).where(Call.code == "COPY-1"))
    years = copy.opens_at.year - source.opens_at.year
    assert years >= 1
    assert copy.payment_tranches == [{"percent": 60, "on": "sign"},
                                     {"percent": 40, "due_on": DUE.replace(year=DUE.year + years).isoformat()}]


@pytest.fixture
def admin_client_for_copy(client, make_call):
    source = make_call(state="closed", payment_tranches=DATED)
    in_english(client, admin_of(source))
    return client, source


# --- the public page and the regulations ------------------------------------------------------------------------

def test_the_public_page_and_the_regulations_say_when_each_tranche_is_paid(make_call, client):
    draft = make_call(state="draft", payment_tranches=DATED)
    login_as(client, admin_of(draft))  # Latvian

    regulations = client.get(f"/admin/calls/{draft.id}/preview/regulations.pdf")
    pdf = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(regulations.data)).pages).split())
    assert "60 % pēc finansējuma līguma noslēgšanas" in pdf
    assert "40 % sākot ar 16.03.2031." in pdf

    call = make_call(state="open", payment_tranches=DATED)
    page = text(client.get(f"/calls/{call.code}"))
    assert "60 % līguma parakstīšanas dienā; 40 % sākot ar 16.03.2031." in page
    assert [key for key in TECHNICAL if key in page] == []
