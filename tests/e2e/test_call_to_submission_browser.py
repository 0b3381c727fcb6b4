"""Issue 6 "Done when", clicked through in a real browser (system Chromium, live threaded server), LV and EN:

1. the admin copies the 2022 competition into a budgeted call with a capped cost category and a required
   attachment, sees nothing blocking in the announce summary, and announces it;
2. an NGO member resets a forgotten password by the e-mailed link, logs in and invites a colleague, who opens the
   invitation in a browser of their own and sets a password;
3. the colleague fills the guided form (task list), the budget table and the attachment (a real tiny PDF), checks
   the answers and submits; the receipt lists the attachment with the SHA-256 of the very bytes uploaded;
4. the admin filters the call's applications by state, searches a word of the title, opens it and records checks.
Screenshots go to /tmp/e2e-shots; axe (no serious/critical) runs on each new page.
"""
from __future__ import annotations

import hashlib
import re
import time as timer
import urllib.parse
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.models import Application, Call, Message
from app.services import attachments
from tests import factories
from tests.e2e.conftest import translator
from tests.e2e.test_competition_browser import SHA256, badge, confirm_step, money_typed, state_label, trigger_label

pytestmark = pytest.mark.browser

LANGS = ["lv", "en"]
PASSWORD = factories.TEST_PASSWORD
NEW_PASSWORD = "Zaļā-upe-pie-kalna-37"
COLLEAGUE_PASSWORD = "Sarkanais-tilts-virs-Lielupes-8"
SERIOUS = ("critical", "serious")


