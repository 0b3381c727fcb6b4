"""The budget table of a budgeted call (DESIGN 3, issue 6): cost categories set by the admin and frozen at announce,
lines typed by the NGO and worked out on the server, caps and the amount range enforced, bad input refused line by
line with nothing saved, two members saving at once, and a budgeted application submitted through the web.

The call: between 1 000,00 € and 5 000,00 € a project; categories Personāls, Materiāli (no cap) and
Administrācija (at most 10 % of the total). Expected totals are written out by hand."""
from __future__ import annotations

import hashlib
import html
import json
import re

import pytest
from sqlalchemy import func, select

from app import documents, formatting
from app.extensions import db
from app.errors import Refused
from app.models import Application, AuditEvent, BudgetLine, Call, Document
from app.services import budget, calls
from app.services.audit import canonical_json
from tests import factories
from tests.security.test_bad_input import _lv

pytestmark = pytest.mark.postgres


# --- the scene ----------------------------------------------------------------------------------------------------

@pytest.fixture
def call(app):
    """An open budgeted call with a capped administration category (added while a draft, as an admin does)."""
    draft = factories.make_call("draft", "budgeted", when="now", min_amount_cents=100_000, max_amount_cents=500_000)
    budget.add_category(draft, factories.admin_of(draft), label_lv="Administrācija", label_en="Administration",
                        cap_percent=10)
    db.session.commit()
    return factories.advance_call(draft, "open")


@pytest.fixture
def draft(call, client, stub_pdfs):
    application = factories.make_application(call, "draft")
    factories.login_as(client, factories.member_of(application))
    return application


def url(application) -> str:
    return f"/apply/applications/{application.id}/budget"


def form(application, *lines, **extra) -> dict:
    """The table as the browser posts it: parallel lists of category, description, quantity and unit cost."""
    db.session.refresh(application)
    return {"version": str(application.version), "category": [line[0] for line in lines],
            "description": [line[1] for line in lines], "quantity": [line[2] for line in lines],
            "unit_cost": [line[3] for line in lines], **extra}


def stored(application) -> tuple:
    db.session.expire_all()
    found = db.session.get(Application, application.id)
    return (found.amount_cents, found.version,
            [(b.category, b.description, b.quantity, b.unit_cost_cents, b.amount_cents) for b in found.budget_lines])


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [str(message) for _category, message in session.pop("_flashes", [])]


GOOD = [("staff", "Projekta vadītājs, mēneši", "6", "350,00"),   # 2 100,00
        ("materials", "Darbnīcu materiāli", "12", "45.5"),        #   546,00
        ("administration", "Grāmatvedība", "1", "250")]           #   250,00 → 2 896,00; admin 8,6 %


# --- the NGO's table ------------------------------------------------------------------------------------------------

def test_the_lines_and_the_total_are_worked_out_on_the_server(client, draft):
    response = client.post(url(draft), data=form(draft, *GOOD, ("", "", "", ""), total="1", amount="99 999,00"))
    assert response.status_code == 302
    amount, _version, lines = stored(draft)
    assert lines == [("staff", "Projekta vadītājs, mēneši", 6, 35_000, 210_000),
                     ("materials", "Darbnīcu materiāli", 12, 4_550, 54_600),
                     ("administration", "Grāmatvedība", 1, 25_000, 25_000)]
    assert amount == 289_600  # the forged total and amount are not read
    assert _lv("The budget is saved: %(total)s.") % {"total": "2\u00a0896,00\u00a0€"} in flashes(client)
    page = page_text(client.get(url(draft)))
    assert "2\u00a0896,00\u00a0€</output>" in page and "2\u00a0100,00\u00a0€" in page
    assert "8,7 %" in page  # 250 of 2 896 is 8.63 %, shown rounded up
    assert _lv("The budget meets the call’s rules.") in page
    assert budget.step_status(db.session.get(Application, draft.id)) == "completed"


