"""Accessibility (issue 9, "The real browser"): WCAG 2.1 AA, as Cabinet Regulation No. 445 (2020) asks through
LVS EN 301 549, on every page of the demo, as every role, in Latvian and in English; and the main pages at 390 px.

The world is the demo (app/demo: four calls of Jelgavas novada pašvaldība, replayed through the real services),
plus what the demo does not hold: a call still in draft, a grant still being paid (a SEPA batch issued for its
first tranche, its interim report in progress), and the links people get by e-mail (confirm a registration, reset
a password, an invitation to an NGO, an evaluator's welcome), made by the real services and read from the sent
messages. One live server, one browser and one page per role and language serve every test of the module.

The pages are not a list written here: every GET rule of `app.url_map` is a page, but the few NOT_PAGES (files:
PDF, CSV, images, ZIP...), named below with why. For each rule and role the URL is filled from the world's real ids
(`Site.candidates`, most telling object first); the first one the role gets as an HTML page (200, no redirect) is
the role's page. A rule that no role gets as a page fails the test: give it its data here.
"""
from __future__ import annotations

import itertools

import json
import re
from collections import Counter
from dataclasses import dataclass, field

import pytest
from flask import url_for
from sqlalchemy import select

from app.demo import PASSWORD as DEMO_PASSWORD
from app.demo import load_demo
from app.extensions import db
from app.models import (Application, Assignment, Call, CostCategory, Message, Organiser, Payment, PaymentBatch,
                        Question, Report, User)
from app.services import evaluators, invitations, password_reset, payment_batches, questions, registration
from app.services.steps import STEPS
from tests import factories
from tests.e2e import axe
from tests.e2e.conftest import SHOTS, Visitor, new_context, serve

pytestmark = pytest.mark.browser

LANGS = ["lv", "en"]
ROLES = ("public", "ngo", "evaluator", "organiser_admin", "programme_admin", "auditor")
NGO_EMAIL = "liga@ozolniekufonds.lv"  # Ozolnieku attīstības fonds: a closed 2022 grant, a review, a budgeted draft
LOGINS = {"ngo": NGO_EMAIL, "evaluator": "vertetajs1@eksperti.lv", "organiser_admin": "admin@jelgava.lv",
          "auditor": "auditors@ikvd.gov.lv"}  # the programme admin is made here: the demo has none
PROGRAMME_ADMIN = "programma@ikvd.gov.lv"

# GET rules that answer with a file, not a page: there is no document for axe to read.
NOT_PAGES = {
    "static": "the app's CSS and JS", "bootstrap.static": "Bootstrap's CSS and JS",
    "public.regulations": "the call's regulations, a PDF", "public.document": "a stored PDF (receipt, letter...)",
    "public.calendar": "the call's dates as iCalendar", "public.attachment": "an uploaded attachment (PDF...)",
    "admin.preview_regulations": "the draft regulations, a PDF",
    "admin.agreement_signature": "a signed copy of an agreement as uploaded (PDF or ASiC-E)",
    "admin.call_applications_csv": "CSV", "admin.payments_csv": "CSV",
    "admin.call_export": "CSV / XLSX / 360Giving JSON",
    "admin.call_chart": "a chart image (its figures are a table on the dashboard page)",
    "admin.programme_chart": "a chart image (its figures are a table on the dashboard page)",
    "admin.payment_batch_file": "the SEPA XML file", "admin.report_file": "a report's uploaded file",
    "applicant.report_file": "a report's uploaded file", "auth.personal_data": "the person's data as a ZIP",
    "health.healthz": "JSON for the load balancer",
}
# Rules with one page per value worth seeing: every call (each state shows other sections), every form step.
EVERY_CANDIDATE = {"public.call", "admin.call", "applicant.step"}
# The main pages: screenshots (desktop and 390 px) and the 390 px checks. (role, endpoint)
MAIN_PAGES = [
    ("public", "public.index"), ("public", "public.call"), ("public", "public.accessibility"),
    ("ngo", "applicant.home"), ("ngo", "applicant.edit"), ("ngo", "applicant.step"), ("ngo", "applicant.budget"),
    ("ngo", "applicant.attachments"), ("ngo", "applicant.check"), ("ngo", "applicant.view"),
    ("ngo", "applicant.report"), ("evaluator", "evaluator.queue"), ("evaluator", "evaluator.assignment"),
    ("organiser_admin", "admin.calls"), ("organiser_admin", "admin.call"),
    ("organiser_admin", "admin.call_applications"), ("organiser_admin", "admin.application"),
    ("organiser_admin", "admin.ranking"), ("organiser_admin", "admin.evaluators"),
    ("organiser_admin", "admin.call_dashboard"), ("organiser_admin", "admin.payments"),
    ("programme_admin", "admin.programme_dashboard"),
]
STATEMENT = "/accessibility"
MID_LOGIN = ("two_factor.sign_in", "/login/code")  # a page of someone who gave the password, not yet the code
MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _latest_link(email: str, pattern: str) -> str:
    body = db.session.scalars(select(Message.body_text).where(Message.recipient == email)
                              .order_by(Message.id.desc())).first()
    found = re.search(r"https?://[^/\s]+(" + pattern + r"\S*)", body or "")
    assert found, f"no {pattern} link was sent to {email}"
    return found.group(1)


