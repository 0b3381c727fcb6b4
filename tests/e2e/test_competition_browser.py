"""The competition in a real browser (DESIGN 6.2 "browser"): headless system Chromium against the app served by
werkzeug's threaded server, in Latvian and in English.

1. The walking skeleton, clicked through by every person in their own browser context: the admin creates, defines
   and announces a call; the public page shows it open; an NGO registers, applies and gets its receipt; after the
   deadline the admin checks, assigns and starts evaluation; two evaluators declare, score and submit; the admin
   finishes, confirms the ranking and publishes; the NGO reads its result and accepts the offer; the admin signs.
2. Accessibility: axe-core on the main pages, no "critical" or "serious" violation.
3. The threaded server: workflow moves fired from 8 threads at once over HTTP stay correct (DESIGN 4.2).
Screenshots of the main pages go to /tmp/e2e-shots (not asserted).
"""
from __future__ import annotations

import gc
import hashlib
import http.cookiejar
import json
import random
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, time, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import jsonify, request
from flask_babel import force_locale
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Application, Assignment, AuditEvent, Call, Criterion, Decision, Grant, Payment, User
from app.services import audit, evaluation
from app.services.applications import frozen_content
from app.services.audit import canonical_json
from app.services.evaluation import DECLARATION
from app.services.workflow import engine
from tests import factories
from tests.e2e.conftest import Visitor, new_context, serve, translator
from workflows.engine import WORKFLOWS

pytestmark = pytest.mark.browser

LANGS = ["lv", "en"]
PASSWORD = factories.TEST_PASSWORD
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def state_label(workflow: str, state: str, lang: str) -> str:
    return WORKFLOWS[workflow].label(state, lang)


def trigger_label(workflow: str, trigger: str, lang: str) -> str:
    return WORKFLOWS[workflow].trigger_label(trigger, lang)


def riga_at(day, hour=0, minute=0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=clock.RIGA)


def money_typed(cents: int, lang: str) -> str:
    """An amount as a person of that language types it."""
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", " ") + f",{rest:02d}" if lang == "lv" else f"{euros:,}.{rest:02d}"


def badge(page):
    """The first state badge on the page (the page's own subject)."""
    return page.locator("main .badge.state").first


def confirm_step(person, label: str) -> None:
    """On the page that asks before an irreversible step: it names the step and says it cannot be undone; press
    the confirm button (by keyboard: focus it and press Enter, as nothing there needs a mouse or script)."""
    _ = translator(person.lang)
    expect(person.page.locator("h1")).to_have_text(_("%(step)s?") % {"step": label})
    expect(person.page.locator(".confirmation")).to_contain_text(_("This cannot be undone."))
    button = person.page.locator(".confirmation button[name=confirmed]")
    expect(button).to_have_text(label)
    button.focus()
    with person.page.expect_navigation(wait_until="load"):
        person.page.keyboard.press("Enter")