@pytest.mark.parametrize("quantity", ["-1", "1,5", "0.5", "0", "abc", "", "²", "1e3"])
def test_a_negative_or_fractional_quantity_is_refused_on_its_line(client, draft, quantity):
    before = stored(draft)
    response = client.post(url(draft), data=form(draft, GOOD[0], ("materials", "Krāsas", quantity, "10,00")))
    assert response.status_code == 400
    page = page_text(response)
    assert _lv("Some budget lines need correcting; nothing was saved.") in page
    second_line = page.split('id="quantity-1"')[0].rsplit('<tr class="budget-row', 1)[1]
    assert _lv("The quantity is a whole number of units above zero, e.g. 3. For part of a unit, price a smaller "
               "unit (hours instead of days).") in second_line
    assert 'value="Krāsas"' in page  # what was typed is kept on the page
    assert stored(draft) == before


@pytest.mark.parametrize("unit_cost", ["1e9", "12,345", "-5", "NaN", "Infinity", "1.200,50", "12,5,0", ""])
def test_a_unit_cost_that_is_not_euros_and_cents_is_refused(client, draft, unit_cost):
    before = stored(draft)
    response = client.post(url(draft), data=form(draft, ("staff", "Vadītājs", "2", unit_cost)))
    assert response.status_code == 400
    assert _lv("Enter the unit cost in euros with at most two decimals, e.g. 12,50.") in page_text(response)
    assert stored(draft) == before


@pytest.mark.parametrize("typed, cents", [("1 200,50", 120_050), ("1200.5", 120_050), ("35", 3_500),
                                          ("0,07", 7), ("1\u00a0000 €", 100_000)])
def test_unit_costs_as_people_type_them(typed, cents):
    assert budget.parse_unit_cost(typed) == cents


def test_a_line_needs_a_category_of_the_call_and_a_description(client, draft):
    before = stored(draft)
    response = client.post(url(draft), data=form(draft, ("travel", "Autobuss", "1", "100"), ("staff", " ", "1", "1")))
    assert response.status_code == 400
    page = page_text(response)
    assert _lv("Choose the cost category.") in page and _lv("Describe the cost.") in page
    assert stored(draft) == before


def test_a_category_over_its_cap_is_saved_as_typed_told_and_refused_at_submission(client, draft):
    lines = [("staff", "Vadītājs", "1", "2 000,00"), ("administration", "Grāmatvedība", "1", "300,00")]
    response = client.post(url(draft), data=form(draft, *lines))
    assert response.status_code == 302
    told = " ".join(flashes(client))
    cap = _lv("%(category)s: %(amount)s is %(share)s %% of the total; at most %(cap)s %% is allowed.") % {
        "category": "Administrācija", "amount": "300,00\u00a0€", "share": "13,1", "cap": 10}  # 300 / 2 300
    assert cap in told
    assert stored(draft)[0] == 230_000
    assert cap in page_text(client.get(url(draft)))
    assert budget.step_status(db.session.get(Application, draft.id)) == "in_progress"

    response = client.post(f"/apply/applications/{draft.id}/submit", data={"confirmed": "1"})
    assert response.status_code == 302
    assert any(cap in message for message in flashes(client))
    assert db.session.get(Application, draft.id).status == "draft"


@pytest.mark.parametrize("unit_cost, total", [("999,99", "999,99\u00a0€"), ("5 000,01", "5\u00a0000,01\u00a0€")])
def test_an_amount_outside_the_range_cannot_be_submitted(client, draft, unit_cost, total):
    assert client.post(url(draft), data=form(draft, ("staff", "Vadītājs", "1", unit_cost))).status_code == 302
    flashes(client)
    client.post(f"/apply/applications/{draft.id}/submit", data={"confirmed": "1"})
    message = _lv("The budget's total %(total)s is outside the call's range: %(low)s to %(high)s.") % {
        "total": total, "low": "1\u00a0000,00\u00a0€", "high": "5\u00a0000,00\u00a0€"}
    assert any(message in m for m in flashes(client))
    assert db.session.get(Application, draft.id).status == "draft"


def test_lines_that_do_not_add_up_to_the_amount_are_refused_at_submission(client, draft):
    """The web always stores the total as the amount; a row changed behind its back (an import, a script) is
    still caught by the guard."""
    db.session.execute(Application.__table__.update().where(Application.id == draft.id)
                       .values(amount_cents=400_001))
    db.session.commit()
    client.post(f"/apply/applications/{draft.id}/submit", data={"confirmed": "1"})
    assert any(_lv("The budget lines must add up to the amount requested.") in m for m in flashes(client))
    assert db.session.get(Application, draft.id).status == "draft"