def _extend_demo() -> dict:
    """What the demo lacks, through the real services and the tests' builders (real fires)."""
    jelgava = db.session.scalar(select(Organiser).where(Organiser.name == "Jelgavas novada pašvaldība"))
    admin = db.session.scalar(select(User).where(User.email == LOGINS["organiser_admin"]))
    ngo = db.session.scalar(select(User).where(User.email == NGO_EMAIL))
    overseer = factories.make_user("admin", programme_level=True, email=PROGRAMME_ADMIN, name="Baiba Ozola")
    factories.enrol_two_factor(overseer)  # so that its login shows the code step (two_factor.sign_in)
    draft = factories.make_call("draft", organiser=jelgava, admin=admin,
                                title_lv="Vasaras nometņu konkurss (melnraksts)", title_en="Summer camps call (draft)")
    questions.add(draft, admin, {"kind": "short_text", "step": "questions", "required": False, "options": [],
                                 "label_lv": "Kura skola piedalās?", "label_en": "Which school takes part?"})
    paying = factories.make_call("announced", when="past", organiser=jelgava, admin=admin, projects=1,
                                 title_lv="Brīvprātīgā darba konkurss", title_en="Volunteering call")
    grant = factories.make_application(paying, "contracted", organisation=ngo.organisation,
                                       title="Brīvprātīgo skola Ozolniekos")
    factories.advance_call(paying, "reporting")
    first = db.session.scalars(select(Payment).where(Payment.application_id == grant.id).order_by(Payment.id)).first()
    payment_batches.issue(admin, [first.id])
    db.session.commit()


def _emailed_links() -> dict:
    """The links people get by e-mail, made by the real services (in a request context: they are absolute URLs)."""
    admin = db.session.scalar(select(User).where(User.email == LOGINS["organiser_admin"]))
    ngo = db.session.scalar(select(User).where(User.email == NGO_EMAIL))
    registration.request_registration(
        organisation_name="Biedrība „Jaunā lapa”", registration_number=factories.registration_number(),
        legal_form="biedriba",
        iban=factories.IBAN, organisation_email="info@jaunalapa.lv", address="Pasta iela 1, Jelgava",
        user_name="Zane Lapa", email="zane@jaunalapa.lv", password="Garš-un-drošs-parole-2026")
    password_reset.request_reset(NGO_EMAIL)
    invitations.invite(ngo, email="kolega@ozolniekufonds.lv", name="Oskars Koks")
    evaluators.invite(admin, name="Elīna Vītola", email="elina.vitola@eksperti.lv")
    db.session.commit()
    return {"token": [_latest_link("zane@jaunalapa.lv", "/register/confirm/"),
                      _latest_link(NGO_EMAIL, "/password/reset/"),
                      _latest_link("kolega@ozolniekufonds.lv", "/invitation/")],
            "welcome_token": [_latest_link("elina.vitola@eksperti.lv", "/evaluator/welcome/")]}


