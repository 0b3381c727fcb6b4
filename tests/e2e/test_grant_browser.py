"""Issue 8 "Done when", clicked through in a real browser (system Chromium, live threaded server), LV and EN: a funded
project of a 2022 call goes from the offer to a closed grant.

The world: every grant of the demo's PMP-2022 (app/demo/competition_2022.py) is already signed, settled and closed
and the call completed, so nothing there is left at the offer stage. The factories (real fires) make a call like the
demo's instead: spring 2022, one lump sum of 4 600,00 €, 80 % paid on signing and 20 % after the final report, one
funded application. The organiser's bank account (for the SEPA file) is set in the database, as
tests/integration/test_sepa.py does.

In the browser: the NGO reads the agreement (PDF) and accepts it online (the page shows the SHA-256 of the PDF it
downloaded); the admin signs; the clock moves so the interim report opens, the NGO fills in and submits it, the admin
approves it; the clock moves past the implementation's end, the same for the final report; the admin opens Payments
due, downloads the SEPA file (validated here against the XSD sepaxml ships), marks the batch paid and closes the
grant; the NGO sees it closed and its timeline; the admin reads the call's "At a glance" figures and its charts load
as SVG. axe (no serious or critical finding) on each page of the grant. PDFs are stubbed (stub_pdfs): the agreement is
still queued, stored once and hashed; its first download renders it, as no worker runs here.
"""
from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from importlib import resources

import pytest
import xmlschema
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.formatting import money
from app.models import Application, Payment, PaymentBatch, Report
from tests import factories
from tests.e2e.conftest import translator
from tests.e2e.test_call_to_submission_browser import axe_clean
from tests.e2e.test_competition_browser import badge, confirm_step, state_label, trigger_label
from tests.integration.test_sepa import bank_ready

pytestmark = pytest.mark.browser

LANGS = ["lv", "en"]
PASSWORD = factories.TEST_PASSWORD
SHA256 = re.compile(r"^[0-9a-f]{64}$")
XSD = resources.files("sepaxml") / "schemas" / "pain.001.001.09.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
PUBLISHED = factories.riga(2022, 5, 6, 10)  # the demo's results day
LUMP_SUM, FIRST, SECOND = 460_000, 368_000, 92_000  # 4 600,00 €: 80 % and 20 %, counted by hand


def press(person, trigger: str, workflow: str) -> None:
    """Press the workflow button `trigger`; if the server asks first (an irreversible step), confirm."""
    person.submit(person.page.locator(f"main button[name=trigger][value={trigger}]").first)
    if person.page.locator(".confirmation button[name=confirmed]").count():
        confirm_step(person, trigger_label(workflow, trigger, person.lang))


def figure(table, label: str):
    """The figure in the row of `table` headed exactly `label`."""
    return table.locator("tr", has=table.page.get_by_role("rowheader", name=label, exact=True)).locator("td")


def fill_report(ngo, final: bool) -> None:
    page = ngo.page
    form = page.locator("main form").filter(has=page.locator("[name=activities]"))
    form.locator("[name=activities]").fill("Notika 12 darbnīcas un 3 izbraukumi." if final else "Notika 6 darbnīcas.")
    form.locator("[name=participants]").fill("16")
    form.locator("[name=participants_at_risk]").fill("9")
    form.locator("[name=results]").fill("Kavējumi samazinājās." if final else "Darbs notiek pēc plāna.")
    for row in form.locator(".report-indicators tbody tr").all():  # achieved: what was planned
        planned = row.locator("td.text-end").inner_text().strip()
        row.locator("input[name$='-achieved']").fill(planned if planned.isdigit() else "0")
    form.locator("[name=declaration]").check()