# --- 1. the walking skeleton ----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_competition_clicked_through(lang, live_server, visitor, stub_pdfs):
    """Every step by a person at a browser, in `lang`. (PDFs are stubbed: WeasyPrint costs ~1 s a render and has
    tests of its own; the documents are still queued, stored and hashed.)"""
    _ = translator(lang)
    server = live_server()
    code, prefix = f"PMP-E2E-{lang.upper()}", f"E2E{lang.upper()}"

    # The people the programme already has: staff accounts are made with `flask create-user`, not on a page.
    with server.db():
        organiser = factories.make_organiser("Jelgavas novada pašvaldība")
        admin = factories.make_user("admin", organiser=organiser, name="Ilze Grīnberga",
                                    email="ilze@jelgava.example.lv")
        evaluators = [factories.make_user("evaluator", name=name, email=email) for name, email in
                      (("Inese Liepiņa", "inese@eksperti.example.com"),
                       ("Kārlis Jansons", "karlis@eksperti.example.com"))]
        admin_email, evaluator_ids = admin.email, [e.id for e in evaluators]
        evaluator_logins = [(e.email, e.name) for e in evaluators]

    # The calendar of the call, from today (Riga): opens in 2 days, 35 days to apply.
    today = clock.to_riga(clock.now()).date()
    opens_at = riga_at(today + timedelta(days=2), 9)
    closes_at = riga_at(today + timedelta(days=37))
    decision_on = closes_at.date() + timedelta(days=14)
    start_on, end_on = decision_on + timedelta(days=10), decision_on + timedelta(days=160)
    clock.travel_to(riga_at(today, 10))

    # --- the admin creates the call, its criteria and checks, and announces it --------------------------------
    office = visitor(server, lang, "admin")
    page = office.page
    office.goto("/")
    office.switch_language()
    expect(page.locator("h1")).to_have_text(_("Youth initiative project competitions"))
    expect(page.locator("main")).to_contain_text(_("No calls are announced at the moment."))
    office.login(admin_email, PASSWORD)
    expect(page.locator("h1")).to_have_text(_("Calls"))
    office.submit(page.locator("main a[href='/admin/calls/new']"))
    expect(page.locator("h1")).to_have_text(_("New call"))
    form = page.locator("form.call-form")
    fields = {
        "code": code, "number_prefix": prefix,
        "title_lv": "Riska jauniešu iesaiste jaunatnes iniciatīvu projektos",
        "title_en": "Involving young people at risk in youth initiative projects",
        "description_lv": "Konkurss biedrībām un jaunatnes organizācijām.",
        "description_en": "A call for associations and youth organisations.",
        "funder": "IKVD", "programme": "8.3.4.0/16/I/001",
        "budget": money_typed(920_000, lang), "amount": money_typed(460_000, lang),
        "opens_at": opens_at.strftime("%Y-%m-%dT%H:%M"), "closes_at": closes_at.strftime("%Y-%m-%dT%H:%M"),
        "decision_on": decision_on.isoformat(), "implementation_start": start_on.isoformat(),
        "implementation_end": end_on.isoformat(), "pass_mark": "6",
        "report_schedule-0-due_on": (start_on + timedelta(days=60)).isoformat(),
        "report_schedule-1-due_on": (end_on + timedelta(days=14)).isoformat(),
    }
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("[name=funding_mode]").select_option("lump_sum")
    for name, value in (("report_schedule-0-kind", "interim"), ("report_schedule-1-kind", "final")):
        form.locator(f"[name={name}]").select_option(value)  # a row: the report chosen from a list, its date
    office.shot("01-admin-new-call")
    office.submit(form.locator("button.btn-primary"))
    expect(page.locator("h1")).to_have_text(fields[f"title_{lang}"])
    expect(badge(page)).to_have_text(state_label("call", "draft", lang))
    assert _("The call is created as a draft. Add its criteria and checks, then announce it.") in office.flashes()

    criteria = (("2.2", "Jauniešu iesaiste projekta plānošanā", "Young people's part in planning", "3"),
                ("2.4.1", "Ietekme uz mācību motivāciju", "Effect on learning motivation", ""))
    for criterion_code, title_lv, title_en, minimum in criteria:
        form = page.locator("form[action$='/criteria']")
        page.locator("details:has(form[action$='/criteria']) > summary").click()
        for name, value in (("code", criterion_code), ("title_lv", title_lv), ("title_en", title_en),
                            ("max_points", "5"), ("min_points", minimum),
                            ("anchors", "0 = neatbilst\n5 = izcili")):
            form.locator(f"[name={name}]").fill(value)
        office.submit(form.locator("button.btn-primary"))
        assert _("Criterion %(code)s added.") % {"code": criterion_code} in office.flashes()
    for check_code, title_lv, title_en, automatic in (("A1", "Iesniegts termiņā", "Submitted on time", "on_time"),
                                                      ("A3", "Atbilstošs iesniedzējs", "Eligible applicant", "")):
        form = page.locator("form[action$='/checks']")
        page.locator("details:has(form[action$='/checks']) > summary").click()
        for name, value in (("code", check_code), ("title_lv", title_lv), ("title_en", title_en)):
            form.locator(f"[name={name}]").fill(value)
        form.locator("[name=automatic]").select_option(automatic)
        office.submit(form.locator("button.btn-primary"))
        assert _("Check %(code)s added.") % {"code": check_code} in office.flashes()
    expect(page.locator("table.criteria tbody tr")).to_have_count(2)
    expect(page.locator("table.checks tbody tr")).to_have_count(2)

    announce = page.locator("button[name=trigger][value=announce]")
    expect(announce).to_have_text(trigger_label("call", "announce", lang))
    office.submit(announce)
    assert _("Done: %(step)s.") % {"step": trigger_label("call", "announce", lang)} in office.flashes()
    expect(badge(page)).to_have_text(state_label("call", "announced", lang))
    expect(page.locator("form[action$='/criteria']")).to_have_count(0)  # frozen
    office.shot("03-admin-call-announced")

    # --- the public sees it open once its opening time has come --------------------------------------------------
    clock.travel_to(opens_at + timedelta(hours=1))
    ngo = visitor(server, lang, "ngo")
    npage = ngo.page
    ngo.goto("/")
    ngo.switch_language()
    call_link = npage.locator(f"main a[href='/calls/{code}']")
    expect(call_link).to_have_text(fields[f"title_{lang}"])
    ngo.submit(call_link)
    expect(npage.locator("h1")).to_have_text(fields[f"title_{lang}"])
    expect(badge(npage)).to_have_text(state_label("call", "open", lang))
    expect(npage.locator("main")).to_contain_text(_("Log in to apply"))

    # --- an NGO registers, drafts, fills in and submits; it sees the receipt with the SHA-256 --------------------
    ngo.submit(npage.locator("nav a[href='/register']"))
    expect(npage.locator("h1")).to_have_text(_("Register an NGO"))
    form = npage.locator("main form")
    registration = factories.registration_number(4242)
    for name, value in (("organisation_name", "Biedrība „Jaunieši Jelgavai”"), ("registration_number", registration),
                        ("iban", factories.IBAN), ("organisation_email", "info@jauniesi-jelgava.example.lv"),
                        ("address", "Lielā iela 12, Jelgava"), ("user_name", "Anna Kalniņa"),
                        ("email", "anna@jauniesi-jelgava.example.lv"), ("password", PASSWORD),
                        ("password_again", PASSWORD)):
        form.locator(f"[name={name}]").fill(value)
    form.locator("[name=legal_form]").select_option("biedriba")
    ngo.submit(form.locator("button"))
    expect(npage.locator("h1")).to_have_text(_("Check your e-mail"))  # the same answer whether or not it is new
    with server.db():
        confirm = factories.confirmation_path("anna@jauniesi-jelgava.example.lv")  # the link in the e-mail
    ngo.goto(confirm)
    expect(npage.locator("h1")).to_have_text(_("Confirm the registration"))
    ngo.submit(npage.locator("main form button"))
    assert _("Your organisation is registered. You can now apply.") in ngo.flashes()
    expect(npage.locator("h1")).to_have_text(_("My applications"))
    ngo.submit(npage.locator(f"form[action='/apply/calls/{code}/start'] button"))
    expect(npage.locator("h1")).to_have_text(_("New application"))
    expect(badge(npage)).to_have_text(state_label("application", "draft", lang))
    draft_path = urllib.parse.urlsplit(npage.url).path  # the task list: each step of the guided form, not started
    expect(npage.locator(".task-list .task-status").first).to_have_text(_("Not started"))
    title = "Jauniešu vasaras līderu skola"
    ngo.submit(npage.locator(".task-list a").first)
    for heading, typed in (
            (_("The project"), (("title", title), ("summary", "Radošās darbnīcas un mentorings jauniešiem."),
                                ("objectives", "Mazināt kavējumus un celt mācību motivāciju."),
                                ("start_on", start_on.isoformat()), ("end_on", end_on.isoformat()))),
            (_("Activities"), (("activities", "12 darbnīcas, 3 izbraukumi, mentorings."),)),
            (_("Participants"), (("target_group", "13–18 gadus veci jaunieši no Jelgavas skolām."),
                                 ("participants", "16"), ("participants_at_risk", "9"))),
            (_("Results and indicators"), (("results", "Jaunieši turpina mācības."),
                                           ("indicator_1_name", "Darbnīcas"), ("indicator_1_target", "12")))):
        expect(npage.locator("h1")).to_have_text(heading)
        form = npage.locator("#step-form")
        for name, value in typed:
            form.locator(f"[name={name}]").fill(value)
        ngo.submit(form.locator("button[value=next]"))  # "Save and continue": on to the next step
        assert _("Saved.") in ngo.flashes()
    ngo.goto(draft_path)  # back to the task list, as the breadcrumb does
    expect(npage.locator(".task-project .task-status")).to_have_text(_("Completed"))
    ngo.submit(npage.locator(".task-list a[href$='/steps/declarations']"))
    npage.locator("#step-form [name=declarations]").check()
    ngo.submit(npage.locator("#step-form button[value=next]"))  # the last step leads to "check your answers"
    expect(npage.locator("h1")).to_have_text(_("Check your answers before submitting"))
    expect(npage.locator(".checklist")).to_contain_text(_("Everything required is filled in."))
    expect(npage.locator(".check-project .answers")).to_contain_text(title)
    ngo.submit(npage.locator(f"form[action$='{draft_path}/submit'] button"))
    confirm_step(ngo, trigger_label("application", "submit", lang))  # asked first: submitting is for good
    assert _("Your application is submitted. Keep the receipt.") in ngo.flashes()
    expect(npage.locator("h1")).to_have_text(_("Receipt of submission"))
    number = f"{prefix}-001"
    expect(npage.locator(".application-number")).to_have_text(number)
    shown_hash = npage.locator("code.receipt-hash").inner_text().strip()
    assert SHA256.match(shown_hash), shown_hash
    expect(badge(npage)).to_have_text(state_label("application", "submitted", lang))
    ngo.shot("07-receipt")

    # --- the deadline passes; the admin checks, assigns evaluators and starts evaluation -------------------------
    clock.travel_to(closes_at + timedelta(minutes=1))
    office.goto("/admin/")
    office.submit(page.locator(f"table.calls a:text-is('{code}')"))
    expect(badge(page)).to_have_text(state_label("call", "closed", lang))
    office.submit(page.locator("main a[href$='/applications']").first)
    expect(page.locator("h1")).to_contain_text(_("Applications"))
    office.submit(page.locator(f"table.applications a:text-is('{number}')"))
    expect(badge(page)).to_have_text(state_label("application", "submitted", lang))
    application_page = page.url
    checks = page.locator("form.checks-form")
    for option in checks.locator("input[type=radio][value=yes]").all():
        option.check()
    office.submit(checks.locator("button.btn-primary"))
    assert _("The checks are recorded.") in office.flashes()
    expect(badge(page)).to_have_text(state_label("application", "eligible", lang))
    for evaluator_id, (_email, name) in zip(evaluator_ids, evaluator_logins):
        page.locator("select[name=evaluator_id]").select_option(str(evaluator_id))
        office.submit(page.locator("form[action$='/assign'] button"))
        assert _("%(name)s is assigned.") % {"name": name} in office.flashes()
    expect(page.locator("table.assignments tbody .badge.state")).to_have_text(
        [state_label("review", "assigned", lang)] * 2)
    office.shot("08-admin-application-assigned")
    office.submit(page.locator(f"nav ol.breadcrumb a:text-is('{code}')"))
    office.submit(page.locator("button[name=trigger][value=start_evaluation]"))
    assert _("Done: %(step)s.") % {"step": trigger_label("call", "start_evaluation", lang)} in office.flashes()
    expect(badge(page)).to_have_text(state_label("call", "evaluation", lang))

    # --- each evaluator declares no conflict, scores and submits ---------------------------------------------------
    for (email, name), scores in zip(evaluator_logins, (("4.5", "4"), ("4.5", "4"))):  # points (9 and 8 half points)
        expert = visitor(server, lang, name)
        epage = expert.page
        expert.login(email, PASSWORD)
        expect(epage.locator("h1")).to_have_text(_("My reviews"))
        expect(epage.locator("table.waiting .badge.state")).to_have_text(state_label("review", "assigned", lang))
        expert.submit(epage.locator("table.waiting a[href^='/evaluate/assignments/']"))
        expect(epage.locator("h1")).to_have_text(f"{_('Application')} {number}")
        expect(epage.locator(".declaration h2")).to_have_text(_("Conflict of interest declaration"))
        expect(epage.locator("main")).not_to_contain_text("Mazināt kavējumus")  # nothing before the declaration
        expert.submit(epage.locator("button[name=trigger][value=declare_no_conflict]"))
        assert _("Declaration recorded. You can now read and score the application.") in expert.flashes()
        expect(badge(epage)).to_have_text(state_label("review", "accepted", lang))
        sheet = epage.locator("#score-sheet")
        for number_field, value in zip(sheet.locator("input.score-input").all(), scores):
            number_field.fill(value)
        for comment in sheet.locator("textarea[name^=comment_]").all():
            comment.fill("Pamatots vērtējums: jaunieši paši plāno aktivitātes.")
        if email == evaluator_logins[0][0]:
            expert.shot("09-evaluator-sheet")
        expert.submit(sheet.locator("button[formaction$='/submit']"))
        confirm_step(expert, trigger_label("review", "submit_review", lang))
        assert _("Your review is submitted. Thank you.") in expert.flashes()
        expect(epage.locator("table.done .badge.state")).to_have_text(state_label("review", "submitted", lang))
        assert not expert.problems, expert.problems

    # --- the admin finishes evaluation, confirms the ranking and publishes -----------------------------------------
    # The call's page was drawn before the reviews came in, with 'Finish evaluation' disabled and why; a new look
    # at it offers the step.
    expect(page.locator("button[disabled]")).to_have_text(trigger_label("call", "finish_evaluation", lang))
    page.reload()
    office.submit(page.locator("button[name=trigger][value=finish_evaluation]"))
    expect(badge(page)).to_have_text(state_label("call", "ranking", lang))
    office.submit(page.locator("main a[href$='/ranking']"))
    expect(page.locator("h1")).to_contain_text(_("Ranking"))
    expect(page.locator("table.ranking tbody tr")).to_have_count(1)
    expect(page.locator("table.ranking tbody")).to_contain_text(_("passes"))
    expect(page.locator("button:not([name])[disabled]")).to_have_text(trigger_label("call", "publish_results", lang))
    expect(page.locator("main")).to_contain_text(
        _("Confirm the ranking first: the commission protocol is not yet stored."))  # beside the disabled Publish
    office.submit(page.locator("button[name=trigger][value=confirm_ranking]"))
    confirm_step(office, trigger_label("call", "confirm_ranking", lang))
    assert _("Done: %(step)s.") % {"step": trigger_label("call", "confirm_ranking", lang)} in office.flashes()
    expect(page.locator("main")).to_contain_text(
        _("The protocol matches the current scores, amounts and budget: the results can be published."))
    office.shot("10-admin-ranking")
    office.submit(page.locator("button[name=trigger][value=publish_results]"))
    expect(page.locator(".confirmation .consequence")).to_have_text(_(
        "Publishing funds, reserves or rejects every reviewed application, sends the letters and makes the results "
        "public."))
    serious = [v["id"] for v in Axe().run(page).response["violations"] if v["impact"] in SERIOUS]
    assert not serious, f"the confirmation page ({lang}), axe: {serious}"
    confirm_step(office, trigger_label("call", "publish_results", lang))
    assert _("Done: %(step)s.") % {"step": trigger_label("call", "publish_results", lang)} in office.flashes()
    expect(badge(page)).to_have_text(state_label("call", "awarded", lang))

    # --- the NGO sees the result and the evaluation summary, and accepts the offer ---------------------------------
    ngo.goto("/apply/")
    expect(npage.locator("table.applications .badge.state")).to_have_text(state_label("application", "funded", lang))
    ngo.submit(npage.locator("table.applications a[href$='/view']").first)
    expect(badge(npage)).to_have_text(state_label("application", "funded", lang))
    expect(npage.locator(".offer h2")).to_have_text(_("Congratulations: your project is funded"))
    mean_total = "8,5" if lang == "lv" else "8.5"
    expect(npage.locator("table.evaluation-summary tfoot")).to_contain_text(mean_total)
    expect(npage.locator("table.evaluation-summary")).not_to_contain_text("Inese")  # evaluators are never named
    ngo.shot("11-applicant-funded")
    # the NGO reads the agreement first: no worker runs here, so its first download renders it (a fixed PDF is
    # what an acceptance records); the page then offers the acceptance
    agreement_url = npage.locator("a", has_text=_("Read the agreement (PDF)")).get_attribute("href")
    assert npage.request.get(ngo.server.url + agreement_url).ok
    npage.reload()
    npage.locator("#confirm-accept").check()
    ngo.submit(npage.locator("button[name=trigger][value=accept_offer]"))
    assert _("Done: %(state)s.") % {"state": state_label("application", "accepted", lang)} in ngo.flashes()
    expect(badge(npage)).to_have_text(state_label("application", "accepted", lang))
    agreement_hash = npage.locator("code.receipt-hash").inner_text().strip()
    assert SHA256.match(agreement_hash), agreement_hash
    ngo.goto(f"/calls/{code}")  # the results are public
    expect(npage.locator("table.results")).to_contain_text("Biedrība „Jaunieši Jelgavai”")
    ngo.shot("12-public-results")

    # --- the admin signs the agreement ---------------------------------------------------------------------------
    page.goto(application_page)
    sign = page.locator("button[name=trigger][value=sign]")
    expect(sign).to_have_text(trigger_label("application", "sign", lang))
    office.submit(sign)
    confirm_step(office, trigger_label("application", "sign", lang))
    expect(badge(page)).to_have_text(state_label("application", "contracted", lang))
    expect(page.locator("dl.grant")).to_be_visible()
    office.shot("13-admin-application-contracted")

    # --- what the database holds at the end ------------------------------------------------------------------------
    with server.db() as session:
        call = session.scalar(select(Call).where(Call.code == code))
        application = session.scalar(select(Application).where(Application.call_id == call.id))
        assert call.status == "awarded"
        assert call.frozen_at is not None and call.definition_sha256
        assert application.status == "contracted" and application.number == number
        assert application.content_sha256 == shown_hash
        assert shown_hash == hashlib.sha256(
            canonical_json(frozen_content(application)).encode()).hexdigest()
        assert application.agreement_sha256 == agreement_hash
        assert application.content["participants"] == 16 and application.title == title
        member = session.scalar(select(User).where(User.email == "anna@jauniesi-jelgava.example.lv"))
        assert member.language == lang and member.organisation.registration_number == registration
        assignments = session.scalars(select(Assignment).where(Assignment.application_id == application.id)).all()
        assert sorted(a.evaluator_id for a in assignments) == sorted(evaluator_ids)
        assert {a.status for a in assignments} == {"submitted"}
        with force_locale(lang):  # as read, in their language
            assert {a.declaration_text for a in assignments} == {str(DECLARATION)}
        decision = session.scalar(select(Decision).where(Decision.application_id == application.id,
                                                         Decision.current))
        assert decision.outcome == "funded" and decision.amount_cents == 460_000
        grant = session.scalar(select(Grant).where(Grant.application_id == application.id))
        assert grant.amount_cents == 460_000 and grant.starts_on == start_on
        payments = session.scalars(select(Payment).where(Payment.application_id == application.id)).all()
        assert [(p.amount_cents, p.status) for p in payments] == [(460_000, "scheduled")]
        assert [c.code for c in session.scalars(select(Criterion).where(Criterion.call_id == call.id)
                                                .order_by(Criterion.position, Criterion.id))] == ["2.2", "2.4.1"]

        def trail(entity_type, entity_id):
            return [(e.trigger, e.actor_id is None) for e in session.scalars(
                select(AuditEvent).where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
                .order_by(AuditEvent.id))]

        call_trail = trail("call", call.id)
        assert [t for t, _system in call_trail if t not in ("create", "edit")] == [
            "announce", "open", "close", "start_evaluation", "finish_evaluation", "confirm_ranking",
            "publish_results"]
        assert dict(call_trail)["open"] and dict(call_trail)["close"], "the clock moves are the system's"
        assert [t for t, _system in trail("application", application.id)] == [
            "create", "submit", "pass_checks", "start_review", "complete_review", "fund", "accept_offer", "sign"]
        verdict = audit.verify()
        assert verdict.ok, verdict.problem

    for person in (office, ngo):
        assert not person.problems, person.problems
    server.assert_healthy()


