"""Issue 9 "The real browser": one competition from the demo's call to a completed call, LV and EN, in one walk.

The pieces of a competition are clicked in depth by the other walks (the guided form, the budget table and an
attachment, a password reset and an invited colleague in test_call_to_submission_browser.py; the evaluators' invitation,
"Assign the whole call" and the score sheet in test_evaluation_browser.py; reports, the bank file and a closed grant of
a lump-sum call in test_grant_browser.py). This walk joins them in one competition and clicks what none of them does:

1. the admin copies the demo's budgeted call (app/demo/budgeted.py, JIB-<year>: four cost categories, two capped)
   into a new draft and announces it;
2. two of the demo's NGOs submit their budgets (through the services, as the demo does: the forms are the other
   walks'); after the deadline the checks, the assignments and the reviews are recorded (real fires);
3. in the browser: the admin finishes evaluation, reads the ranking with the amounts the budgets ask for, confirms
   it, re-checks the result (the verification page) before and after publishing, and publishes;
4. the funded NGO reads the agreement and accepts; the admin signs and starts the call's reporting;
5. the final report with the spending against each budget line, approved; the bank file (SEPA, validated against the
   XSD) and the batch marked paid; the grant closed; the call completed ("Complete the call");
6. the call's "At a glance" figures, and the programme's, read by the IKVD auditor; the public call page's results.

Every step asserts what the person sees. A screenshot of each main page goes to the SHOTS folder (w<nn>-*.png), and
each of those pages must fit the 1280 px window (no sideways scrolling). No axe here, for time: the accessibility
suite and the other walks run it. PDFs are stubbed (stub_pdfs), as in the other walks.
"""
from __future__ import annotations

import shutil
import time as timer
import urllib.parse
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import xmlschema
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock, create_app
from app.demo import PASSWORD as DEMO_PASSWORD
from app.demo.budgeted import BUDGETS, PROJECTS, budgeted_call
from app.demo.people import NGOS, gather_people, user_by_email
from app.demo.steps import draft, send
from app.extensions import db
from app.formatting import money
from app.models import Application, Call, Payment, Report
from app.services import applications as application_service
from app.services import budget, evaluation
from app.services.budget import LineInput
from tests import factories
from tests.e2e.conftest import serve, translator
from tests.e2e.test_competition_browser import badge, confirm_step, money_typed, state_label, trigger_label
from tests.e2e.test_grant_browser import NS, XSD, figure, fill_report, press

pytestmark = pytest.mark.browser

LANGS = ["lv", "en"]
ADMIN, AUDITOR = "admin@jelgava.lv", "auditors@ikvd.gov.lv"
ORGANISER = "Jelgavas novada pašvaldība"
FUNDED, REJECTED = "skauti", "ozolnieki"  # the demo's two budgets (app/demo/budgeted.py BUDGETS)
# The funded budget, counted by hand: 96 × 15,00 + 6 × 42,50 + 2 × 180,00 + 1 × 150,00 = 2 205,00 €.
SPENT = (144_000, 25_500, 36_000, 15_000)
FUNDED_CENTS = 220_500
CALL_BUDGET = 4_000_000  # the demo call's 40 000,00 €, copied with it
DECLARED = "Es apliecinu, ka man nav interešu konflikta."


@pytest.fixture(scope="module")
def demo_file(_sqlite_template, tmp_path_factory):
    """A migrated database holding the demo's people and its budgeted call JIB-<year> (open now), made once."""
    folder = tmp_path_factory.mktemp("whole-demo")
    database = folder / "grants.sqlite"
    shutil.copyfile(_sqlite_template, database)
    flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}",
                           UPLOAD_DIR=str(folder / "uploads"), MAIL_SERVER="")
    with flask_app.app_context():
        try:
            today = clock.to_riga(clock.now()).date()
            budgeted_call(gather_people(), today, today.year)
            db.session.commit()
        finally:
            clock.travel_to(None)
            db.session.remove()
            db.engine.dispose()
    return database