def test_script_in_a_description_is_text_on_the_page_and_in_the_pdf(app, client, draft):
    hostile = "<script>alert(1)</script> Kafija"
    client.post(url(draft), data=form(draft, ("staff", hostile, "4", "300")))
    assert stored(draft)[2][0][1] == hostile
    body = client.get(url(draft)).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt; Kafija" in body
    view = client.get(f"/apply/applications/{draft.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in view

    application = db.session.get(Application, draft.id)
    context = {"application": {"number": "T-1", "title": "Tests", "submitted": "", "sha256": "0" * 64,
                               "content": {}, "amount": "1 200,00 €"},
               "organisation": {"name": "Biedrība", "registration_number": "40008000121"},
               "call": {"code": "C", "title": "Konkurss"}, "budget": budget.receipt_rows(application, "lv")}
    source = documents.render_html("receipt", context, "lv")
    assert "<script>alert(1)" not in source and "&lt;script&gt;alert(1)&lt;/script&gt; Kafija" in source
    from tests.integration.test_documents_render import pdf_text

    text = re.sub(r"\s+", "", pdf_text(_real_render(app, context)))  # a table cell wraps its text
    assert "<script>alert(1)</script>Kafija" in text and "Izmaksukategorija" in text


def _real_render(app, context) -> bytes:
    """WeasyPrint itself (the `stub_pdfs` fixture replaced `documents.render` in this test)."""
    from weasyprint import HTML

    return HTML(string=documents.render_html("receipt", context, "lv")).write_pdf()


def test_two_members_saving_the_budget_at_once_the_second_is_told(client, app, draft):
    colleague = factories.make_user("applicant", organisation=draft.organisation)
    other = app.test_client()
    factories.login_as(other, colleague)
    loaded = form(draft, GOOD[0])["version"]  # both opened the page at this version

    first = client.post(url(draft), data={**form(draft, *GOOD), "version": loaded})
    assert first.status_code == 302
    kept = stored(draft)
    second = other.post(url(draft), data={**form(draft, ("materials", "Cits plāns", "1", "1 500")),
                                          "version": loaded})
    assert second.status_code == 409
    page = page_text(second)
    assert _lv("Someone else saved this application meanwhile. Reload the page and enter your changes again.") in page
    assert 'value="Cits plāns"' in page  # the second member's typing is on the page to copy
    assert stored(draft) == kept  # nothing of the first is lost


def test_a_lump_sum_call_takes_exactly_its_lump_sum(client, stub_pdfs):
    """4 600,01 € on a lump-sum call: the guard refuses an amount that differs from the lump sum whatever wrote
    it, the draft form's amount is not read, and the budget page takes nothing."""
    lump = factories.make_call("open", "lump_sum")
    application = factories.make_application(lump, "draft")
    factories.login_as(client, factories.member_of(application))
    db.session.execute(Application.__table__.update().where(Application.id == application.id)
                       .values(amount_cents=460_001))
    db.session.commit()
    client.post(f"/apply/applications/{application.id}/submit", data={"confirmed": "1"})
    exactly = _lv("This call funds exactly %(amount)s per project.") % {"amount": "4\u00a0600,00\u00a0€"}
    told = flashes(client)
    assert any(exactly in m for m in told), told
    assert db.session.get(Application, application.id).status == "draft"

    db.session.execute(Application.__table__.update().where(Application.id == application.id)
                       .values(amount_cents=460_000))
    db.session.commit()
    db.session.refresh(application)
    client.post(f"/apply/applications/{application.id}", data={"version": str(application.version),
                                                                 "amount": "4 600,01"})
    assert stored(application)[0] == 460_000

    response = client.post(url(application), data=form(application, ("staff", "Vadītājs", "1", "4 600,01")))
    assert response.status_code == 302
    assert _lv("This call funds a lump sum: there is no budget table to fill in.") in flashes(client)
    assert stored(application)[2] == [] and stored(application)[0] == 460_000


def test_a_budgeted_application_is_submitted_through_the_web(client, draft, stub_pdfs):
    assert budget.step_status(draft) == "completed"  # the builder's own budget (2 lines, 4 000,00 €)
    assert client.post(url(draft), data=form(draft, *GOOD)).status_code == 302
    response = client.post(f"/apply/applications/{draft.id}/submit", data={"confirmed": "1"})
    assert response.status_code == 302 and response.location.endswith(f"/apply/applications/{draft.id}/receipt")
    db.session.expire_all()
    submitted = db.session.get(Application, draft.id)
    assert submitted.status == "submitted" and submitted.amount_cents == 289_600
    receipt = page_text(client.get(f"/apply/applications/{draft.id}/receipt"))
    assert "2\u00a0896,00\u00a0€" in receipt and submitted.number in receipt
    assert "3 budžeta rindu kopsumma" in receipt
    frozen = {"call": submitted.call.code, "organisation": submitted.organisation.registration_number,
              "title": submitted.title, "content": submitted.content, "amount_cents": 289_600,
              "budget": [["staff", "Projekta vadītājs, mēneši", 6, 35_000, 210_000],
                         ["materials", "Darbnīcu materiāli", 12, 4_550, 54_600],
                         ["administration", "Grāmatvedība", 1, 25_000, 25_000]]}
    assert submitted.content_sha256 == hashlib.sha256(canonical_json(frozen).encode()).hexdigest()
    context = db.session.get(Document, submitted.receipt_document_id).context  # frozen for the PDF
    assert [(line["category"], line["amount"]) for line in context["budget"]["lines"]] == [
        ("Personāls", "2\u00a0100,00\u00a0€"), ("Materiāli", "546,00\u00a0€"), ("Administrācija", "250,00\u00a0€")]
    assert context["budget"]["total"] == "2\u00a0896,00\u00a0€"
    factories.login_as(admin := client.application.test_client(), factories.admin_of(submitted.call))
    shown = page_text(admin.get(f"/admin/applications/{submitted.id}"))
    assert "Administrācija" in shown and "Grāmatvedība" in shown and "2\u00a0896,00\u00a0€" in shown
    assert client.get(url(draft)).status_code == 302  # no budget changes after submission
    assert client.post(url(draft), data=form(submitted, GOOD[0])).status_code == 302
    assert stored(submitted)[0] == 289_600


def test_a_stranger_cannot_read_or_write_the_budget(client, draft):
    stranger = factories.make_user("applicant")
    factories.login_as(client, stranger)
    before = stored(draft)
    assert client.get(url(draft)).status_code == 404
    assert client.post(url(draft), data=form(draft, *GOOD)).status_code == 404
    assert stored(draft) == before


def test_step_status_for_the_guided_form(call, stub_pdfs):
    member = factories.make_user("applicant")
    from app.services import applications

    empty = applications.create_draft(call, member)
    db.session.commit()
    assert budget.step_status(empty) == "not_started"
    lump = factories.make_application(factories.make_call("open"), "draft")
    assert budget.step_status(lump) == "completed"


# --- the admin's categories ---------------------------------------------------------------------------------------

@pytest.fixture
def admin_client(client):
    def for_call(draft_call):
        factories.login_as(client, factories.admin_of(draft_call))
        return client
    return for_call


def test_the_admin_adds_and_removes_cost_categories_on_a_draft(admin_client):
    draft_call = factories.make_call("draft", "budgeted")
    client = admin_client(draft_call)
    base = f"/admin/calls/{draft_call.id}/cost-categories"
    assert client.post(base, data={"label_lv": "Administrācija", "label_en": "Administration",
                                   "cap_percent": "10"}).status_code == 302
    for cap in ("0", "101", "abc"):
        client.post(base, data={"label_lv": "Ceļa izdevumi", "label_en": "Travel", "cap_percent": cap})
    client.post(base, data={"label_lv": "Administrācija", "label_en": "Admin", "cap_percent": ""})
    db.session.expire_all()
    categories = db.session.get(Call, draft_call.id).cost_categories
    assert [(c.code, c.label_lv, c.cap_percent) for c in categories] == [
        ("staff", "Personāls", None), ("materials", "Materiāli", None), ("administration", "Administrācija", 10)]
    page = page_text(client.get(f"/admin/calls/{draft_call.id}"))
    assert "Administrācija" in page and "10 %" in page and _lv("Budget: cost categories") in page

    removed = categories[1]
    assert client.post(f"{base}/{removed.id}/delete").status_code == 302
    db.session.expire_all()
    assert [c.code for c in db.session.get(Call, draft_call.id).cost_categories] == ["staff", "administration"]


def test_cost_categories_are_frozen_at_announce_and_in_the_definition_hash(admin_client):
    draft_call = factories.make_call("draft", "budgeted")
    factories.advance_call(draft_call, "announced")
    client = admin_client(draft_call)
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    client.post(f"/admin/calls/{draft_call.id}/cost-categories", data={"label_lv": "Cits", "label_en": "Other"})
    assert _lv("The call is announced; its definition is frozen.") in flashes(client)
    first = draft_call.cost_categories[0]
    client.post(f"/admin/calls/{draft_call.id}/cost-categories/{first.id}/delete")
    db.session.expire_all()
    announced = db.session.get(Call, draft_call.id)
    assert [c.code for c in announced.cost_categories] == ["staff", "materials"]
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events
    assert calls.definition(announced)["cost_categories"] == [["staff", "Personāls", "Staff", None],
                                                              ["materials", "Materiāli", "Materials", None]]
    stored_hash = announced.definition_sha256
    announced.cost_categories[1].cap_percent = 50  # behind the app's back: the frozen hash no longer matches
    assert hashlib.sha256(canonical_json(calls.definition(announced)).encode()).hexdigest() != stored_hash
    db.session.rollback()


def test_a_budgeted_call_without_cost_categories_cannot_be_announced(admin_client):
    draft_call = factories.make_call("draft", "budgeted")
    for category in list(draft_call.cost_categories):
        budget.remove_category(draft_call, factories.admin_of(draft_call), category)
    db.session.commit()
    with pytest.raises(Refused) as refused:
        factories.advance_call(draft_call, "announced")
    assert refused.value.message == _lv("Add at least one cost category: a budgeted call's applicants fill in a "
                                        "budget by category.")
    db.session.expire_all()
    assert db.session.get(Call, draft_call.id).status == "draft"


def test_a_lump_sum_call_takes_no_cost_categories(admin_client):
    draft_call = factories.make_call("draft", "lump_sum")
    client = admin_client(draft_call)
    client.post(f"/admin/calls/{draft_call.id}/cost-categories", data={"label_lv": "Cits", "label_en": "Other"})
    assert _lv("Cost categories belong to budgeted calls. Choose the budgeted funding mode first.") in flashes(client)
    assert db.session.scalar(select(func.count(BudgetLine.id))) == 0
    db.session.expire_all()
    assert db.session.get(Call, draft_call.id).cost_categories == []


# --- the budget in the applications CSV and in the submission e-mail -------------------------------------------------

def test_the_applications_csv_has_a_column_per_cost_category_and_the_budget_total(call, client, stub_pdfs):
    import csv
    import io

    submitted = factories.make_application(call, "submitted")  # the builder's lines: 2 000,00 € staff + materials
    factories.login_as(client, factories.admin_of(call))  # Latvian

    body = client.get(f"/admin/calls/{call.id}/applications.csv").get_data().decode("utf-8-sig")

    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[0][-4:] == ["Personāls (EUR)", "Materiāli (EUR)", "Administrācija (EUR)", "budget_total_eur"]
    (row,) = [r for r in rows[1:] if r[0] == submitted.number]
    assert row[-4:] == ["2000.00", "2000.00", "0.00", "4000.00"]


def test_the_csv_of_a_lump_sum_call_has_no_budget_columns(client, stub_pdfs):
    import csv
    import io

    lump = factories.make_application(state="submitted")
    factories.login_as(client, factories.admin_of(lump.call))
    body = client.get(f"/admin/calls/{lump.call.id}/applications.csv").get_data().decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(body), delimiter=";"))
    assert header[-1] == "amount_eur" and "budget_total_eur" not in header