# --- 2. accessibility ---------------------------------------------------------------------------------------------

SERIOUS = ("critical", "serious")  # every axe rule runs: no finding so far was a false positive


@pytest.fixture(scope="module")
def scenario(_sqlite_template, tmp_path_factory, browser):
    """A live server with one of every main page, made by the factories (real fires): a draft call, an open call
    with a draft and a submitted application, a call in evaluation with an accepted review, a call in ranking,
    and an awarded call. One browser context per person and language, kept for the module (a context costs
    about as much as a page)."""
    with serve(_sqlite_template, tmp_path_factory.mktemp("a11y")) as server:
        with server.db():
            organiser = factories.make_organiser("Jelgavas novada pašvaldība")
            admin = factories.make_user("admin", organiser=organiser, name="Ilze Grīnberga")
            make_call = (lambda state, **kw: factories.make_call(state, organiser=organiser, admin=admin, **kw))
            draft_call = make_call("draft")
            open_call = make_call("open")
            draft = factories.make_application(open_call, "draft", title="Vasaras līderu skola")
            submitted = factories.make_application(open_call, "submitted", title="Orientēšanās jauniešiem")
            evaluator = factories.make_user("evaluator", name="Inese Liepiņa")
            in_review = factories.make_application(make_call("announced", when="past"), "in_review")
            review = factories.make_assignment("accepted", application=in_review, evaluator=evaluator)
            ranking_call = make_call("announced", when="past", projects=1)
            factories.make_applications(ranking_call, ["reviewed", "reviewed"])
            awarded_call = make_call("announced", when="past", projects=1)
            funded, _rejected = factories.make_applications(awarded_call, ["funded", "rejected"])
            people = {"admin": admin.email, "applicant": factories.member_of(draft).email,
                      "evaluator": evaluator.email, "grantee": factories.member_of(funded).email}
            pages = {
                "home": (None, "/"),
                "call": (None, f"/calls/{open_call.code}"),
                "call-results": (None, f"/calls/{awarded_call.code}"),
                "login": (None, "/login"),
                "register": (None, "/register"),
                "applicant-home": ("applicant", "/apply/"),
                "applicant-edit": ("applicant", f"/apply/applications/{draft.id}"),
                "applicant-step": ("applicant", f"/apply/applications/{draft.id}/steps/results"),
                "applicant-check": ("applicant", f"/apply/applications/{draft.id}/check"),
                "applicant-result": ("grantee", f"/apply/applications/{funded.id}/view"),
                "evaluator-queue": ("evaluator", "/evaluate/"),
                "evaluator-sheet": ("evaluator", f"/evaluate/assignments/{review.id}"),
                "admin-calls": ("admin", "/admin/"),
                "admin-call": ("admin", f"/admin/calls/{draft_call.id}"),
                "admin-application": ("admin", f"/admin/applications/{submitted.id}"),
                "ranking": ("admin", f"/admin/calls/{ranking_call.id}/ranking"),
            }
        people_at = {}
        try:
            yield {"server": server, "people": people, "pages": pages, "browser": browser, "visitors": people_at}
        finally:
            for person in people_at.values():
                person.context.close()