def _applications_reviewed(server, code: str) -> dict:
    """Step 2: the two NGOs submit their budgets in the window, then, after the deadline, checks, assignments and
    reviews (2 evaluators each: the funded one 9 of 10 half-points per criterion, the other 3). Real fires."""
    with server.db() as session:
        call = session.scalars(select(Call).where(Call.code == code)).one()
        admin = user_by_email(ADMIN)
        categories = sorted(call.cost_categories, key=lambda c: c.position)
        made = {}
        for n, key in enumerate((FUNDED, REJECTED)):
            member = user_by_email(next(ngo.member_email for ngo in NGOS if ngo.key == key))
            at = call.opens_at + timedelta(days=2, hours=n)
            application = draft(call, member, PROJECTS[key], at)
            session.flush()
            rows = [LineInput(categories[c].code, text, quantity, cost) for c, text, quantity, cost in BUDGETS[key]]
            budget.save(application, member, rows, application.version)
            send(application, at + timedelta(minutes=30))
            session.commit()
            made[key] = application
        clock.travel_to(call.closes_at + timedelta(days=1))
        factories.advance_call(call, "closed")
        for application in made.values():
            results = {check.id: (True, "") for check in call.checks}
            application_service.record_checks(application, admin, results)
            session.commit()
        factories._fire(call, "start_evaluation", admin)
        evaluators = [user_by_email(f"vertetajs{i}@eksperti.lv") for i in (1, 2)]
        for key, application in made.items():
            for evaluator in evaluators:
                assignment = evaluation.assign(application, evaluator, admin)
                session.commit()
                factories._fire(assignment, "declare_no_conflict", evaluator, declaration=DECLARED)
                points = 9 if key == FUNDED else 3
                evaluation.save_scores(assignment, evaluator, {
                    c.id: (min(points, c.max_half_points), "Pamatots vērtējums.") for c in call.criteria})
                session.commit()
                factories._fire(assignment, "submit_review", evaluator)
        return {"call": call.id, "numbers": {k: a.number for k, a in made.items()},
                "apps": {k: a.id for k, a in made.items()},
                "members": {k: a.organisation.members[0].email for k, a in made.items()},
                "organisations": {k: a.organisation.name for k, a in made.items()}}


def shoot(person, label: str) -> None:
    """A screenshot of a main page, which must fit the window's width (1280 px): nothing sticks out to the right
    (a navbar with more items than fit once did, with "Log out" off the screen)."""
    person.shot(label)
    wide, window = person.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert wide <= window, f"{label} ({person.lang}): the page is {wide} px wide in a {window} px window"


@pytest.mark.parametrize("lang", LANGS)
def test_whole_competition_from_the_demo_call_to_a_completed_call(lang, demo_file, tmp_path, visitor, stub_pdfs):
    _ = translator(lang)
    with serve(demo_file, tmp_path / "server") as server:
        _walk(lang, _, server, visitor)