@dataclass
class Site:
    server: object
    browser: object
    values: dict[str, list]  # URL argument → candidate values, most telling first
    messages: dict[str, list[int]]  # role → its own message ids
    combos: dict[str, list[dict]]  # endpoint → coherent argument sets (a category and its call...)
    links: dict[str, list[str]]  # endpoint → e-mailed paths
    people: dict[tuple[str, str], Visitor] = field(default_factory=dict)
    resolved: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (role, endpoint) → its pages

    @property
    def app(self):
        return self.server.app

    def rules(self):
        return sorted((r for r in self.app.url_map.iter_rules()
                       if "GET" in r.methods and r.endpoint not in NOT_PAGES), key=lambda r: r.rule)

    def visitor(self, role: str, lang: str) -> Visitor:
        """The role's page in `lang`, logged in once for the module; axe installed in its context."""
        if (role, lang) not in self.people:
            context = new_context(self.browser, lang)
            axe.install(context)
            person = self.people[(role, lang)] = Visitor(context, self.server, lang, role)
            if role == "public":
                person.goto("/")
                person.switch_language()
            else:
                email = LOGINS.get(role, PROGRAMME_ADMIN)
                person.login(email, DEMO_PASSWORD if role in LOGINS else factories.TEST_PASSWORD)
        person = self.people[(role, lang)]
        person.page.set_viewport_size(DESKTOP)
        return person

    def candidates(self, rule, role: str) -> list[str]:
        """Paths of `rule` with real ids, most telling first."""
        if rule.endpoint in self.links:
            return self.links[rule.endpoint]
        if rule.endpoint in self.combos:
            sets = self.combos[rule.endpoint]
        else:
            values = dict(self.values, message_id=self.messages.get(role, []))
            names = sorted(rule.arguments)
            missing = [n for n in names if not values.get(n)]
            if missing:
                return []
            sets = [dict(zip(names, chosen)) for chosen in itertools.product(*(values[n] for n in names))]
        with self.app.test_request_context():
            return [url_for(rule.endpoint, **s) for s in sets]

    def pages(self, person: Visitor, rule) -> list[str]:
        """The role's pages of `rule`: candidates it gets as HTML (200 straight away), asked without a browser
        page (the context's own request API: same cookies)."""
        key = (person.name, rule.endpoint)
        if key not in self.resolved:
            found = []
            for path in self.candidates(rule, person.name):
                response = person.context.request.get(self.server.url + path, max_redirects=0)
                status, location = response.status, response.headers.get("location", "")
                html = response.headers.get("content-type", "").startswith("text/html")
                response.dispose()
                if status == 200 and html:
                    found.append(path)
                    if rule.endpoint not in EVERY_CANDIDATE:
                        break
                elif status in (401, 403, 405) or "/login" in location:
                    break  # the role may not have such pages at all: no other id changes that
            self.resolved[key] = found
        return self.resolved[key]