PAGES = ["home", "call", "call-results", "login", "register", "applicant-home", "applicant-edit", "applicant-step",
         "applicant-check", "applicant-result",
         "evaluator-queue", "evaluator-sheet", "admin-calls", "admin-call", "admin-application", "ranking"]


def _signed_in(scenario, role, lang) -> Visitor:
    """The person `role` (None: anonymous) at a browser in `lang`, logged in once per module."""
    people_at = scenario["visitors"]
    if (role, lang) not in people_at:
        context = new_context(scenario["browser"], lang)
        person = people_at[(role, lang)] = Visitor(context, scenario["server"], lang, role or "anonymous")
        if role is None:
            person.goto("/")
            person.switch_language()
        else:
            person.login(scenario["people"][role], PASSWORD)
    person = people_at[(role, lang)]
    person.problems.clear()
    return person


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page_name", PAGES)
def test_main_pages_have_no_serious_accessibility_violations(page_name, lang, scenario):
    role, path = scenario["pages"][page_name]
    person = _signed_in(scenario, role, lang)
    person.goto(path)
    assert person.page.get_attribute("html", "lang") == lang
    person.page.eval_on_selector_all("details", "all => all.forEach(d => d.open = true)")  # folded forms too
    results = Axe().run(person.page)
    person.shot(f"a11y-{page_name}")
    serious = [v for v in results.response["violations"] if v["impact"] in SERIOUS]
    assert not serious, f"{page_name} ({lang}), axe:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n" + "\n".join(
            f"    {node['target']}: {node['failureSummary'].splitlines()[-1].strip()}" for node in v["nodes"][:5])
        for v in serious)
    # axe's label rule matches label[for] by attribute, so it misses a second field with the same id; the browser
    # gives that field no label at all. Ids must be unique (hidden inputs aside: each form's CSRF token has the id
    # `csrf_token`, and nothing labels or focuses a hidden input).
    duplicates = person.page.evaluate("""() => {
        const seen = {};
        for (const element of document.querySelectorAll('[id]:not(input[type=hidden])'))
            seen[element.id] = (seen[element.id] || 0) + 1;
        return Object.keys(seen).filter(id => seen[id] > 1);
    }""")
    assert not duplicates, f"{page_name} ({lang}): duplicate ids {duplicates}"
    assert not person.problems, person.problems
    scenario["server"].assert_healthy()


