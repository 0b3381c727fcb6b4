"""Issue 7 "Done when", clicked through in a real browser (system Chromium, live threaded server), LV and EN: an admin
runs the evaluation of a closed call with three submitted applications, from the eligibility checks to publishing.

1. the admin invites two evaluators on the Evaluators page (each opens the e-mailed link in a browser of their own
   and sets a password) and has them serve the call;
2. the admin records the checks of the three applications, assigns the whole call in one step (the optimal plan,
   previewed, then confirmed on the page that asks) and starts evaluation;
3. each evaluator declares no conflict and scores on the score sheet (a number per criterion, the running total
   as they type), then submits and confirms;
4. the admin finishes evaluation, confirms the ranking (protocol) and publishes;
5. the NGOs see their decisions: the funded one its offer, the rejected one the last day of its appeal window as a
   date.

The pages used are the ones issue 7 added: /admin/evaluators (invitation), /evaluator/welcome/<token>,
/admin/evaluators/<id> (calls served), /admin/calls/<id>/assignment-plan ("Assign the whole call"),
/admin/calls/<id>/progress, and the score sheet of templates/evaluator/assignment.html. (The per-application
assignment of templates/admin/application.html is the older path, used by test_competition_browser.py.)

Time is frozen and moved by hand: the results are published on Tuesday 3 May 2022 at 10:00 Riga time, so the
appeal window crosses the public holiday of 4 May. Counted by hand: delivery takes 2 working days, Thursday 5 and
Friday 6 May; 30 days from then, the last day is Sunday 5 June 2022.
Screenshots go to /tmp/e2e-shots; axe (no serious or critical finding) runs on each page of issue 7.
"""
from __future__ import annotations

import re
import urllib.parse

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.models import Application, Assignment, Call, Decision, RankingProtocol
from tests import factories
from tests.e2e.conftest import translator
from tests.e2e.test_call_to_submission_browser import axe_clean, latest_link
from tests.e2e.test_competition_browser import badge, confirm_step, state_label, trigger_label

pytestmark = pytest.mark.browser

LANGS = ["lv", "en"]
PASSWORD = factories.TEST_PASSWORD
EVALUATORS = (("Inese Liepiņa", "inese@eksperti.example.com", "Zaļais-koks-pie-upes-41"),
              ("Kārlis Jansons", "karlis@vertetaji.example.com", "Zilais-ezers-aiz-meza-17"))
PREPARED = factories.riga(2022, 4, 20, 10)   # the call closed on 31 March; three applications wait for checks
SCORED = factories.riga(2022, 4, 22, 10)
RANKED = factories.riga(2022, 4, 29, 15)
PUBLISHED = factories.riga(2022, 5, 3, 10)   # a Tuesday; 4 May is a public holiday
READ = factories.riga(2022, 5, 10, 12)
# The last day of the appeal window, counted by hand (see the module's docstring), as each language says it.
APPEAL_UNTIL = {"lv": "līdz 2022. gada 5. jūnijam (ieskaitot)", "en": "until 5 June 2022 (inclusive)"}
PROTOCOL_DAY = {"lv": "03.05.2022.", "en": "03.05.2022"}
# Points per criterion (5 criteria of 0–5, the first with a minimum of 3; pass mark 15 of 25; budget for one project).
POINTS = {"funded": "5", "reserve": "4", "rejected": "2"}
TOTALS = {"funded": "25", "reserve": "20", "rejected": "10"}