@pytest.fixture(scope="module")
def site(_sqlite_template, tmp_path_factory, browser):
    with pytest.MonkeyPatch.context() as patch:
        from app import documents
        from tests.conftest import STUB_PDF

        patch.setattr(documents, "render", lambda *_args, **_kw: STUB_PDF)  # a real render costs ~1 s
        with serve(_sqlite_template, tmp_path_factory.mktemp("a11y-demo")) as server:
            with server.db() as session:
                load_demo()
                _extend_demo()
                with server.app.test_request_context():
                    links = _emailed_links()
                ngo = session.scalar(select(User).where(User.email == NGO_EMAIL))
                evaluator = session.scalar(select(User).where(User.email == LOGINS["evaluator"]))
                mine = list(session.scalars(select(Application.id).where(
                    Application.organisation_id == ngo.organisation_id).order_by(Application.id.desc())))
                # the NGO's newest first (the grant being paid, the budgeted draft...), then every other
                others = list(session.scalars(select(Application.id).where(
                    Application.organisation_id != ngo.organisation_id).order_by(Application.id.desc())))
                calls = list(session.scalars(select(Call.id).order_by(Call.id.desc())))
                values = {
                    "code": list(session.scalars(select(Call.code).order_by(Call.id))),
                    "call_id": calls,
                    "app_id": mine + others[:3], "application_id": mine + others[:3],
                    "assignment_id": list(session.scalars(select(Assignment.id).where(
                        Assignment.evaluator_id == evaluator.id).order_by(Assignment.id.desc()))),
                    "report_id": list(session.scalars(select(Report.id).order_by(Report.id.desc()).limit(4))),
                    "evaluator_id": [evaluator.id],
                    "organiser_id": list(session.scalars(select(Organiser.id).order_by(Organiser.id))),
                    "batch_id": list(session.scalars(select(PaymentBatch.id))),
                    "step": [step.name for step in STEPS if step.own],
                }
                combos = {
                    "admin.edit_cost_category": [{"call_id": c.call_id, "category_id": c.id}
                                                 for c in session.scalars(select(CostCategory))],
                    "admin.edit_question": [{"call_id": q.call_id, "question_id": q.id}
                                            for q in session.scalars(select(Question))],
                }
                messages = {}
                for role, email in {**LOGINS, "programme_admin": PROGRAMME_ADMIN}.items():
                    user = session.scalar(select(User).where(User.email == email))
                    messages[role] = list(session.scalars(select(Message.id).where(Message.user_id == user.id)
                                                          .order_by(Message.id.desc()).limit(3)))
                link_paths = {"auth.confirm": [p for p in links["token"] if "/register/" in p],
                              "auth.reset_password": [p for p in links["token"] if "/password/" in p],
                              "auth.invitation": [p for p in links["token"] if "/invitation/" in p],
                              "auth.evaluator_welcome": links["welcome_token"]}
            made = Site(server, browser, values, messages, combos, link_paths)
            try:
                yield made
            finally:
                for person in made.people.values():
                    person.context.close()


def _tally(found: dict[str, list[dict]]) -> dict[str, int]:
    """Rule → how many pages it failed on (every impact)."""
    counts = Counter(v["id"] + f" ({v['impact']})" for violations in found.values() for v in violations)
    return dict(sorted(counts.items()))