# --- 3. the threaded server ---------------------------------------------------------------------------------------

THREADS = 8


class Browserless:
    """One person's HTTP session without a browser (urllib): cookies kept, redirects NOT followed, CSRF tokens read
    from the page, as a form post from that page would send them."""

    CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')

    class _Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  self._Stay())

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        """(status, Location, body)"""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as response:
                return response.status, response.headers.get("Location", ""), response.read().decode()
        except urllib.error.HTTPError as answer:
            with answer:
                return answer.code, answer.headers.get("Location", ""), answer.read().decode()

    def token(self, path: str) -> str:
        status, _location, page = self.request(path)
        assert status == 200, (path, status)
        found = self.CSRF.search(page)
        assert found, f"no CSRF token on {path}"
        return found.group(1) or found.group(2)

    def post_form(self, page_path: str, action: str, fields: dict) -> tuple[int, str]:
        status, location, _body = self.request(action, {"csrf_token": self.token(page_path), **fields})
        return status, urllib.parse.urlsplit(location).path


def _run_threads(work, count: int = THREADS) -> list:
    """work(i, barrier) in `count` threads at once; returns their results, re-raising the first failure."""
    barrier = threading.Barrier(count, timeout=60)
    results: list = [None] * count
    failures: list[BaseException] = []

    def run(i):
        try:
            results[i] = work(i, barrier)
        except BaseException as problem:  # noqa: BLE001 - reported below, in the test's thread
            failures.append(problem)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    if failures:
        raise failures[0]
    return results