@pytest.mark.parametrize("lang", LANGS)
def test_evaluation_from_checks_to_published_decisions(lang, live_server, visitor, stub_pdfs):
    _ = translator(lang)
    server = live_server()
    clock.travel_to(PREPARED)
    with server.db() as session:
        organiser = factories.make_organiser("Jelgavas novada pašvaldība")
        admin = factories.make_user("admin", organiser=organiser, name="Ilze Grīnberga",
                                    email="ilze@jelgava.example.lv")
        call = factories.make_call("announced", when="past", organiser=organiser, admin=admin, projects=1,
                                   code=f"PMP-EV-{lang.upper()}", number_prefix=f"EV{lang.upper()}")
        made = factories.make_applications(call, ["submitted"] * 3)
        assert call.status == "closed"
        call_id, code, admin_email = call.id, call.code, admin.email
        outcome_of = dict(zip((a.number for a in made), ("funded", "reserve", "rejected")))
        numbers = {outcome: number for number, outcome in outcome_of.items()}
        members = {outcome_of[a.number]: factories.member_of(a).email for a in made}
        session.commit()

    # --- 1. the admin invites the evaluators; each sets a password and serves the call --------------------------
    office = visitor(server, lang, "admin")
    page = office.page
    office.login(admin_email, PASSWORD)
    office.submit(page.get_by_role("navigation").get_by_role("link", name=_("Evaluators"), exact=True))
    expect(page.locator("h1")).to_have_text(_("Evaluators"))
    invite = page.locator("section#invite")
    evaluator_pages = []
    for name, email, _password in EVALUATORS:
        invite.get_by_label(_("Name"), exact=True).fill(name)
        invite.get_by_label(_("E-mail"), exact=True).fill(email)
        invite.get_by_label(_("Language"), exact=True).select_option(lang)
        if email == EVALUATORS[0][1]:
            axe_clean(office, "e01-admin-evaluators-invite")
        office.submit(invite.get_by_role("button", name=_("Invite")))
        assert (_("%(email)s is invited: the e-mail with the link to set a password is on its way.")
                % {"email": email}) in office.flashes()
        expect(page.locator("h1")).to_have_text(name)
        evaluator_pages.append(urllib.parse.urlsplit(page.url).path)
        office.goto("/admin/evaluators")
    expect(page.locator("table.evaluators tr.evaluator-row")).to_have_count(2)

    experts = []
    for (name, email, password) in EVALUATORS:
        expert = visitor(server, lang, name)
        expert.goto(latest_link(server, email, "/evaluator/welcome/"))
        expert.switch_language()
        expect(expert.page.locator("h1")).to_have_text(_("Welcome, evaluator"))
        if email == EVALUATORS[0][1]:
            axe_clean(expert, "e02-evaluator-welcome")
        expert.page.get_by_label(_("New password"), exact=True).fill(password)
        expert.page.get_by_label(_("New password again"), exact=True).fill(password)
        expert.submit(expert.page.get_by_role("button", name=_("Set the password")))
        assert _("Your password is set. Log in with your e-mail and the new password.") in expert.flashes()
        experts.append(expert)

    for path, (name, _email, _password) in zip(evaluator_pages, EVALUATORS):
        office.goto(path)
        page.get_by_label(_("Call"), exact=True).select_option(str(call_id))
        office.submit(page.get_by_role("button", name=_("Serve this call")))
        assert _("%(name)s serves %(code)s.") % {"name": name, "code": code} in office.flashes()
    expect(page.locator("main")).to_contain_text(code)
    axe_clean(office, "e03-admin-evaluator")

    # --- 2. the checks, the whole call assigned in one step, evaluation started ----------------------------------
    for number in numbers.values():
        office.goto(f"/admin/calls/{call_id}/applications")
        office.submit(page.get_by_role("link", name=number, exact=True))
        checks = page.locator("form.checks-form")
        for option in checks.get_by_role("radio", name=_("Yes"), exact=True).all():
            option.check()
        office.submit(checks.get_by_role("button", name=_("Record the checks")))
        assert _("The checks are recorded.") in office.flashes()
        expect(badge(page)).to_have_text(state_label("application", "eligible", lang))

    office.goto(f"/admin/calls/{call_id}")
    office.submit(page.get_by_role("link", name=_("Assign the whole call")).first)
    expect(page.locator("h1")).to_contain_text(_("Assign the whole call"))
    plan = page.locator("table.plan-applications tbody tr")
    expect(plan).to_have_count(3)
    for row in plan.all():  # each application gets both evaluators (two per application, two in the pool)
        for name, _email, _password in EVALUATORS:
            expect(row.get_by_role("checkbox", name=name)).to_be_checked()
    expect(page.locator("#plan-pairs")).to_have_text("6")
    expect(page.locator("#plan-spread")).to_have_text("0")
    axe_clean(office, "e04-admin-assignment-plan")
    office.submit(page.get_by_role("button", name=_("Confirm the plan")))
    axe_clean(office, "e05-admin-assignment-confirm")
    confirm_step(office, _("Assign the whole call"))
    assert _("%(count)s assignments are made; the evaluators are told.") % {"count": 6} in office.flashes()
    expect(page.locator("h1")).to_contain_text(_("Review progress"))
    for name, _email, _password in EVALUATORS:
        expect(page.locator("table.progress-evaluators tr", has_text=name)).to_contain_text(numbers["rejected"])
    axe_clean(office, "e06-admin-review-progress")
    office.submit(page.get_by_role("link", name=code, exact=True))  # the breadcrumb back to the call
    office.submit(page.get_by_role("button", name=trigger_label("call", "start_evaluation", lang)))
    assert _("Done: %(step)s.") % {"step": trigger_label("call", "start_evaluation", lang)} in office.flashes()
    expect(badge(page)).to_have_text(state_label("call", "evaluation", lang))

    # --- 3. each evaluator declares, scores on the sheet and submits ---------------------------------------------
    clock.travel_to(SCORED)
    for expert, (name, email, password) in zip(experts, EVALUATORS):
        epage = expert.page
        expert.login(email, password)
        expect(epage.locator("h1")).to_have_text(_("My reviews"))
        for outcome, number in numbers.items():
            expert.submit(epage.locator("table.waiting tr", has_text=number).get_by_role("link"))
            expect(epage.locator("h1")).to_have_text(f"{_('Application')} {number}")
            expert.submit(epage.get_by_role("button", name=trigger_label("review", "declare_no_conflict", lang)))
            assert _("Declaration recorded. You can now read and score the application.") in expert.flashes()
            expect(badge(epage)).to_have_text(state_label("review", "accepted", lang))
            sheet = epage.locator("#score-sheet")
            for criterion in sheet.locator("fieldset.criterion").all():
                criterion_code = criterion.get_attribute("data-code")
                # the number field (the slider beside it, added by score_sheet.js, carries the same name)
                criterion.get_by_role("spinbutton", name=_("Score for %(code)s, points") % {"code": criterion_code}
                                      ).fill(POINTS[outcome])
                criterion.locator("textarea").fill("Pamatots vērtējums: jaunieši paši plāno aktivitātes.")
            expect(epage.locator("#sheet-total")).to_have_text(TOTALS[outcome])  # worked out as they type
            passes = _("Passes: the total reaches the pass mark and every minimum is met.")
            if outcome == "rejected":
                expect(epage.locator("#sheet-pass")).to_contain_text(_("Does not pass:"))
            else:
                expect(epage.locator("#sheet-pass")).to_have_text(passes)
            if outcome == "funded" and email == EVALUATORS[0][1]:
                axe_clean(expert, "e07-evaluator-score-sheet")
            expert.submit(sheet.get_by_role("button", name=_("Save and submit the review")))
            confirm_step(expert, trigger_label("review", "submit_review", lang))
            assert _("Your review is submitted. Thank you.") in expert.flashes()
        expect(epage.locator("table.done .badge.state")).to_have_text([state_label("review", "submitted", lang)] * 3)

    # --- 4. the admin finishes evaluation, confirms the ranking and publishes ------------------------------------
    clock.travel_to(RANKED)
    office.goto(f"/admin/calls/{call_id}")
    office.submit(page.get_by_role("button", name=trigger_label("call", "finish_evaluation", lang)))
    expect(badge(page)).to_have_text(state_label("call", "ranking", lang))
    office.submit(page.get_by_role("link", name=_("Ranking"), exact=True).first)
    expect(page.locator("h1")).to_contain_text(_("Ranking"))
    ranking = page.locator("table.ranking")
    for outcome, number in numbers.items():
        expect(ranking.locator(f"tr.decision-{outcome}")).to_contain_text(number)
    clock.travel_to(PUBLISHED)
    office.submit(page.get_by_role("button", name=trigger_label("call", "confirm_ranking", lang)))
    confirm_step(office, trigger_label("call", "confirm_ranking", lang))
    assert _("Done: %(step)s.") % {"step": trigger_label("call", "confirm_ranking", lang)} in office.flashes()
    with server.db() as session:
        protocol_number = session.scalars(select(RankingProtocol.number).where(RankingProtocol.call_id == call_id)
                                          ).one()
    expect(page.locator("#ranking-state")).to_have_text(_(
        "The ranking is confirmed: commission protocol No. %(number)s of %(date)s. The results can now be "
        "published.") % {"number": protocol_number, "date": PROTOCOL_DAY[lang]})
    axe_clean(office, "e08-admin-ranking-confirmed")
    office.submit(page.get_by_role("button", name=trigger_label("call", "publish_results", lang)))
    confirm_step(office, trigger_label("call", "publish_results", lang))
    assert _("Done: %(step)s.") % {"step": trigger_label("call", "publish_results", lang)} in office.flashes()
    expect(badge(page)).to_have_text(state_label("call", "awarded", lang))

    # --- 5. the NGOs see their decisions; the rejected one sees the last day it may appeal -----------------------
    clock.travel_to(READ)
    funded_ngo = visitor(server, lang, "funded NGO")
    funded_ngo.login(members["funded"], PASSWORD)
    funded_ngo.submit(funded_ngo.page.locator("table.applications tr", has_text=numbers["funded"])
                      .get_by_role("link", name=_("Open")))
    expect(badge(funded_ngo.page)).to_have_text(state_label("application", "funded", lang))
    expect(funded_ngo.page.locator(".offer h2")).to_have_text(_("Congratulations: your project is funded"))
    expect(funded_ngo.page.locator("main")).not_to_contain_text(APPEAL_UNTIL[lang])

    ngo = visitor(server, lang, "rejected NGO")
    npage = ngo.page
    ngo.login(members["rejected"], PASSWORD)
    ngo.submit(npage.locator("table.applications tr", has_text=numbers["rejected"])
               .get_by_role("link", name=_("Open")))
    expect(badge(npage)).to_have_text(state_label("application", "rejected", lang))
    appeal = npage.locator("section.appeal")
    expect(appeal.locator(".appeal-until")).to_contain_text(_("You may appeal %(until)s.")
                                                            % {"until": APPEAL_UNTIL[lang]})
    assert not re.search(r"\d{1,2}:\d{2}", appeal.locator(".appeal-until").inner_text())  # a date, not a time
    expect(appeal.get_by_role("button", name=trigger_label("application", "appeal", lang))).to_be_visible()
    expect(npage.locator("table.evaluation-summary")).not_to_contain_text(EVALUATORS[0][0])  # never named
    axe_clean(ngo, "e09-applicant-rejected-appeal-date")

    # --- what the database holds at the end ----------------------------------------------------------------------
    with server.db() as session:
        call = session.get(Call, call_id)
        assert call.status == "awarded"
        applications = session.scalars(select(Application).where(Application.call_id == call_id)).all()
        assert {a.number: a.status for a in applications} == outcome_of
        decisions = {a.number: session.scalars(select(Decision.outcome).where(
            Decision.application_id == a.id, Decision.current)).one() for a in applications}
        assert decisions == outcome_of
        assignments = session.scalars(select(Assignment).join(Application).where(Application.call_id == call_id)
                                      ).all()
        assert len(assignments) == 6 and {a.status for a in assignments} == {"submitted"}
        assert len({(a.application_id, a.evaluator_id) for a in assignments}) == 6

    for person in (office, *experts, funded_ngo, ngo):
        assert not person.problems, person.problems
    server.assert_healthy()