@pytest.mark.parametrize("language", ["lv", "en"])
def test_the_submission_email_lists_the_budget_lines_escaped_in_the_members_language(client, draft, language):
    from app.models import Message, User

    member = db.session.get(User, factories.member_of(draft).id)
    member.language = language
    db.session.commit()
    lines = [*GOOD[:2], ("administration", "<script>alert(1)</script> & Co", "1", "250")]
    assert client.post(url(draft), data=form(draft, *lines)).status_code == 302
    assert client.post(f"/apply/applications/{draft.id}/submit", data={"confirmed": "1"}).status_code == 302

    message = db.session.scalars(select(Message).where(Message.user_id == member.id)
                                 .order_by(Message.id.desc())).first()
    if language == "lv":
        expected = ["Personāls: Projekta vadītājs, mēneši — 6 × 350,00\u00a0€ = 2\u00a0100,00\u00a0€",
                    "Materiāli: Darbnīcu materiāli — 12 × 45,50\u00a0€ = 546,00\u00a0€",
                    "Administrācija: <script>alert(1)</script> & Co — 1 × 250,00\u00a0€ = 250,00\u00a0€",
                    "Kopā: 2\u00a0896,00\u00a0€"]
    else:
        expected = ["Staff: Projekta vadītājs, mēneši — 6 × €350.00 = €2,100.00",
                    "Materials: Darbnīcu materiāli — 12 × €45.50 = €546.00",
                    "Administration: <script>alert(1)</script> & Co — 1 × €250.00 = €250.00",
                    "Total: €2,896.00"]
    for line in expected:
        assert line in message.body_text, message.body_text
    assert "<script>" not in message.body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in message.body_html
    assert ("2\u00a0896,00\u00a0€" if language == "lv" else "€2,896.00") in message.body_html
    assert ("Darbnīcu materiāli</td><td align=\"right\">12</td>") in message.body_html