def test_eight_evaluators_declare_and_submit_at_once(live_server):
    """8 evaluators, each with an assignment of their own, log in, declare and submit their reviews at the same
    moment through the threaded server: some threads move assigned → accepted while others move accepted →
    submitted. Every move lands once, in the right state, and the audit chain still verifies."""
    server = live_server()
    with server.db():
        call = factories.make_call("announced", when="past", criteria=3)
        applications = factories.make_applications(call, ["in_review"] * (THREADS // 2))
        admin = factories.admin_of(call)
        evaluators = [factories.make_user("evaluator", name=f"Eksperts {i}") for i in range(THREADS)]
        assignments = [evaluation.assign(applications[i // 2], evaluator, admin)
                       for i, evaluator in enumerate(evaluators)]
        db.session.commit()
        plan = [(e.email, a.id) for e, a in zip(evaluators, assignments)]
        criteria = [c.id for c in call.criteria]

    def review(i, barrier):
        email, assignment_id = plan[i]
        person = Browserless(server.url)
        assert person.post_form("/login", "/login", {"email": email, "password": PASSWORD}) == (302, "/evaluate/")
        page = f"/evaluate/assignments/{assignment_id}"
        barrier.wait()
        assert person.post_form(page, f"{page}/action", {"trigger": "declare_no_conflict"}) == (302, page)
        scores = {f"score_{c}": str((6 + (i + n) % 5) / 2).removesuffix(".0") for n, c in enumerate(criteria)}  # points
        comments = {f"comment_{c}": f"Eksperta {i} komentārs." for c in criteria}
        # as the confirmation page's button posts it (submitting is irreversible; the page: test_offers.py)
        sheet = {**scores, **comments, "confirmed": "1"}
        assert person.post_form(page, f"{page}/submit", sheet) == (302, "/evaluate/")
        return scores

    given = _run_threads(review)

    with server.db() as session:
        for (email, assignment_id), scores in zip(plan, given):
            assignment = session.get(Assignment, assignment_id)
            assert assignment.status == "submitted", (email, assignment.status)
            assert {f"score_{s.criterion_id}": str(s.half_points / 2).removesuffix(".0")
                    for s in assignment.scores} == scores
            moves = [e.trigger for e in session.scalars(select(AuditEvent).where(
                AuditEvent.entity_type == "assignment", AuditEvent.entity_id == assignment_id)
                .order_by(AuditEvent.id))]
            assert moves == ["assign", "declare_no_conflict", "submit_review"], moves
        assert {a.status for a in session.scalars(select(Application).where(Application.call_id == call.id))} == {
            "in_review"}
        verdict = audit.verify()
        assert verdict.ok, verdict.problem
    server.assert_healthy()


def _machine_cases() -> list[tuple[str, str, str, str | None, str | None]]:
    """Every (workflow, state, trigger, selector) with the state the definition says it leads to (None: refused)."""
    cases = []
    for name, workflow in WORKFLOWS.items():
        triggers = sorted({t.trigger for t in workflow.transitions})
        for state in (s.name for s in workflow.states):
            for trigger in triggers:
                leaving = [t for t in workflow.leaving(state) if t.trigger == trigger]
                for when in [None] + sorted({t.when for t in leaving if t.when}):
                    dest = next((t.dest for t in leaving if t.when is None or t.when == when), None)
                    cases.append((name, state, trigger, when, dest))
    return cases


def test_shared_machines_stay_correct_under_the_threaded_server(live_server):
    """DESIGN 4.2: one transitions machine per workflow, shared by every request thread. 8 clients fire every
    (workflow, state, trigger) the definitions know — valid and refused, in random order — through `engine().move`
    in the server's request threads (a route added for this test only: the real views serialise their moves on the
    database's write lock, which would hide a race in the machine). Every answer must be the definition's."""

    def prepare(flask_app):
        @flask_app.get("/_e2e/move/<workflow>/<state>/<trigger>")
        def move(workflow, state, trigger):
            when = request.args.get("when")
            return jsonify(dest=engine().move(workflow, state, trigger, {when: True} if when else {}))

    server = live_server(prepare)
    cases = _machine_cases()
    assert len(cases) > 300 and any(dest is None for *_, dest in cases) and any(when for *_, when, _d in cases)
    rounds = 120

    def hammer(i, barrier):
        rng = random.Random(i)
        person = Browserless(server.url)
        wrong = []
        barrier.wait()
        for workflow, state, trigger, when, dest in rng.choices(cases, k=rounds):
            query = f"?when={when}" if when else ""
            status, _location, body = person.request(f"/_e2e/move/{workflow}/{state}/{trigger}{query}")
            got = json.loads(body)["dest"] if status == 200 else None
            if (status, got) != ((200, dest) if dest else (409, None)):
                wrong.append((workflow, state, trigger, when, dest, status, got))
        return wrong

    wrong = [w for per_thread in _run_threads(hammer) for w in per_thread]
    assert not wrong, f"{len(wrong)} of {THREADS * rounds} moves answered wrongly, e.g. {wrong[:5]}"
    server.assert_healthy()

    # Each request thread attached a subject to the shared machines; a finished thread must not leave it there.
    gc.collect()
    attached = max(len(c.machine.models) for c in engine().compiled.values())
    assert attached <= threading.active_count() + 2, f"{attached} subjects still attached to a shared machine"