def tiny_pdf() -> bytes:
    """A valid one-page PDF, its xref offsets worked out here."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def latest_link(server, email: str, pattern: str) -> str:
    """The path of the link in the latest e-mail to `email` (the Message rows are what was sent)."""
    with server.db() as session:
        session.expire_all()
        body = session.scalars(select(Message.body_text).where(Message.recipient == email.lower())
                               .order_by(Message.id.desc())).first()
    found = re.search(r"https?://[^/\s]+(" + pattern + r"\S*)", body or "")
    assert found, f"no {pattern} link was sent to {email}: {body!r}"
    return found.group(1)


def axe_clean(person, label: str) -> None:
    person.shot(label)
    violations = [v for v in Axe().run(person.page).response["violations"] if v["impact"] in SERIOUS]
    assert not violations, f"{label} ({person.lang}), axe:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes'][:3]]}" for v in violations)


@pytest.mark.parametrize("lang", LANGS)
def test_copy_budgeted_call_reset_invite_submit_check(lang, live_server, visitor, stub_pdfs):
    _ = translator(lang)
    started = timer.monotonic()
    laps: dict[str, float] = {}

    def lap(name):
        laps[name] = round(timer.monotonic() - started, 1)

    server = live_server()
    code, prefix = f"PMP-B{lang.upper()}", f"B{lang.upper()}"
    member_email, colleague_email = "anna@jauniesi.example.lv", "peteris@jauniesi.example.lv"
    with server.db():
        organiser = factories.make_organiser("Jelgavas novada pašvaldība")
        admin = factories.make_user("admin", organiser=organiser, name="Ilze Grīnberga",
                                    email="ilze@jelgava.example.lv")
        with factories.clock_at(factories.riga(2022, 10, 3, 10)):  # the 2022 competition, made in 2022
            source = factories.make_call("closed", when="past", organiser=organiser, admin=admin, code="PMP-2022",
                                         number_prefix="PMP22")
        source_id, admin_email = source.id, admin.email
        source_opens, source_title = clock.to_riga(source.opens_at), source.title(lang)
        source_criteria = sorted(c.code for c in source.criteria)
        source_checks = sorted(c.code for c in source.checks)
        assert source_opens.year == 2022
        organisation = factories.make_organisation("Biedrība „Jaunieši Jelgavai”")
        factories.make_user("applicant", organisation=organisation, name="Anna Kalniņa", email=member_email)

    # --- 1. the admin copies 2022 into a budgeted call and announces it -----------------------------------------
    office = visitor(server, lang, "admin")
    page = office.page
    office.login(admin_email, PASSWORD)
    office.submit(page.locator("main a[href='/admin/calls/new']"))
    expect(page.locator("h1")).to_have_text(_("New call"))
    page.locator("details.copy-call > summary").click()
    page.locator("#copy-source_id").select_option(str(source_id))
    page.locator("#copy-code").fill(code)
    page.locator("#copy-number_prefix").fill(prefix)
    axe_clean(office, "b01-admin-new-call-copy")
    office.submit(page.locator("details.copy-call button.btn-primary"))
    assert _("The call is copied as a new draft. Check its dates and texts, then announce it.") in office.flashes()
    expect(badge(page)).to_have_text(state_label("call", "draft", lang))
    call_path = urllib.parse.urlsplit(page.url).path
    with server.db() as session:
        call = session.scalars(select(Call).where(Call.code == code)).one()
        call_id, opens_at = call.id, clock.to_riga(call.opens_at)
        start_on, end_on = call.implementation_start, call.implementation_end
        title = call.title(lang)
        copied_criteria = sorted(c.code for c in call.criteria)
        copied_checks = sorted(c.code for c in call.checks)
    # every criterion, check and text came along; the dates moved by whole years into the future
    assert (copied_criteria, copied_checks, title) == (source_criteria, source_checks, source_title)
    assert opens_at > clock.to_riga(clock.now()) and opens_at.year > 2022
    assert (opens_at.month, opens_at.day, opens_at.time()) == (source_opens.month, source_opens.day,
                                                              source_opens.time())
    office.submit(page.locator(f"main a[href='{call_path}/edit']").first)
    form = page.locator("form.call-form")
    form.locator("[name=funding_mode]").select_option("budgeted")
    form.locator("[name=amount]").fill("")
    form.locator("[name=min_amount]").fill(money_typed(100_000, lang))
    form.locator("[name=max_amount]").fill(money_typed(460_000, lang))
    axe_clean(office, "b02-admin-edit-budgeted")
    office.submit(form.locator("button.btn-primary").last)
    assert "/edit" not in page.url, office.flashes()
    # (the factories' budgets, used below for the other applicants, use the categories "staff" and "materials")
    for label_lv, label_en, cap in (("Administrācija", "Administration", "10"), ("Personāls", "Staff", ""),
                                    ("Materiāli", "Materials", "")):
        page.locator("details:has(form[action$='/cost-categories']) > summary").click()
        category = page.locator("form[action$='/cost-categories']")
        category.locator("[name=label_lv]").fill(label_lv)
        category.locator("[name=label_en]").fill(label_en)
        category.locator("[name=cap_percent]").fill(cap)
        office.submit(category.locator("button.btn-primary"))
    expect(page.locator("table.cost-categories tbody tr")).to_have_count(3)
    page.locator("details:has(form[action$='/attachment-types']) > summary").click()
    kind = page.locator("form[action$='/attachment-types']")
    kind.locator("[name=label_lv]").fill("Biedrības valdes parakstīts apliecinājums")
    kind.locator("[name=label_en]").fill("Declaration signed by the board of the NGO")
    kind.locator("#attachment-format-pdf").check()
    kind.locator("#attachment-required").check()
    office.submit(kind.locator("button.btn-primary"))
    expect(page.locator("table.attachment-types tbody tr")).to_have_count(1)
    expect(page.locator(".announce-summary ul.blockers")).to_have_count(0)
    expect(page.locator(".announce-summary")).to_contain_text(_("Nothing blocks announcing the call."))
    axe_clean(office, "b03-admin-call-ready")
    office.submit(page.locator("button[name=trigger][value=announce]"))  # announcing can be undone: not asked
    assert _("Done: %(step)s.") % {"step": trigger_label("call", "announce", lang)} in office.flashes()
    expect(badge(page)).to_have_text(state_label("call", "announced", lang))
    with server.db() as session:  # the members of registered organisations are told
        told = session.scalars(select(Message.body_text).where(Message.recipient == member_email)).all()
    assert any(code in body for body in told), told
    lap("1 admin copy+announce")

    # --- 2. the NGO member resets the password and invites a colleague -------------------------------------------
    clock.travel_to(opens_at + timedelta(hours=1))
    ngo = visitor(server, lang, "member")
    npage = ngo.page
    ngo.goto("/login")
    ngo.switch_language()
    ngo.submit(npage.locator("main a[href='/password/forgot']"))
    expect(npage.locator("h1")).to_have_text(_("Forgot your password?"))
    axe_clean(ngo, "b04-forgot-password")
    npage.locator("main form [name=email]").fill(member_email)
    ngo.submit(npage.locator("main form button"))
    ngo.goto(latest_link(server, member_email, "/password/reset/"))
    expect(npage.locator("h1")).to_have_text(_("Set a new password"))
    axe_clean(ngo, "b05-reset-password")
    npage.locator("main form [name=password]").fill(NEW_PASSWORD)
    npage.locator("main form [name=password_again]").fill(NEW_PASSWORD)
    ngo.submit(npage.locator("main form button"))
    expect(npage.locator("h1")).to_have_text(_("Log in"))
    assert _("Your new password is set, and every session that was open has ended. Log in with the new "
             "password.") in ngo.flashes()
    ngo.goto(latest_link(server, member_email, "/password/reset/"))  # the link works once
    expect(npage.locator("h1")).to_have_text(_("Forgot your password?"))  # refused, sent back to ask again
    assert ngo.flashes(), "a reused reset link must say why it is refused"
    ngo.login(member_email, NEW_PASSWORD)
    ngo.goto("/apply/organisation/")
    expect(npage.locator("h1")).to_have_text(_("My organisation"))
    invite = npage.locator("form[action='/apply/organisation/invite']")
    invite.locator("[name=invitee_name]").fill("Pēteris Bērziņš")
    invite.locator("[name=invitee_email]").fill(colleague_email)
    axe_clean(ngo, "b06-organisation-invite")
    ngo.submit(invite.locator("button"))
    assert (_("We have sent an invitation to %(email)s. The link in it works for 7 days.")
            % {"email": colleague_email}) in ngo.flashes()

    colleague = visitor(server, lang, "colleague")
    cpage = colleague.page
    colleague.goto(latest_link(server, colleague_email, "/invitation/"))
    colleague.switch_language()
    ngo_name = "Biedrība „Jaunieši Jelgavai”"
    expect(cpage.locator("h1")).to_have_text(_("Join %(organisation)s") % {"organisation": ngo_name})
    axe_clean(colleague, "b07-invitation")
    cform = cpage.locator("main form")
    expect(cform.locator("[name=name]")).to_have_value("Pēteris Bērziņš")  # as the member typed it
    cform.locator("[name=password]").fill(COLLEAGUE_PASSWORD)
    cform.locator("[name=password_again]").fill(COLLEAGUE_PASSWORD)
    colleague.submit(cform.locator("button"))
    assert (_("Welcome! You are now a member of %(organisation)s.")
            % {"organisation": "Biedrība „Jaunieši Jelgavai”"}) in colleague.flashes()
    expect(cpage.locator("h1")).to_have_text(_("My applications"))
    lap("2 reset+invite")

    # --- 3. the colleague fills the guided form, the budget and the attachment, and submits ----------------------
    colleague.goto("/apply/")
    colleague.submit(cpage.locator(f"form[action='/apply/calls/{code}/start'] button"))
    expect(badge(cpage)).to_have_text(state_label("application", "draft", lang))
    draft_path = urllib.parse.urlsplit(cpage.url).path
    axe_clean(colleague, "b08-task-list")
    project_title = "Jauniešu vasaras līderu skola Lielupē"
    colleague.submit(cpage.locator(".task-list a").first)
    for heading, typed in (
            (_("The project"), (("title", project_title), ("summary", "Radošās darbnīcas un mentorings."),
                                ("objectives", "Celt mācību motivāciju."),
                                ("start_on", start_on.isoformat()), ("end_on", end_on.isoformat()))),
            (_("Activities"), (("activities", "12 darbnīcas, 3 izbraukumi."),)),
            (_("Participants"), (("target_group", "13–18 gadus veci jaunieši."), ("participants", "16"),
                                 ("participants_at_risk", "9"))),
            (_("Results and indicators"), (("results", "Jaunieši turpina mācības."),
                                           ("indicator_1_name", "Darbnīcas"), ("indicator_1_target", "12")))):
        expect(cpage.locator("h1")).to_have_text(heading)
        step = cpage.locator("#step-form")
        for name, value in typed:
            step.locator(f"[name={name}]").fill(value)
        colleague.submit(step.locator("button[value=next]"))
        assert _("Saved.") in colleague.flashes()

    colleague.goto(draft_path)
    colleague.submit(cpage.locator(".task-list a[href$='/budget']"))
    expect(cpage.locator("h1")).to_have_text(_("Budget"))
    with server.db() as session:
        categories = {c.label_en: c for c in session.get(Call, call_id).cost_categories}
        admin_code, activity_code = categories["Administration"].code, categories["Staff"].code
    lines = ((activity_code, "Darbnīcu vadītāji", "10", money_typed(10_000, lang)),   # 1 000,00
             (admin_code, "Grāmatvedība", "1", money_typed(10_000, lang)))            # 100,00: 9,1 % ≤ 10 %
    for n, (category_code, description, quantity, unit_cost) in enumerate(lines):
        cpage.locator(f"#category-{n}").select_option(category_code)
        cpage.locator(f"#description-{n}").fill(description)
        cpage.locator(f"#quantity-{n}").fill(quantity)
        cpage.locator(f"#unit_cost-{n}").fill(unit_cost)
    axe_clean(colleague, "b09-budget")
    colleague.submit(cpage.locator("#budget-form button.btn-primary"))
    expect(cpage.locator(".budget-ok")).to_be_visible()

    colleague.goto(draft_path)
    colleague.submit(cpage.locator(".task-list a[href$='/attachments']"))
    expect(cpage.locator("h1")).to_have_text(_("Attachments"))
    pdf = tiny_pdf()
    upload = cpage.locator("form:has(input[name=type_id]:not([value=other]))").first
    upload.locator("input[type=file]").set_input_files(
        {"name": "valdes-apliecinājums.pdf", "mimeType": "application/pdf", "buffer": pdf})
    colleague.submit(upload.locator("button"))
    expect(cpage.locator("main")).to_contain_text("valdes-apliecinājums.pdf")
    axe_clean(colleague, "b10-attachments")

    colleague.goto(draft_path)
    for done in ("project", "budget", "attachments"):
        expect(cpage.locator(f".task-{done} .task-status")).to_have_text(_("Completed"))
    colleague.submit(cpage.locator(".task-list a[href$='/steps/declarations']"))
    cpage.locator("#step-form [name=declarations]").check()
    colleague.submit(cpage.locator("#step-form button[value=next]"))
    expect(cpage.locator("h1")).to_have_text(_("Check your answers before submitting"))
    expect(cpage.locator(".checklist")).to_contain_text(_("Everything required is filled in."))
    axe_clean(colleague, "b11-check-answers")
    colleague.submit(cpage.locator(f"form[action$='{draft_path}/submit'] button"))
    confirm_step(colleague, trigger_label("application", "submit", lang))
    expect(cpage.locator("h1")).to_have_text(_("Receipt of submission"))
    number = f"{prefix}-001"
    expect(cpage.locator(".application-number")).to_have_text(number)
    content_hash = cpage.locator("code.receipt-hash").first.inner_text().strip()
    assert SHA256.match(content_hash), content_hash
    expected = hashlib.sha256(pdf).hexdigest()
    expect(cpage.locator("ul.receipt-attachments")).to_contain_text("valdes-apliecinājums.pdf")
    expect(cpage.locator("ul.receipt-attachments code.receipt-hash")).to_have_text(f"SHA-256 {expected}")
    axe_clean(colleague, "b12-receipt")
    with server.db() as session:  # the receipt e-mail lists the attachment with its hash too
        mailed = session.scalars(select(Message.body_text).where(Message.recipient == colleague_email)
                                 .order_by(Message.id.desc())).first()
    assert number in mailed and expected in mailed, mailed
    stranger = visitor(server, lang, "public")  # anyone holding the receipt confirms it, seeing no content
    stranger.goto("/receipts/check")
    stranger.switch_language()
    expect(stranger.page.locator("h1")).to_have_text(_("Check a receipt of submission"))
    stranger.page.locator("main form [name=number]").fill(number)
    stranger.page.locator("main form [name=sha256]").fill(content_hash.upper())
    stranger.submit(stranger.page.locator("main form button"))
    expect(stranger.page.locator(".receipt-check-result.alert-success")).to_be_visible()
    expect(stranger.page.locator("main")).not_to_contain_text(project_title)
    axe_clean(stranger, "b12b-receipt-check")
    ngo.goto("/apply/")  # the first member sees the colleague's application: they work for the same NGO
    expect(npage.locator("table.applications")).to_contain_text(project_title)
    lap("3 guided form+submit")

    # --- 4. the admin filters, searches, opens and records the checks ---------------------------------------------
    with server.db() as session:  # others applied too: the filter and the search have something to leave out
        other_call = session.get(Call, call_id)
        for other_title, checked in (("Orientēšanās sacensības Zemgalē", False), ("Lielupē: laivu darbnīca", True)):
            other = factories.make_application(other_call, "draft", title=other_title)
            member = factories.member_of(other)
            attachments.upload(other, member, other_call.attachment_types[0].id, "apliecinajums.pdf", pdf)
            session.commit()
            factories._fire(other, "submit", member)
            if checked:
                factories._record_checks(other, factories.admin_of(other_call), True)
    office.goto(f"/admin/calls/{call_id}/applications")
    expect(page.locator("table.applications tbody tr")).to_have_count(3)
    office.submit(page.locator(".application-filters a", has_text=state_label("application", "submitted", lang)))
    expect(page.locator("table.applications tbody tr")).to_have_count(2)  # the eligible one is left out
    page.locator("form.application-search [name=q]").fill("Lielupē")
    office.submit(page.locator("form.application-search button[type=submit]"))
    rows = page.locator("table.applications tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(project_title)
    axe_clean(office, "b13-admin-applications")
    office.submit(page.locator(f"table.applications a:text-is('{number}')"))
    checks = page.locator("form.checks-form")
    for option in checks.locator("input[type=radio][value=yes]").all():
        option.check()
    axe_clean(office, "b14-admin-application-checks")
    office.submit(checks.locator("button.btn-primary"))
    assert _("The checks are recorded.") in office.flashes()
    expect(badge(page)).to_have_text(state_label("application", "eligible", lang))
    with server.db() as session:
        application = session.scalars(select(Application).where(Application.number == number)).one()
        assert application.status == "eligible" and application.title == project_title
        assert application.amount_cents == 110_000  # the budget's total, worked out again on the server
    lap("4 admin filter+checks")

    for person in (office, ngo, colleague, stranger):
        assert not person.problems, person.problems
    server.assert_healthy()
    print(f"\n[{lang}] laps (s): {laps}")