def _walk(lang, _, server, visitor):
    started, laps = timer.monotonic(), {}

    def lap(name):
        laps[name] = round(timer.monotonic() - started, 1)

    year = clock.to_riga(clock.now()).year
    source_code, code, prefix = f"JIB-{year}", f"JIB-{year + 1}-{lang.upper()}", f"J{lang.upper()}"
    with server.db() as session:
        source = session.scalars(select(Call).where(Call.code == source_code)).one()
        source_id, source_title = source.id, source.title(lang)
        source_opens, source_criteria = clock.to_riga(source.opens_at), [c.code for c in source.criteria]
        source_categories = [(getattr(c, f"label_{lang}"), c.cap_percent)
                             for c in sorted(source.cost_categories, key=lambda c: c.position)]
    assert [cap for _label, cap in source_categories] == [None, None, 20, 10]

    # --- 1. the admin copies the demo's budgeted call and announces the copy -------------------------------------
    office = visitor(server, lang, "admin")
    page = office.page
    office.login(ADMIN, DEMO_PASSWORD)
    expect(page.locator("h1")).to_have_text(_("Calls"))
    expect(page.locator(f"table.calls a:text-is('{source_code}')")).to_be_visible()
    shoot(office, "w01-admin-calls")
    office.submit(page.locator("main a[href='/admin/calls/new']"))
    page.locator("details.copy-call > summary").click()
    page.locator("#copy-source_id").select_option(str(source_id))
    page.locator("#copy-code").fill(code)
    page.locator("#copy-number_prefix").fill(prefix)
    shoot(office, "w02-admin-copy-call")
    office.submit(page.locator("details.copy-call button.btn-primary"))
    assert _("The call is copied as a new draft. Check its dates and texts, then announce it.") in office.flashes()
    expect(badge(page)).to_have_text(state_label("call", "draft", lang))
    expect(page.locator("h1")).to_have_text(source_title)
    rows = page.locator("table.cost-categories tbody tr")
    expect(rows).to_have_count(4)
    for row, (label, cap) in zip(rows.all(), source_categories):
        expect(row).to_contain_text(label)
        if cap:
            expect(row).to_contain_text(f"{cap} %")
    expect(page.locator(".announce-summary")).to_contain_text(_("Nothing blocks announcing the call."))
    shoot(office, "w03-admin-copied-draft")
    with server.db() as session:  # the same criteria; the dates a year on, the same day and hour
        copy = session.scalars(select(Call).where(Call.code == code)).one()
        assert [c.code for c in copy.criteria] == source_criteria and copy.funding_mode == "budgeted"
        assert clock.to_riga(copy.opens_at) == source_opens.replace(year=source_opens.year + 1)
    office.submit(page.locator("button[name=trigger][value=announce]"))
    assert _("Done: %(step)s.") % {"step": trigger_label("call", "announce", lang)} in office.flashes()
    expect(badge(page)).to_have_text(state_label("call", "announced", lang))
    call_page = urllib.parse.urlsplit(page.url).path
    lap("1 copy+announce")

    # --- 2. the budgets come in; checks, assignments and reviews -------------------------------------------------
    world = _applications_reviewed(server, code)
    numbers, call_id = world["numbers"], world["call"]
    assert call_page == f"/admin/calls/{call_id}"
    with server.db() as session:
        call = session.get(Call, call_id)
        assert call.status == "evaluation" and call.budget_cents == CALL_BUDGET
        assert session.get(Application, world["apps"][FUNDED]).amount_cents == FUNDED_CENTS
        start, end = call.implementation_start, call.implementation_end
        closes_at = call.closes_at
    clock.travel_to(closes_at + timedelta(days=10, hours=10))  # the commission meets at 10:00
    lap("2 services")

    # --- 3. finish, rank, confirm, re-check, publish, re-check -----------------------------------------------------
    office.goto(call_page)
    expect(badge(page)).to_have_text(state_label("call", "evaluation", lang))
    press(office, "finish_evaluation", "call")
    expect(badge(page)).to_have_text(state_label("call", "ranking", lang))
    office.submit(page.get_by_role("link", name=_("Ranking"), exact=True).first)
    expect(page.locator("h1")).to_contain_text(_("Ranking"))
    ranking = page.locator("table.ranking")
    expect(ranking.locator("tr.decision-funded")).to_contain_text(numbers[FUNDED])
    expect(ranking.locator("tr.decision-funded")).to_contain_text(money(FUNDED_CENTS, lang))
    expect(ranking.locator("tr.decision-rejected")).to_contain_text(numbers[REJECTED])
    shoot(office, "w04-admin-ranking")
    press(office, "confirm_ranking", "call")
    assert _("Done: %(step)s.") % {"step": trigger_label("call", "confirm_ranking", lang)} in office.flashes()

    def recheck(label: str) -> None:
        office.goto(call_page)
        office.submit(page.locator("main a", has_text=_("Re-check the result")))
        expect(page.locator("h1")).to_contain_text(_("Re-check the result"))
        expect(page.locator(".verification-verdict")).to_have_text(_("All checks agree."))
        verdicts = page.locator("table.verification-checks td .badge")
        assert verdicts.count() >= 3, verdicts.all_inner_texts()
        expect(verdicts).to_have_text([_("agrees")] * verdicts.count())
        shoot(office, label)

    recheck("w05-admin-verification-confirmed")
    office.goto(f"/admin/calls/{call_id}/ranking")
    press(office, "publish_results", "call")
    assert _("Done: %(step)s.") % {"step": trigger_label("call", "publish_results", lang)} in office.flashes()
    expect(badge(page)).to_have_text(state_label("call", "awarded", lang))
    recheck("w06-admin-verification-published")
    lap("3 rank+verify+publish")

    # --- 4. the NGO accepts; the admin signs and starts the reporting ----------------------------------------------
    clock.travel_to(closes_at + timedelta(days=13))
    ngo = visitor(server, lang, "ngo")
    npage = ngo.page
    ngo.login(world["members"][FUNDED], DEMO_PASSWORD)
    ngo.switch_language()  # the account's language is English (app/demo/people.py): the page follows the button
    ngo.submit(npage.locator("table.applications tr", has_text=numbers[FUNDED]).get_by_role("link", name=_("Open")))
    expect(badge(npage)).to_have_text(state_label("application", "funded", lang))
    expect(npage.locator(".offer h2")).to_have_text(_("Congratulations: your project is funded"))
    expect(npage.locator(".offer")).to_contain_text(money(FUNDED_CENTS, lang))
    agreement_url = npage.locator("a", has_text=_("Read the agreement (PDF)")).get_attribute("href")
    assert npage.request.get(server.url + agreement_url).ok
    npage.reload()
    shoot(ngo, "w07-ngo-offer")
    npage.locator("#confirm-accept").check()
    ngo.submit(npage.locator("button[name=trigger][value=accept_offer]"))
    assert _("Done: %(state)s.") % {"state": state_label("application", "accepted", lang)} in ngo.flashes()
    expect(badge(npage)).to_have_text(state_label("application", "accepted", lang))
    view = urllib.parse.urlsplit(npage.url).path

    application_page = f"/admin/applications/{world['apps'][FUNDED]}"
    office.goto(application_page)
    press(office, "sign", "application")
    expect(badge(page)).to_have_text(state_label("application", "contracted", lang))
    expect(page.locator("table.reports tbody tr")).to_have_count(2)
    shoot(office, "w08-admin-contracted")
    office.goto(call_page)
    press(office, "start_reporting", "call")
    expect(badge(page)).to_have_text(state_label("call", "reporting", lang))
    lap("4 accept+sign")

    # --- 5. reports (the final one with its spending), the bank file, the grant closed, the call completed ---------
    with server.db() as session:  # the interim report: clicked in test_grant_browser.py; here by the services
        clock.travel_to(factories.riga(start.year, start.month, start.day, 12) + timedelta(days=20))
        interim = session.scalars(select(Report).where(Report.application_id == world["apps"][FUNDED],
                                                       Report.kind == "interim")).one()
        factories._submit_report(interim, user_by_email(world["members"][FUNDED]))
        factories._fire(interim, "approve", user_by_email(ADMIN))
    clock.travel_to(factories.riga(end.year, end.month, end.day, 12) + timedelta(days=2))
    ngo.goto(view)
    row = npage.locator("section.reports tbody tr", has_text=_("Final report"))
    ngo.submit(row.locator("a"))
    expect(npage.locator("h1")).to_have_text(_("Final report"))
    fill_report(ngo, final=True)
    spent = npage.locator("fieldset.report-spending input[name^=spent-]")
    expect(spent).to_have_count(len(SPENT))
    for field, cents in zip(spent.all(), SPENT):  # as the budget's hint says: a comma or a point, no "1,440.00"
        field.fill(money_typed(cents, lang) if lang == "lv" else f"{cents // 100}.{cents % 100:02d}")
    shoot(ngo, "w09-ngo-final-report")
    ngo.submit(npage.locator("main button", has_text=_("Save and submit")))
    if npage.locator(".confirmation button[name=confirmed]").count():
        confirm_step(ngo, trigger_label("report", "submit", lang))
    assert _("The report is submitted.") in ngo.flashes(), ngo.flashes()
    spending = npage.locator("table.report-spending tfoot")
    expect(spending).to_contain_text(money(FUNDED_CENTS, lang))
    expect(npage.locator("table.report-spending .overspend")).to_have_count(0)

    office.goto(application_page)
    office.submit(page.locator("table.reports a", has_text=_("Final report")))
    expect(page.locator("table.report-spending tfoot")).to_contain_text(money(FUNDED_CENTS, lang))
    shoot(office, "w10-admin-final-report")
    press(office, "approve", "report")
    expect(page.locator("main .badge.state").first).to_have_text(state_label("report", "approved", lang))

    office.goto(f"/admin/payments?call={call_id}")
    expect(page.locator("h1")).to_have_text(f"{_('Payments due')} {code}")
    due = page.locator("table.payments-due tbody tr")
    expect(due).to_have_count(2)  # both tranches: one after signing, one after the final report
    expect(due.first).to_contain_text(world["organisations"][FUNDED])
    expect(page.locator("table.payments-due tfoot")).to_contain_text(money(FUNDED_CENTS, lang))
    shoot(office, "w11-admin-payments-due")
    execution = clock.to_riga(clock.now()).date() + timedelta(days=1)
    page.locator("#execution_date").fill(execution.isoformat())
    with page.expect_download() as download_info:
        page.locator("main button", has_text=_("Download the bank file (SEPA XML) for the chosen payments")).click()
    with open(download_info.value.path(), "rb") as downloaded:
        content = downloaded.read()
    xmlschema.XMLSchema(str(XSD)).validate(content.decode("utf-8"))
    root = ET.fromstring(content)
    assert root.find(".//p:GrpHdr/p:CtrlSum", NS).text == "2205.00"
    # the creditor, in the Latin letters SEPA allows (ā → a), twice: both tranches in one file
    assert [e.text for e in root.iterfind(".//p:CdtTrfTxInf/p:Cdtr/p:Nm", NS)] == [
        "Kalnciema skautu un gaidu vieniba"] * 2
    office.goto(f"/admin/payments?call={call_id}")
    office.submit(page.locator("ul.payment-batches a").first)
    page.locator("#paid_on").fill(clock.to_riga(clock.now()).date().isoformat())
    page.locator("#bank_reference").fill("JNP/JIB/001")
    office.submit(page.locator("main form button", has_text=_("Mark %(n)s payments paid") % {"n": 2}))
    assert _("The payments of the batch are marked paid.") in office.flashes(), office.flashes()
    expect(page.locator("table.batch-payments .badge.state")).to_have_text([state_label("payment", "paid", lang)] * 2)
    shoot(office, "w12-admin-batch-paid")

    office.goto(application_page)
    press(office, "close_grant", "application")
    expect(badge(page)).to_have_text(state_label("application", "closed", lang))
    office.goto(call_page)
    complete = page.locator("main button[name=trigger][value=complete]")
    expect(complete).to_have_text(trigger_label("call", "complete", lang))
    press(office, "complete", "call")
    expect(badge(page)).to_have_text(state_label("call", "completed", lang))
    shoot(office, "w13-admin-call-completed")
    lap("5 report+bank+close+complete")

    # --- 6. the figures: the call's, the programme's (IKVD), the public page -------------------------------------
    office.goto(f"/admin/calls/{call_id}/dashboard")
    expect(page.locator("h1")).to_contain_text(_("At a glance"))
    cash = page.locator("#figures-money")
    for label, cents in ((_("Budget of the call"), CALL_BUDGET), (_("Awarded"), FUNDED_CENTS),
                         (_("Paid out"), FUNDED_CENTS), (_("Scheduled, not yet paid"), 0)):
        expect(figure(cash, label)).to_have_text(money(cents, lang))
    expect(figure(page.locator("#figures-reports"), _("Approved"))).to_have_text("2")
    expect(figure(page.locator("#figures-reviews"), _("Submitted"))).to_have_text("4")
    shoot(office, "w14-admin-call-dashboard")

    auditor = visitor(server, lang, "auditor")
    apage = auditor.page
    auditor.login(AUDITOR, DEMO_PASSWORD)
    auditor.submit(apage.get_by_role("navigation").get_by_role("link", name=_("The programme at a glance")))
    expect(apage.locator("h1")).to_have_text(_("The programme at a glance"))
    organiser_row = apage.locator("#figures-programme tbody tr", has=apage.get_by_role("rowheader", name=ORGANISER))
    cells = organiser_row.locator("td")
    # calls, submitted, funded, budget, awarded, paid, overdue: the demo's JIB (1 submitted) and the copy (2)
    expect(cells).to_have_text(["2", "3", "1", money(2 * CALL_BUDGET, lang), money(FUNDED_CENTS, lang),
                                money(FUNDED_CENTS, lang), "0"])
    shoot(auditor, "w15-auditor-programme")

    public = visitor(server, lang, "public")
    public.goto(f"/calls/{code}")
    public.switch_language()
    expect(badge(public.page)).to_have_text(state_label("call", "completed", lang))
    results = public.page.locator("table.results")
    expect(results).to_contain_text(world["organisations"][FUNDED])
    expect(results).not_to_contain_text(world["organisations"][REJECTED])
    shoot(public, "w16-public-results")

    with server.db() as session:
        assert session.get(Call, call_id).status == "completed"
        assert session.get(Application, world["apps"][FUNDED]).status == "closed"
        assert session.get(Application, world["apps"][REJECTED]).status == "rejected"
        payments = session.scalars(select(Payment).where(Payment.application_id == world["apps"][FUNDED])).all()
        assert sum(p.amount_cents for p in payments) == FUNDED_CENTS and {p.status for p in payments} == {"paid"}
    for person in (office, ngo, auditor, public):
        assert not person.problems, person.problems
    server.assert_healthy()
    lap("6 figures")
    print(f"\n[{lang}] laps (s): {laps}")