# --- the admin's category form: shown again as typed, edited, moved ----------------------------------------------------

def test_a_wrong_category_form_is_shown_again_as_typed_with_the_error_beside_the_field(admin_client):
    draft_call = factories.make_call("draft", "budgeted")
    client = admin_client(draft_call)

    response = client.post(f"/admin/calls/{draft_call.id}/cost-categories",
                           data={"label_lv": "Ceļa izdevumi <b>", "label_en": "Travel", "cap_percent": "101"})

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert re.search(r'id="category-label_lv"[^>]*value="Ceļa izdevumi &lt;b&gt;"', body)
    assert re.search(r'id="category-cap_percent"[^>]*value="101"', body)
    after_cap = body[body.index('id="category-cap_percent"'):]
    error = re.search(r'<div class="invalid-feedback d-block">([^<]+)</div>', after_cap).group(1)
    assert "1" in error and "100" in error  # the range, beside the field it is about
    cap_input = body[body.rindex("<input", 0, body.index('id="category-cap_percent"')):].split(">")[0]
    assert "is-invalid" in cap_input
    assert flashes(client) == []  # said on the page, not flashed for the next one
    db.session.expire_all()
    assert [c.code for c in db.session.get(Call, draft_call.id).cost_categories] == ["staff", "materials"]