# What differs between two renderings of one page that is not the page: the form tokens.
VOLATILE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*|(value=")[^"]*("[^>]*name="csrf_token")')


def _main_content(page) -> str:
    return VOLATILE.sub(r"\1\2\3", page.evaluate("() => document.querySelector('main').outerHTML"))


def test_every_page_as_every_role_meets_wcag_21_aa(site):
    """axe (WCAG 2.1 A and AA rules) on every page each role reaches, in Latvian and in English: no serious or
    critical violation. Each role's page is opened in both languages side by side and axe runs in both at once. A
    page whose <main> is the very same as one audited already in that language (a public page seen by another role,
    a programme admin's view of an organiser's call) is not audited again, but the first page of every role is, with
    that role's navigation bar. A route a role before has had audited (a programme admin's or an auditor's view of
    the admin pages) is not walked again: the same templates, at every page of that route, in both languages."""
    rules = site.rules()
    stale = sorted(set(NOT_PAGES) - {r.endpoint for r in site.app.url_map.iter_rules()})
    assert not stale, f"NOT_PAGES names rules the app no longer has: {stale}"
    audited: dict[str, set[str]] = {}
    found: dict[str, dict[str, list[dict]]] = {lang: {} for lang in LANGS}
    seen: dict[str, set[str]] = {lang: set() for lang in LANGS}
    visits, problems, unlinked = Counter(), [], []
    for role in ROLES:
        people = {lang: site.visitor(role, lang) for lang in LANGS}
        for person in people.values():
            person.problems.clear()
        first = True
        earlier = set(audited)  # the routes a role before this one has had audited, every page of them
        for rule in rules:
            if rule.endpoint in earlier and not first:
                continue  # the same template as that role saw: its navigation bar is audited on its first page
            for path in site.pages(people["lv"], rule):
                started = []
                for lang, person in people.items():
                    person.goto(path)
                    visits[lang] += 1
                    assert person.page.get_attribute("html", "lang") == lang, f"{path} as {role}: not in {lang}"
                    if not person.page.locator(f"footer a[href='{STATEMENT}']").count():
                        unlinked.append(f"{role} {path} ({lang})")
                    person.page.eval_on_selector_all("details", "all => all.forEach(d => d.open = true)")
                    content = _main_content(person.page)
                    if content in seen[lang] and not first:
                        continue
                    seen[lang].add(content)
                    axe.start(person.page)
                    started.append((lang, person))
                for lang, person in started:
                    found[lang][f"{role} {path}"] = axe.finish(person.page)
                    if (role, rule.endpoint) in MAIN_PAGES and path == site.pages(person, rule)[0]:
                        person.shot(f"a11y-{role}-{rule.endpoint}-desktop")
                audited.setdefault(rule.endpoint, set()).add(role)
                first = False
        problems += [p for person in people.values() for p in person.problems]
    for lang in LANGS:
        (SHOTS / f"axe-{lang}.json").write_text(json.dumps(
            {"pages_visited": visits[lang], "pages_audited": len(found[lang]), "by_rule": _tally(found[lang]),
             "violations": {page: [{"id": v["id"], "impact": v["impact"], "targets": [n["target"] for n in v["nodes"]]}
                                   for v in vs] for page, vs in found[lang].items() if vs}},
            indent=1, ensure_ascii=False))
    for lang in LANGS:  # the code step exists only between the password and the code: a context of its own
        context = new_context(site.browser, lang)
        axe.install(context)
        person = Visitor(context, site.server, lang, "signing in")
        try:
            person.goto("/login")
            person.switch_language()
            form = person.page.locator("main form")
            form.locator("[name=email]").fill(PROGRAMME_ADMIN)
            form.locator("[name=password]").fill(factories.TEST_PASSWORD)
            person.submit(form.locator("button"))
            assert person.page.url.endswith(MID_LOGIN[1]), person.page.url
            found[lang][f"signing in {MID_LOGIN[1]}"] = axe.run(person.page)
            audited.setdefault(MID_LOGIN[0], set()).add("programme_admin")
        finally:
            context.close()
    unreached = sorted(r.endpoint for r in rules if r.endpoint not in audited)
    assert not unreached, ("no role gets these GET rules as a page: give them data in this module's world, or "
                           f"name them in NOT_PAGES with why: {unreached}")
    serious = {f"{page} ({lang})": axe.serious(vs) for lang in LANGS for page, vs in found[lang].items()
               if axe.serious(vs)}
    assert not serious, f"{len(serious)} pages fail WCAG 2.1 AA:\n" + "\n".join(
        f"{page}\n{axe.describe(vs)}" for page, vs in serious.items())
    assert not unlinked, f"no link to the accessibility statement in the footer of: {unlinked}"
    assert not problems, problems
    site.server.assert_healthy()

LAYOUT = """() => {
    const scroller = element => {
        for (let up = element.parentElement; up && up !== document.body; up = up.parentElement)
            if (['auto', 'scroll'].includes(getComputedStyle(up).overflowX)) return up;
        return null;
    };
    const tables = [...document.querySelectorAll('main table')].filter(t => t.getClientRects().length);
    return {width: document.documentElement.scrollWidth, tables: tables.map(table => {
        const caption = table.querySelector(':scope > caption');
        const box = scroller(table);
        return {name: table.className || table.id, caption: caption ? caption.textContent.trim() : '',
                wide: table.getBoundingClientRect().width > (box || table.parentElement).clientWidth + 1,
                region: box ? {role: box.getAttribute('role'), tabindex: box.getAttribute('tabindex'),
                               labelledby: box.getAttribute('aria-labelledby')} : null,
                captionId: caption ? caption.id : null};
    })};
}"""


@pytest.mark.parametrize("lang", LANGS)
def test_main_pages_at_390_px(lang, site):
    """WCAG 1.4.10 (reflow) on a phone: the page never scrolls sideways; a table wider than the screen scrolls in a
    box of its own that the keyboard reaches (role=region, tabindex=0) and that its caption names."""
    faults = []
    for role, endpoint in MAIN_PAGES:
        person = site.visitor(role, lang)
        rule = next(r for r in site.app.url_map.iter_rules() if r.endpoint == endpoint)
        paths = site.pages(person, rule)
        assert paths, f"{endpoint}: {role} has no such page in this world"
        person.page.set_viewport_size(MOBILE)
        for n, path in enumerate(paths):
            person.goto(path)
            person.page.eval_on_selector_all("details", "all => all.forEach(d => d.open = true)")
            layout = person.page.evaluate(LAYOUT)
            person.shot(f"a11y-{role}-{endpoint}{'-%d' % n if n else ''}-390")
            if layout["width"] > MOBILE["width"]:
                faults.append(f"{path} ({role}): the page is {layout['width']} px wide")
            for table in layout["tables"]:
                if not table["caption"]:
                    faults.append(f"{path} ({role}): table {table['name']!r} has no caption")
                region = table["region"]
                if table["wide"] and not (region and region["role"] == "region" and region["tabindex"] == "0"
                                          and table["captionId"] and region["labelledby"] == table["captionId"]):
                    faults.append(f"{path} ({role}): table {table['name']!r} is wider than the screen outside a "
                                  f"focusable region named by its caption: {region}")
    assert not faults, "\n".join(faults)


@pytest.mark.parametrize("lang", LANGS)
def test_accessibility_statement(lang, site):
    """The statement Regulation No. 445 asks for, in the visitor's language, reached from every page's footer (the
    walk above checks the footer of each page): the standard, the status, what was and was not tested, how to report
    a problem (the configured address), the enforcement procedure, the dates."""
    person = site.visitor("public", lang)
    person.goto("/")
    person.submit(person.page.locator("footer a", has_text="Piekļūstamības paziņojums" if lang == "lv"
                                      else "Accessibility statement"))
    assert person.page.url.endswith(STATEMENT)
    text = person.page.locator("main").inner_text()
    contact = site.app.config["ACCESSIBILITY_CONTACT_EMAIL"]
    expected = {
        "lv": ["Piekļūstamības paziņojums", "Ministru kabineta 2020. gada noteikumi Nr. 445", "LVS EN 301 549",
               "WCAG) 2.1 AA", "daļēji atbilst", "axe-core", "390 pikseļu", "ekrāna lasītājiem",
               "Viedās administrācijas un reģionālās attīstības ministrijā", "sagatavots 01.12.2026.",
               "pārskatīts 01.12.2026."],
        "en": ["Accessibility statement", "Cabinet Regulation No. 445 of 2020", "LVS EN 301 549",
               "(WCAG) 2.1 at level AA", "partially conforms", "axe-core", "390 pixels", "screen readers",
               "Ministry of Smart Administration and Regional Development", "prepared on 01.12.2026",
               "reviewed on 01.12.2026"],
    }[lang]
    missing = [phrase for phrase in expected + [contact] if phrase not in text]
    assert not missing, f"the statement ({lang}) lacks {missing}:\n{text}"
    assert person.page.locator(f"main a[href='mailto:{contact}']").count() == 1
    person.shot("a11y-accessibility-statement")


def test_keyboard_reaches_the_skip_link_and_a_message(site):
    """Tab from the top of a page: the first stop is the link that skips to the content, and it lands there; on a
    message page the whole message text is read in the page (it wraps, no scrolling box to reach)."""
    person = site.visitor("ngo", "lv")
    message = site.messages["ngo"][0]
    person.goto(f"/messages/{message}")
    person.page.keyboard.press("Tab")
    focused = person.page.evaluate("() => document.activeElement.getAttribute('href')")
    assert focused == "#main"
    person.page.keyboard.press("Enter")
    assert person.page.url.endswith("#main")
    body = person.page.locator("pre.message-body")
    assert body.evaluate("pre => pre.scrollWidth <= pre.clientWidth"), "the message scrolls sideways"
    person.page.set_viewport_size(MOBILE)
    assert body.evaluate("pre => pre.scrollWidth <= pre.clientWidth"), "the message scrolls sideways at 390 px"
    assert person.page.evaluate("() => document.documentElement.scrollWidth") <= MOBILE["width"]