@pytest.mark.parametrize("lang", LANGS)
def test_funded_project_from_offer_to_closed_grant(lang, live_server, visitor, stub_pdfs):
    _ = translator(lang)
    server = live_server()
    clock.travel_to(PUBLISHED - timedelta(days=6))
    with server.db() as session:
        organiser = factories.make_organiser("Jelgavas novada pašvaldība")
        admin = factories.make_user("admin", organiser=organiser, name="Ilze Grīnberga",
                                    email="ilze@jelgava.example.lv")
        call = factories.make_call("announced", when="past", organiser=organiser, admin=admin, projects=1,
                                   code=f"PMP-2022-{lang.upper()}", number_prefix=f"P22{lang.upper()}")
        funded = factories.make_application(call, "funded", title="Jauniešu vasaras līderu skola")
        bank_ready(organiser)
        assert call.status == "awarded" and funded.status == "funded"
        ids = {"call": call.id, "app": funded.id}
        start, end = call.implementation_start, call.implementation_end
        ngo_email, admin_email, number = factories.member_of(funded).email, admin.email, funded.number
        organisation_name = funded.organisation.name
        session.commit()

    # --- the NGO reads its offer and the agreement, and accepts it online --------------------------------------
    clock.travel_to(PUBLISHED + timedelta(days=3, hours=1))
    ngo = visitor(server, lang, "ngo")
    npage = ngo.page
    ngo.login(ngo_email, PASSWORD)
    view = f"/apply/applications/{ids['app']}/view"
    ngo.goto(view)
    expect(badge(npage)).to_have_text(state_label("application", "funded", lang))
    expect(npage.locator(".offer h2")).to_have_text(_("Congratulations: your project is funded"))
    agreement_url = npage.locator("a", has_text=_("Read the agreement (PDF)")).get_attribute("href")
    pdf = npage.request.get(ngo.server.url + agreement_url)
    assert pdf.ok and pdf.headers["content-type"].startswith("application/pdf"), pdf.headers
    pdf_hash = hashlib.sha256(pdf.body()).hexdigest()
    npage.reload()
    axe_clean(ngo, "g01-ngo-offer")
    npage.locator("#confirm-accept").check()
    ngo.submit(npage.locator("button[name=trigger][value=accept_offer]"))
    assert _("Done: %(state)s.") % {"state": state_label("application", "accepted", lang)} in ngo.flashes()
    expect(badge(npage)).to_have_text(state_label("application", "accepted", lang))
    shown = npage.locator("code.receipt-hash").inner_text().strip()
    assert SHA256.match(shown) and shown == pdf_hash, (shown, pdf_hash)  # the hash of the very PDF it read

    # --- the admin signs ---------------------------------------------------------------------------------------
    office = visitor(server, lang, "admin")
    page = office.page
    office.login(admin_email, PASSWORD)
    application_page = f"/admin/applications/{ids['app']}"
    office.goto(application_page)
    press(office, "sign", "application")
    expect(badge(page)).to_have_text(state_label("application", "contracted", lang))
    expect(page.locator("table.reports tbody tr")).to_have_count(2)
    axe_clean(office, "g02-admin-contracted")

    # --- the reports: interim once the implementation begins, final once it ends ---------------------------------
    for kind, moment in (("interim", factories.riga(start.year, start.month, start.day, 12) + timedelta(days=20)),
                         ("final", factories.riga(end.year, end.month, end.day, 12) + timedelta(days=2))):
        clock.travel_to(moment)
        heading = _("Interim report") if kind == "interim" else _("Final report")
        ngo.goto(view)
        expect(badge(npage)).to_have_text(state_label("application", "contracted", lang))
        row = npage.locator("section.reports tbody tr", has_text=heading)
        expect(row.locator(".badge.state")).to_have_text(state_label("report", "draft", lang))
        ngo.submit(row.locator("a"))
        expect(npage.locator("h1")).to_have_text(heading)
        fill_report(ngo, final=kind == "final")
        if kind == "interim":
            axe_clean(ngo, "g03-ngo-report-form")
        ngo.submit(npage.locator("main button", has_text=_("Save and submit")))
        if npage.locator(".confirmation button[name=confirmed]").count():
            confirm_step(ngo, trigger_label("report", "submit", lang))
        assert _("The report is submitted.") in ngo.flashes(), ngo.flashes()
        expect(npage.locator("main .badge.state").first).to_have_text(state_label("report", "submitted", lang))
        expect(npage.locator("main")).to_contain_text("Kavējumi samazinājās." if kind == "final"
                                                      else "Darbs notiek pēc plāna.")

        office.goto(application_page)
        office.submit(page.locator("table.reports a", has_text=heading))
        expect(page.locator("main")).to_contain_text("Notika 12 darbnīcas" if kind == "final" else "Notika 6")
        if kind == "interim":
            axe_clean(office, "g04-admin-report")
        press(office, "approve", "report")
        expect(page.locator("main .badge.state").first).to_have_text(state_label("report", "approved", lang))

    # --- Payments due: both tranches; the SEPA file; the batch paid -----------------------------------------------
    office.goto("/admin/payments")
    expect(page.locator("h1")).to_have_text(_("Payments due"))
    rows = page.locator("table.payments-due tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(number)
    expect(rows.first).to_contain_text(organisation_name)
    expect(page.locator("table.payments-due tfoot")).to_contain_text(money(LUMP_SUM, lang))
    axe_clean(office, "g05-admin-payments-due")
    execution = clock.to_riga(clock.now()).date() + timedelta(days=1)
    page.locator("#execution_date").fill(execution.isoformat())
    with page.expect_download() as download_info:
        page.locator("main button", has_text=_("Download the bank file (SEPA XML) for the chosen payments")).click()
    with open(download_info.value.path(), "rb") as downloaded:
        content = downloaded.read()
    xmlschema.XMLSchema(str(XSD)).validate(content.decode("utf-8"))  # raises on any invalid element
    root = ET.fromstring(content)
    amounts = sorted(e.text for e in root.iterfind(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", NS))
    assert amounts == ["3680.00", "920.00"], amounts
    assert root.find(".//p:GrpHdr/p:CtrlSum", NS).text == "4600.00"
    assert root.find(".//p:PmtInf/p:ReqdExctnDt/p:Dt", NS).text == execution.isoformat()

    office.goto("/admin/payments")
    office.submit(page.locator("ul.payment-batches a").first)
    expect(page.locator("table.batch-payments tbody tr")).to_have_count(2)
    axe_clean(office, "g06-admin-batch")
    paid_on = clock.to_riga(clock.now()).date()  # not in the future: the bank reports what it has done
    page.locator("#paid_on").fill(paid_on.isoformat())
    page.locator("#bank_reference").fill("JNP/2022/12/28-001")
    office.submit(page.locator("main form button", has_text=_("Mark %(n)s payments paid") % {"n": 2}))
    assert _("The payments of the batch are marked paid.") in office.flashes(), office.flashes()
    expect(page.locator("main")).to_contain_text(_("Every payment of this batch is paid or cancelled."))
    expect(page.locator("table.batch-payments .badge.state")).to_have_text(
        [state_label("payment", "paid", lang)] * 2)

    # --- the admin closes the grant; the NGO sees it closed and its timeline -------------------------------------
    office.goto(application_page)
    press(office, "close_grant", "application")
    expect(badge(page)).to_have_text(state_label("application", "closed", lang))
    ngo.goto(view)
    expect(badge(npage)).to_have_text(state_label("application", "closed", lang))
    expect(npage.locator("main")).to_contain_text(
        _("The project is closed: every report is approved and every payment made."))
    axe_clean(ngo, "g07-ngo-closed")
    ngo.submit(npage.locator("main a", has_text=_("Timeline")).first)
    timeline = npage.locator("ol.timeline")
    for trigger in ("accept_offer", "sign", "close_grant"):
        expect(timeline).to_contain_text(trigger_label("application", trigger, lang))
    for workflow, trigger, times in (("report", "submit", 2), ("report", "approve", 2), ("payment", "pay", 2)):
        expect(timeline.locator("li", has_text=trigger_label(workflow, trigger, lang))).to_have_count(times)
    axe_clean(ngo, "g08-ngo-timeline")

    # --- At a glance: the money, the reports, the evaluation, with charts as SVG ----------------------------------
    svg_answers = []
    page.on("response", lambda r: svg_answers.append((r.url, r.status, r.headers.get("content-type", "")))
            if "/charts/" in r.url else None)
    office.goto(f"/admin/calls/{ids['call']}/dashboard")
    expect(page.locator("h1")).to_contain_text(_("At a glance"))
    cash = page.locator("#figures-money")
    for label, cents in ((_("Budget of the call"), LUMP_SUM), (_("Awarded"), LUMP_SUM), (_("Paid out"), LUMP_SUM),
                         (_("Scheduled, not yet paid"), 0), (_("Not awarded"), 0)):
        expect(figure(cash, label)).to_have_text(money(cents, lang))
    expect(figure(page.locator("#figures-reports"), _("Approved"))).to_have_text("2")
    expect(figure(page.locator("#figures-reports"), _("Overdue"))).to_have_text("0")
    expect(figure(page.locator("#figures-reviews"), _("Submitted"))).to_have_text("2")  # the factories' 2 reviews
    images = page.locator("figure.chart img")
    expect(images).to_have_count(4)
    page.wait_for_function("() => [...document.querySelectorAll('figure.chart img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    assert len(svg_answers) == 4, svg_answers
    assert all(status == 200 and kind.startswith("image/svg+xml") for _u, status, kind in svg_answers), svg_answers
    axe_clean(office, "g09-admin-dashboard")

    # --- what the database holds -----------------------------------------------------------------------------------
    with server.db() as session:
        application = session.get(Application, ids["app"])
        assert application.status == "closed" and application.agreement_sha256 == pdf_hash
        reports = session.scalars(select(Report).where(Report.application_id == ids["app"])).all()
        assert sorted((r.kind, r.status) for r in reports) == [("final", "approved"), ("interim", "approved")]
        payments = session.scalars(select(Payment).where(Payment.application_id == ids["app"])
                                   .order_by(Payment.tranche)).all()
        assert [(p.amount_cents, p.status, p.bank_reference) for p in payments] == [
            (FIRST, "paid", "JNP/2022/12/28-001"), (SECOND, "paid", "JNP/2022/12/28-001")]
        batch = session.scalar(select(PaymentBatch))
        assert batch.total_cents == LUMP_SUM and batch.sha256 == hashlib.sha256(content).hexdigest()

    for person in (office, ngo):
        assert not person.problems, person.problems
    server.assert_healthy()