def test_a_category_name_the_call_has_is_said_beside_the_name(admin_client):
    draft_call = factories.make_call("draft", "budgeted")
    client = admin_client(draft_call)

    response = client.post(f"/admin/calls/{draft_call.id}/cost-categories",
                           data={"label_lv": "personāls", "label_en": "People", "cap_percent": ""})

    assert response.status_code == 409
    assert _lv("The call already has a cost category of this name.") in page_text(response)
    assert re.search(r'value="personāls"', response.get_data(as_text=True))
    db.session.expire_all()
    assert len(db.session.get(Call, draft_call.id).cost_categories) == 2


def test_the_admin_edits_a_category_and_its_code_stays(admin_client):
    draft_call = factories.make_call("draft", "budgeted")
    client = admin_client(draft_call)
    staff = draft_call.cost_categories[0]
    page = client.get(f"/admin/calls/{draft_call.id}/cost-categories/{staff.id}").get_data(as_text=True)
    assert re.search(r'id="category-label_lv"[^>]*value="Personāls"', page)

    response = client.post(f"/admin/calls/{draft_call.id}/cost-categories/{staff.id}",
                           data={"label_lv": "Atlīdzība", "label_en": "Pay", "cap_percent": "60"})

    assert response.status_code == 302
    db.session.expire_all()
    changed = db.session.get(Call, draft_call.id).cost_categories[0]
    assert (changed.code, changed.label_lv, changed.label_en, changed.cap_percent) == ("staff", "Atlīdzība", "Pay", 60)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "call",
                                                        AuditEvent.entity_id == draft_call.id)
                               .order_by(AuditEvent.id.desc())).first()
    recorded = json.loads(event.data)
    assert recorded["cost_category_changed"] == "staff" and recorded["before"]["label_lv"] == "Personāls"

    wrong = client.post(f"/admin/calls/{draft_call.id}/cost-categories/{staff.id}",
                        data={"label_lv": "", "label_en": "Pay", "cap_percent": "abc"})
    assert wrong.status_code == 400 and re.search(r'id="category-cap_percent"[^>]*value="abc"',
                                                  wrong.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Call, draft_call.id).cost_categories[0].label_lv == "Atlīdzība"


def test_the_admin_moves_categories_up_and_down_while_a_draft(admin_client):
    draft_call = factories.make_call("draft", "budgeted")
    budget.add_category(draft_call, factories.admin_of(draft_call), label_lv="Administrācija",
                        label_en="Administration", cap_percent=10)
    db.session.commit()
    client = admin_client(draft_call)
    staff, materials, administration = draft_call.cost_categories
    base = f"/admin/calls/{draft_call.id}/cost-categories"

    assert client.post(f"{base}/{administration.id}/move", data={"direction": "up"}).status_code == 302
    db.session.expire_all()
    assert [c.code for c in db.session.get(Call, draft_call.id).cost_categories] == [
        "staff", "administration", "materials"]
    client.post(f"{base}/{staff.id}/move", data={"direction": "down"})
    client.post(f"{base}/{staff.id}/move", data={"direction": "down"})
    client.post(f"{base}/{staff.id}/move", data={"direction": "down"})  # already last: nothing moves
    db.session.expire_all()
    assert [c.code for c in db.session.get(Call, draft_call.id).cost_categories] == [
        "administration", "materials", "staff"]
    assert client.post(f"{base}/{staff.id}/move", data={"direction": "sideways"}).status_code == 400
    page = page_text(client.get(f"/admin/calls/{draft_call.id}"))
    assert page.index("Administrācija") < page.index("Materiāli") < page.index("Personāls")


def test_an_announced_calls_categories_can_be_neither_edited_nor_moved(admin_client):
    draft_call = factories.make_call("draft", "budgeted")
    factories.advance_call(draft_call, "announced")
    client = admin_client(draft_call)
    staff, materials = draft_call.cost_categories
    base = f"/admin/calls/{draft_call.id}/cost-categories"

    client.post(f"{base}/{staff.id}", data={"label_lv": "Cits", "label_en": "Other", "cap_percent": ""})
    assert _lv("The call is announced; its definition is frozen.") in flashes(client)
    client.post(f"{base}/{materials.id}/move", data={"direction": "up"})
    assert _lv("The call is announced; its definition is frozen.") in flashes(client)
    db.session.expire_all()
    assert [(c.code, c.label_lv) for c in db.session.get(Call, draft_call.id).cost_categories] == [
        ("staff", "Personāls"), ("materials", "Materiāli")]


@pytest.mark.parametrize("typed, lang, cents", [
    ("1,440.00", "en", 144_000),  # as the English pages write amounts: what is shown can be typed back
    ("€1,440.00", "en", 144_000), ("1 440.00", "en", 144_000), ("12,50", "en", 1_250), ("1,234,567", "en", 123_456_700),
    ("1 440,00", "lv", 144_000), ("1440.00", "lv", 144_000), ("1\u00a0440,00\u00a0€", "lv", 144_000)])
def test_money_as_each_language_writes_it(typed, lang, cents):
    assert formatting.parse_money(typed, lang) == cents


@pytest.mark.parametrize("typed, lang", [
    ("1,440", "lv"),  # a Latvian comma is the decimal comma: three decimals, not a thousand
    ("1,440.00", "lv"), ("1.440,00", "en"), ("1.440,00", "lv"), ("1,44,0", "en"), ("12.345", "en"), ("-5", "en"),
    ("1e3", "lv"), ("", "lv")])
def test_money_that_could_be_read_two_ways_is_refused(typed, lang):
    with pytest.raises(ValueError):
        formatting.parse_money(typed, lang)


def test_the_english_budget_page_takes_the_amount_as_it_shows_it(client, draft):
    with client.session_transaction() as session:
        session["lang"] = "en"
    client.post(url(draft), data=form(draft, ("staff", "Project lead", "2", "1,440.00")))
    assert stored(draft)[2] == [("staff", "Project lead", 2, 144_000, 288_000)]
