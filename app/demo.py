"""The demo (DESIGN 7): three calls of Jelgavas novada pašvaldība, replayed through the real services.

Nothing here sets a state by hand. Every move goes through `fire` (or a service that calls it), with the clock
moved by `app.clock.travel_to` to the moment the step happened, so each state change has its audit event at the
time it would have been recorded:

1. PMP-2022, the 2022 competition, replayed from the announcement to completion: funded, reserve, rejected,
   ineligible and declined applications, a clarification, an appeal, a promotion from the reserve list,
   agreements, payments, interim and final reports, closed grants.
2. PMP-<year>, the same competition this year, open now, with drafts and two submissions.
3. PMP-<year>-R, a second round that closed last week: checked and in evaluation, reviews partly done, one
   divergence flagged and a third evaluator assigned by the `flag_divergence` effect.

`load_demo()` is idempotent: a call whose code already exists is left alone, people are found by e-mail.
Documents and e-mails are only queued here; the worker renders and sends them later. The one exception is the
agreement, which `accept_offer` renders itself to record the SHA-256 of what was accepted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app import clock
from app.clock import RIGA
from app.extensions import db
from app.models import Application, Assignment, Call, Payment, Report, User
from app.services import accounts, applications, audit, calls, evaluation, organisations, reporting
from app.services.workflow import catch_up, fire, lock

PASSWORD = "demo-parole-2022"
ORGANISER = "Jelgavas novada pašvaldība"
FUNDER = "Izglītības kvalitātes valsts dienests (IKVD)"
PROGRAMME = "8.3.4.0/16/I/001"
LUMP_SUM = 460_000  # EUR 4,600.00


# --- people -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Staff:
    role: str
    email: str
    name: str
    programme_level: bool = False
    organiser: bool = True
    language: str = "lv"


STAFF = (
    Staff("admin", "admin@jelgava.lv", "Ilze Grīnberga"),
    Staff("admin", "admin2@jelgava.lv", "Andris Vanags"),
    Staff("auditor", "auditors@ikvd.gov.lv", "Rūta Zariņa", programme_level=True, organiser=False),
    Staff("evaluator", "vertetajs1@eksperti.lv", "Inese Liepiņa", organiser=False),
    Staff("evaluator", "vertetajs2@eksperti.lv", "Kārlis Jansons", organiser=False),
    Staff("evaluator", "vertetajs3@eksperti.lv", "Marta Sproģe", organiser=False, language="en"),
)


@dataclass(frozen=True)
class Ngo:
    key: str
    name: str
    legal_form: str
    registration_number: str  # 11 digits, checked by stdnum.lv.pvn (weighted sum mod 11 == 3)
    iban: str  # check digits computed with stdnum.iban
    email: str
    address: str
    member: str
    member_email: str
    language: str = "lv"


NGOS = (
    Ngo("jauniesi", "Biedrība „Jaunieši Jelgavai”", "biedriba", "40008015678", "LV87HABA0551012345678",
        "info@jauniesi-jelgava.lv", "Lielā iela 12, Jelgava, LV-3001", "Anna Kalniņa", "anna@jauniesi-jelgava.lv"),
    Ngo("zemgale", "Biedrība „Zemgales jaunatnes forums”", "biedriba", "40008022345", "LV21UNLA0050014412345",
        "birojs@zemgalesjaunatne.lv", "Akadēmijas iela 25, Jelgava, LV-3001", "Jānis Ozoliņš",
        "janis@zemgalesjaunatne.lv"),
    Ngo("ozolnieki", "Nodibinājums „Ozolnieku attīstības fonds”", "nodibinajums", "40008030003",
        "LV51PARX0012345670001", "fonds@ozolniekufonds.lv", "Stadiona iela 3, Ozolnieki, Jelgavas nov., LV-3018",
        "Līga Bērziņa", "liga@ozolniekufonds.lv"),
    Ngo("eleja", "Biedrība „Elejas jauniešu klubs”", "biedriba", "40008040001", "LV15RIKO0000083021456",
        "klubs@elejasklubs.lv", "Parka iela 2, Eleja, Elejas pag., Jelgavas nov., LV-3023", "Mārtiņš Liepa",
        "martins@elejasklubs.lv"),
    Ngo("skauti", "Kalnciema skautu un gaidu vienība", "youth_organisation", "40008054567",
        "LV41HABA0551023456789", "vieniba@kalnciemaskauti.lv", "Lielā iela 8, Kalnciems, Jelgavas nov., LV-3016",
        "Ieva Krūmiņa", "ieva@kalnciemaskauti.lv", language="en"),
    Ngo("valgunde", "Biedrība „Valgundes radošā darbnīca”", "biedriba", "40008069011", "LV05UNLA0050021987654",
        "darbnica@valgundesdarbnica.lv", "Skolas iela 1, Valgunde, Jelgavas nov., LV-3017", "Edgars Siliņš",
        "edgars@valgundesdarbnica.lv"),
    Ngo("svete", "Biedrība „Svētes sporta un brīvā laika klubs”", "biedriba", "40008070006",
        "LV36PARX0023456780002", "klubs@svetesklubs.lv", "Ausekļa iela 5, Svēte, Jelgavas nov., LV-3008",
        "Dace Vītola", "dace@svetesklubs.lv"),
)


@dataclass
class People:
    admin: User
    admin2: User
    auditor: User
    evaluators: list[User]
    members: dict[str, User]  # NGO key -> its member


def logins() -> list[tuple[str, str, str]]:
    return [(s.role, s.email, PASSWORD) for s in STAFF] + [("applicant", n.member_email, PASSWORD) for n in NGOS]


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _people() -> People:
    """Find or create every demo person: staff as of February 2022, NGOs registering one by one."""
    for staff in STAFF:
        if _user(staff.email) is None:
            clock.travel_to(_riga(2022, 2, 14, 9))
            accounts.create_staff_user(email=staff.email, name=staff.name, role=staff.role, password=PASSWORD,
                                       organisers=(ORGANISER,) if staff.organiser else (),
                                       programme_level=staff.programme_level, language=staff.language)
    for day, ngo in enumerate(NGOS, start=14):
        if _user(ngo.member_email) is None:
            clock.travel_to(_riga(2022, 2, day, 11, 20))
            organisations.register(organisation_name=ngo.name, registration_number=ngo.registration_number,
                                   legal_form=ngo.legal_form, iban=ngo.iban, organisation_email=ngo.email,
                                   address=ngo.address, user_name=ngo.member, email=ngo.member_email,
                                   password=PASSWORD, language=ngo.language)
    db.session.commit()
    staff = {s.email: _user(s.email) for s in STAFF}
    return People(admin=staff["admin@jelgava.lv"], admin2=staff["admin2@jelgava.lv"],
                  auditor=staff["auditors@ikvd.gov.lv"],
                  evaluators=[staff[f"vertetajs{i}@eksperti.lv"] for i in (1, 2, 3)],
                  members={n.key: _user(n.member_email) for n in NGOS})


# --- the competition's definition ---------------------------------------------------------------------------

# code, title LV, title EN, minimum (half points), what a good score saw, what a weak score missed
CRITERIA = (
    ("1.1", "Projekta atbilstība konkursa mērķim un mērķa grupas vajadzībām",
     "Relevance to the aim of the call and to the needs of the target group", None,
     "vajadzības pamatotas ar skolas datiem par kavējumiem", "vajadzības aprakstītas vispārīgi, bez datiem"),
    ("1.2", "Mērķa grupas raksturojums un tās iesaistes pamatojums",
     "Description of the target group and the reasons for involving it", None,
     "skaidri aprakstīts, kā jaunieši tiks uzrunāti kopā ar skolu", "nav skaidrs, kā tiks sasniegti riska jaunieši"),
    ("2.1", "Projekta mērķa un uzdevumu skaidrība un sasniedzamība",
     "Clarity and feasibility of the project's aim and tasks", None,
     "mērķis konkrēts un sasniedzams projekta laikā", "uzdevumi pārāk plaši projekta apjomam"),
    ("2.2", "Jauniešu iesaiste projekta plānošanā un īstenošanā (jauniešu iniciatīva)",
     "Young people's part in planning and running the project (a youth initiative)", 6,
     "jaunieši paši plāno un vada aktivitātes", "jaunieši ir tikai dalībnieki, ne iniciatori"),
    ("2.3", "Aktivitāšu plāna un laika grafika loģiskums",
     "Logic of the activity plan and the timetable", None,
     "aktivitātes secīgas, laika grafiks reāls", "grafiks saspiests vasaras mēnešos"),
    ("2.4.1", "Aktivitāšu ietekme uz mācību motivāciju un priekšlaicīgas mācību pārtraukšanas riska mazināšanu",
     "Effect of the activities on learning motivation and on reducing the risk of early school leaving", 6,
     "saikne ar mācību motivāciju skaidri pamatota", "nav parādīta saikne ar mācībām un skolas apmeklējumu"),
    ("2.4.2", "Sadarbība ar izglītības iestādēm, vecākiem un sociālajiem partneriem",
     "Cooperation with schools, parents and social partners", None,
     "sadarbība ar skolu un sociālo dienestu apliecināta", "sadarbības partneri tikai nosaukti"),
    ("2.4.3", "Rezultātu izmērāmība un ilgtspēja pēc projekta beigām",
     "Measurable results and their sustainability after the project", 6,
     "rādītāji izmērāmi, turpinājums pēc projekta paredzēts", "rezultāti nav izmērāmi"),
    ("3.1", "Īstenotāju kapacitāte un pieredze darbā ar jauniešiem",
     "Capacity and experience of the team in youth work", None,
     "komandai ir pieredze darbā ar jauniešiem", "komandas pieredze nav aprakstīta"),
    ("3.2", "Publicitāte un rezultātu izplatīšana",
     "Publicity and dissemination of the results", None,
     "publicitātes plāns konkrēts, ar jauniešu pašu kanāliem", "publicitāte tikai biedrības mājaslapā"),
)
ANCHORS = {"0": "neatbilst / fails", "4": "vāji / weak", "6": "atbilst / adequate", "8": "labi / good",
           "10": "izcili / excellent"}
CHECKS = (
    ("A1", "Iesniegts termiņā", "Submitted on time", "on_time"),
    ("A2", "Iesniedzēja reģistrācijas numurs ir derīgs", "The applicant's registration number is valid",
     "registration_number"),
    ("A3", "Atbilstošs iesniedzējs (biedrība, nodibinājums vai jaunatnes organizācija)",
     "Eligible applicant (association, foundation or youth organisation)", None),
    ("A4", "Pieprasītā summa atbilst vienreizējam maksājumam (4 600,00 €)",
     "The amount requested equals the lump sum (€4,600.00)", "amount"),
    ("E4", "Projektā iesaistīti vismaz 12 dalībnieki", "At least 12 participants take part", None),
)
TITLE_LV = "Priekšlaicīgas mācību pārtraukšanas riska jauniešu iesaiste jaunatnes iniciatīvu projektos {year}"
TITLE_EN = "Involving young people at risk of early school leaving in youth initiative projects {year}"
DESCRIPTION_LV = (
    "Konkurss jaunatnes organizācijām un biedrībām Jelgavas novadā projekta Nr. 8.3.4.0/16/I/001 „Atbalsts "
    "priekšlaicīgas mācību pārtraukšanas samazināšanai” (PuMPuRS) ietvaros. Atbalsta jauniešu pašu iniciatīvas, "
    "kas iesaista 13–25 gadus vecus jauniešus ar priekšlaicīgas mācību pārtraukšanas risku. Katram projektam "
    "vienreizējs maksājums 4 600,00 €.")
DESCRIPTION_EN = (
    "A call for youth organisations and associations in Jelgava municipality within project No. "
    "8.3.4.0/16/I/001 “Support for reducing early school leaving” (PuMPuRS). It funds initiatives of young people "
    "themselves that involve 13–25 year olds at risk of early school leaving. Each project receives a lump sum of "
    "€4,600.00.")


def _define_call(admin: User, *, code: str, title_suffix: tuple[str, str], year: int, projects: int,
                 opens_at: datetime, closes_at: datetime, decision_on: date, implementation: tuple[date, date],
                 reports: tuple[date, date], retention_until: date) -> Call:
    """Create the call with its ten criteria and five checks, as the admin does on the set-up page."""
    organiser_id = admin.organisers[0].id
    call = calls.create(
        organiser_id, admin, code=code, number_prefix=code,
        title_lv=TITLE_LV.format(year=year) + title_suffix[0], title_en=TITLE_EN.format(year=year) + title_suffix[1],
        description_lv=DESCRIPTION_LV, description_en=DESCRIPTION_EN, funder=FUNDER, programme=PROGRAMME,
        funding_mode="lump_sum", amount_cents=LUMP_SUM, budget_cents=projects * LUMP_SUM,
        opens_at=opens_at, closes_at=closes_at, decision_on=decision_on,
        implementation_start=implementation[0], implementation_end=implementation[1],
        retention_until=retention_until, pass_mark_half_points=60,
        tie_break_keys=["2.2", "2.4.3", "submitted_at"],
        report_schedule=[{"kind": "interim", "due_on": reports[0].isoformat()},
                         {"kind": "final", "due_on": reports[1].isoformat()}],
        payment_tranches=[{"percent": 80, "on": "sign"}, {"percent": 20, "on": "final_report_approved"}],
    )
    for criterion_code, title_lv, title_en, minimum, _good, _weak in CRITERIA:
        calls.add_criterion(call, code=criterion_code, title_lv=title_lv, title_en=title_en, max_half_points=10,
                            step_half_points=1, min_half_points=minimum, anchors=ANCHORS)
    for check_code, title_lv, title_en, automatic in CHECKS:
        calls.add_check(call, code=check_code, title_lv=title_lv, title_en=title_en, automatic=automatic)
    db.session.flush()
    return call


# --- projects -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Project:
    title: str
    summary: str
    activities: str
    participants: int
    at_risk: int
    objectives: str = ""
    target_group: str = ""


PROJECTS_2022 = {
    "jauniesi": Project(
        "Skolas solā un ārpus tā: jauniešu mentoru programma",
        "7.–9. klašu jaunieši kopā ar vidusskolēniem mentoriem 20 nedēļās plāno un īsteno trīs pašu izvēlētas "
        "iniciatīvas — podkāstu, skolas pasākumu un skolēnu mācību uzņēmumu.",
        "Iepazīšanās nometne; iknedēļas mentoru tikšanās; podkāsta „Starpbrīdis” 6 epizodes; skolas pasākums "
        "vecākiem; mācību uzņēmuma tirdziņš.", 18, 12,
        "Stiprināt jauniešu piederību skolai un mācību motivāciju ar vienaudžu atbalstu.",
        "Jelgavas 4. un 5. vidusskolas 7.–9. klašu skolēni ar PuMPuRS riska kartē atzīmētu risku."),
    "zemgale": Project(
        "Mūzikas darbnīca „Skaņu pagrabs”",
        "Jaunieši iekārto mēģinājumu telpu, mācās spēlēt instrumentus un ierakstīt mūziku, un projekta beigās "
        "sarīko koncertu.",
        "Telpas iekārtošana kopā ar jauniešiem; 24 nodarbības ar mūziķi; ierakstu sesija; noslēguma koncerts.",
        15, 9, "Dot jauniešiem vietu un iemeslu pēc stundām palikt kopā ar vienaudžiem un pieaugušo mentoru.",
        "Jelgavas jaunieši 14–18 gadu vecumā, ko uzrunā skolu sociālie pedagogi."),
    "ozolnieki": Project(
        "Zaļā darbnīca: jaunieši atjauno Ozolnieku parka estrādi",
        "Jaunieši paši plāno un ar amatnieku palīdzību atjauno parka estrādi, mācoties galdniecības un projektu "
        "vadības prasmes, ko sasaista ar tehnoloģiju un matemātikas stundām.",
        "Jauniešu plānošanas sanāksmes; 10 darbnīcas ar galdnieku; tāmes sastādīšana matemātikas stundā; "
        "estrādes atklāšanas pasākums.", 16, 10,
        "Parādīt, ka skolā apgūtais noder praksē, un stiprināt jauniešu pašapziņu.",
        "Ozolnieku vidusskolas 8.–10. klašu jaunieši, īpaši tie, kam ir mācību parādi."),
    "eleja": Project(
        "Elejas jauniešu radio",
        "Jaunieši veido interneta radio raidījumus par savu pagastu, intervē skolotājus un uzņēmējus, un mācās "
        "runāt publiski.",
        "Raidījumu veidošanas apmācības; 12 raidījumi; intervijas ar vietējiem uzņēmējiem; sadarbība ar skolas "
        "latviešu valodas skolotāju.", 14, 9,
        "Attīstīt jauniešu valodas un saziņas prasmes un saikni ar skolu.",
        "Elejas vidusskolas jaunieši 13–17 gadu vecumā."),
    "skauti": Project(
        "Pārgājienu skola: orientēšanās, pirmā palīdzība un komandas darbs",
        "Skautu vadīti jaunieši plāno un īsteno četrus pārgājienus, apgūstot orientēšanos, pirmo palīdzību un "
        "komandas darbu.",
        "Četri pārgājieni; pirmās palīdzības kurss; orientēšanās sacensības, ko organizē paši jaunieši.", 20, 11,
        "Stiprināt jauniešu pašdisciplīnu un atbildību, kas noder arī mācībās.",
        "Kalnciema vidusskolas jaunieši 12–16 gadu vecumā."),
    "valgunde": Project(
        "Digitālā stāstniecība: mana Valgunde video",
        "Jaunieši filmē un montē īsfilmas par savu pagastu un to cilvēkiem, un rīko filmu vakaru.",
        "Video apmācības; filmēšanas ekspedīcijas; montāžas darbnīcas; filmu vakars kultūras namā.", 24, 14,
        "Attīstīt jauniešu digitālās prasmes un radošumu.",
        "Valgundes pagasta jaunieši 13–19 gadu vecumā."),
    "svete": Project(
        "Ielu basketbola vakari Svētē",
        "Jaunieši rīko iknedēļas ielu basketbola vakarus un nelielu turnīru pagasta jauniešiem.",
        "Iknedēļas treniņi; turnīrs; sadarbība ar pagasta pārvaldi.", 10, 6,
        "Dot jauniešiem drošu brīvā laika pavadīšanas vietu.", "Svētes pagasta jaunieši."),
}

PROJECTS_SECOND_ROUND = {
    "jauniesi": Project(
        "Karjeras kompass: jaunieši iepazīst profesijas Jelgavas novadā",
        "Jaunieši paši izvēlas un apmeklē desmit darba vietas, intervē darbiniekus un veido karjeras karti "
        "saviem vienaudžiem.",
        "Darba vietu izvēle kopā ar karjeras konsultantu; 10 ēnošanas dienas; karjeras kartes izstrāde; "
        "prezentācija skolā.", 16, 10),
    "ozolnieki": Project(
        "Jauniešu kafejnīca „Starpbrīdis”",
        "Jaunieši vada nelielu kafejnīcu skolas starpbrīžos, mācoties plānot iepirkumus, skaitīt naudu un "
        "strādāt komandā.",
        "Mācību uzņēmuma reģistrēšana; ēdienkartes plānošana; maiņu grafiks; ienākumu un izdevumu uzskaite.",
        14, 8),
    "skauti": Project(
        "Ziemas nometne „Izdzīvot kopā”",
        "Skautu vienības jaunieši plāno un vada trīs dienu ziemas nometni vienaudžiem, kam draud mācību "
        "pārtraukšana.", "Nometnes plānošana; trīs dienu nometne; atkalredzēšanās pasākums pēc mēneša.", 18, 12),
    "svete": Project(
        "Sporta līderu skola",
        "Jaunieši apgūst trenera palīga prasmes un paši vada sporta nodarbības jaunākajiem skolēniem.",
        "Sporta līderu apmācības; 20 nodarbības jaunākajiem; sporta diena pagastā.", 14, 8),
}

PROJECTS_OPEN = {
    "zemgale": Project(
        "Podkāstu studija „Dzirdi mani”",
        "Jaunieši izveido podkāstu studiju un sarunās ar vienaudžiem runā par mācībām, stresu un nākotni.",
        "Studijas iekārtošana; 8 podkāsta epizodes; saruna ar skolas psihologu; noslēguma tiešraide.", 15, 9),
    "valgunde": Project(
        "Foto orientēšanās pa Valgundes pagastu",
        "Jaunieši izveido foto orientēšanās trasi ar uzdevumiem par pagasta vēsturi un dabu.",
        "Trases izveide; uzdevumu sagatavošana kopā ar vēstures skolotāju; trīs orientēšanās dienas.", 20, 11),
    "eleja": Project("Elejas pils parka stāsti", "Jaunieši vāc un ieraksta stāstus par Elejas pils parku.", "", 0, 0),
    "jauniesi": Project("Vasaras skola „Atpakaļ skolā”", "", "", 0, 0),
    "svete": Project("Svētes jauniešu dārzs",
                     "Jaunieši iekopj kopienas dārzu un mācās par pārtiku un uzņēmējdarbību.",
                     "Dobju iekārtošana; ražas tirdziņš.", 12, 0),
}


# --- steps: each one as the person who takes it, at the moment it happened ----------------------------------

def _riga(year, month, day, hour=0, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=RIGA)


def _on(day: date, hour=0, minute=0) -> datetime:
    return _riga(day.year, day.month, day.day, hour, minute)


def _clock_moves(call: Call, moment: datetime) -> None:
    """What `tick` does for one call at `moment`: persist the due clock moves (open, close) as the system."""
    clock.travel_to(moment)
    lock(call)
    catch_up(call)


def _content(project: Project, call: Call) -> dict:
    return {"summary": project.summary, "objectives": project.objectives, "activities": project.activities,
            "target_group": project.target_group, "participants": project.participants or None,
            "participants_at_risk": project.at_risk if project.participants else None,
            "start_on": call.implementation_start.isoformat(), "end_on": call.implementation_end.isoformat(),
            "declared_conflicts": ""}


def _draft(call: Call, member: User, project: Project, at: datetime, complete: bool = True) -> Application:
    clock.travel_to(at)
    application = applications.create_draft(call, member)
    content = _content(project, call) if complete else {"summary": project.summary}
    applications.save_draft(application, member, title=project.title, content=content,
                            amount_cents=application.amount_cents, declarations_accepted=complete,
                            version=application.version)
    return application


def _send(application: Application, at: datetime) -> None:
    clock.travel_to(at)
    applications.submit(application, application.organisation.members[0])


def _record_checks(application: Application, admin: User, at: datetime, failed: dict[str, str] | None = None):
    """The admin confirms the system's pre-filled checks and answers the others; `failed` maps code → reason."""
    clock.travel_to(at)
    suggested = applications.suggested_checks(application)
    failed = failed or {}
    results = {check.id: (check.code not in failed and suggested.get(check.automatic, True),
                          failed.get(check.code, "")) for check in application.call.checks}
    applications.record_checks(application, admin, results)


def _comment(criterion_code: str, half_points: int) -> str:
    _code, _lv, _en, _minimum, good, weak = next(c for c in CRITERIA if c[0] == criterion_code)
    level = ("neatbilst", "neatbilst", "vāji", "vāji", "vāji", "vāji", "pietiekami", "pietiekami", "labi", "labi",
             "izcili")[half_points]
    return f"{level.capitalize()}: {good if half_points >= 6 else weak}."


def _declare_and_score(assignment: Assignment, half_points: list[int], at: datetime, scored: int = 10) -> None:
    """The evaluator declares no conflict, then scores the first `scored` criteria, each with a comment."""
    evaluator = assignment.evaluator
    clock.travel_to(at)
    fire(assignment, "declare_no_conflict", evaluator)
    criteria = assignment.application.call.criteria
    evaluation.save_scores(assignment, evaluator, {
        c.id: (points, _comment(c.code, points)) for c, points in list(zip(criteria, half_points))[:scored]})


def _submit_review(assignment: Assignment, at: datetime) -> None:
    clock.travel_to(at)
    fire(assignment, "submit_review", assignment.evaluator)


def _assign(application: Application, evaluators: list[User], admin: User, at: datetime) -> list[Assignment]:
    clock.travel_to(at)
    return [evaluation.assign(application, evaluator, admin) for evaluator in evaluators]


def _payments(application: Application) -> list[Payment]:
    return db.session.scalars(select(Payment).where(Payment.application_id == application.id)
                              .order_by(Payment.tranche)).all()


def _pay(payment: Payment, admin: User, at: datetime, reference: str) -> None:
    clock.travel_to(at)
    fire(payment, "pay", admin, bank_reference=reference, paid_on=clock.to_riga(at).date())


def _report(application: Application, kind: str) -> Report:
    return db.session.scalar(select(Report).where(Report.application_id == application.id, Report.kind == kind))


def _submit_report(application: Application, kind: str, content: dict, at: datetime) -> Report:
    member = application.organisation.members[0]
    report = _report(application, kind)
    clock.travel_to(at)
    reporting.save(report, member, content, report.version)
    reporting.submit(report, member)
    return report


# --- 1. the 2022 competition, completed ---------------------------------------------------------------------

# Half points per criterion (1.1 … 3.2) of the two reviews of each application, and the ranking they make:
# jauniesi 89 (44,5 points) and zemgale 82,5 lead; ozolnieki and eleja tie at 80 and 2.2 decides (9 against 8),
# so eleja is the first reserve; skauti (68) the second; valgunde totals 83,5 but fails the minimum on 2.4.1
# (mean 4,5 < 6) and is rejected. No pair of reviews diverges.
SCORES_2022 = {
    "jauniesi": ([9, 9, 10, 9, 8, 9, 8, 9, 9, 10], [9, 8, 9, 10, 9, 8, 9, 9, 8, 9]),
    "zemgale": ([8, 8, 9, 8, 8, 9, 7, 8, 8, 9], [9, 8, 8, 9, 8, 8, 8, 8, 9, 8]),
    "ozolnieki": ([8, 8, 8, 9, 8, 8, 8, 8, 7, 8], [8, 7, 8, 9, 8, 8, 8, 9, 8, 7]),
    "eleja": ([9, 8, 8, 8, 8, 8, 8, 8, 8, 7], [8, 8, 9, 8, 8, 8, 8, 8, 8, 7]),
    "skauti": ([7, 7, 7, 7, 7, 7, 6, 7, 7, 7], [7, 6, 7, 7, 6, 7, 7, 7, 6, 7]),
    "valgunde": ([9, 9, 9, 8, 9, 4, 9, 8, 9, 9], [10, 9, 9, 8, 9, 5, 8, 8, 9, 9]),
}
# Who reviews what (evaluator numbers 1–3): four reviews each.
PANELS_2022 = {"jauniesi": (1, 2), "zemgale": (2, 3), "ozolnieki": (1, 3), "eleja": (1, 2), "skauti": (2, 3),
               "valgunde": (1, 3)}


def _competition_2022(people: People) -> Call:
    admin = people.admin
    clock.travel_to(_riga(2022, 2, 21, 10))
    call = _define_call(admin, code="PMP-2022", title_suffix=("", ""), year=2022, projects=3,
                        opens_at=_riga(2022, 3, 1), closes_at=_riga(2022, 4, 5), decision_on=date(2022, 5, 6),
                        implementation=(date(2022, 6, 1), date(2022, 11, 30)),
                        reports=(date(2022, 8, 15), date(2022, 12, 14)), retention_until=date(2028, 12, 31))
    clock.travel_to(_riga(2022, 2, 25, 14))
    calls.announce(call, admin)
    _clock_moves(call, call.opens_at)
    submitted = _applications_2022(call, people)
    _clock_moves(call, call.closes_at)
    _checks_2022(submitted, people)
    _evaluation_2022(call, submitted, people)
    _decisions_2022(call, submitted, people)
    _grants_2022(call, submitted, people)
    return call


def _applications_2022(call: Call, people: People) -> dict[str, Application]:
    """Seven NGOs draft in early March and submit over four weeks, the last one eight minutes before the
    deadline (stored as 05.04.2022 00:00, shown as "līdz 04.04.2022. plkst. 23:59")."""
    drafts = {key: _draft(call, people.members[key], PROJECTS_2022[key], _riga(2022, 3, day, 9 + day % 10))
              for day, key in enumerate(("svete", "jauniesi", "valgunde", "ozolnieki", "zemgale", "eleja", "skauti"),
                                        start=2)}
    for key, sent in (("svete", (3, 18, 11, 20)), ("jauniesi", (3, 24, 16, 5)), ("valgunde", (3, 29, 10, 40)),
                      ("ozolnieki", (3, 31, 13, 15)), ("zemgale", (4, 1, 9, 30)), ("eleja", (4, 4, 21, 47)),
                      ("skauti", (4, 4, 23, 52))):
        _send(drafts[key], _riga(2022, *sent))
    return drafts


def _checks_2022(submitted: dict[str, Application], people: People) -> None:
    """Five pass; one fails E4 with its reason; one is eligible after a clarification."""
    admin, zemgale = people.admin, submitted["zemgale"]
    for hour, key in enumerate(("jauniesi", "valgunde", "ozolnieki", "eleja", "skauti"), start=10):
        _record_checks(submitted[key], admin, _riga(2022, 4, 6, hour))
    _record_checks(submitted["svete"], admin, _riga(2022, 4, 6, 15, 30), failed={
        "E4": "Projektā plānoti 10 dalībnieki; nolikums prasa vismaz 12 (nolikuma 4. punkts)."})
    clock.travel_to(_riga(2022, 4, 6, 16))
    applications.request_clarification(
        zemgale, admin, "Lūdzu precizējiet, cik no 15 dalībniekiem ir jaunieši ar priekšlaicīgas mācību "
                        "pārtraukšanas risku un kā tos atlasīsiet kopā ar skolām.",
        answer_due_at=_riga(2022, 4, 12))
    clock.travel_to(_riga(2022, 4, 8, 15, 20))
    applications.clarify(zemgale, people.members["zemgale"],
                         "Deviņi no 15 dalībniekiem ir PuMPuRS riska kartē; tos uzrunās Jelgavas 4. un 6. "
                         "vidusskolas sociālie pedagogi, ar kuriem noslēgts sadarbības līgums (pielikumā).")
    _record_checks(zemgale, admin, _riga(2022, 4, 11, 9, 30))


def _evaluation_2022(call: Call, submitted: dict[str, Application], people: People) -> None:
    """Two evaluators per application, then the ranking confirmed and published on the decision day."""
    admin, evaluators = people.admin, people.evaluators
    clock.travel_to(_riga(2022, 4, 12, 10))
    fire(call, "start_evaluation", admin)
    panels = {key: _assign(submitted[key], [evaluators[i - 1] for i in panel], admin, _riga(2022, 4, 12, 10, 15))
              for key, panel in PANELS_2022.items()}
    for day, key in enumerate(panels, start=13):
        for hour, assignment, scores in zip((10, 14), panels[key], SCORES_2022[key]):
            _declare_and_score(assignment, scores, _riga(2022, 4, day, hour))
    for day, key in enumerate(panels, start=19):
        for hour, assignment in zip((11, 16), panels[key]):
            _submit_review(assignment, _riga(2022, 4, day, hour))
    clock.travel_to(_riga(2022, 4, 28, 10))
    fire(call, "finish_evaluation", admin)
    clock.travel_to(_riga(2022, 4, 29, 15))
    fire(call, "confirm_ranking", admin)
    clock.travel_to(_riga(2022, 5, 6, 10))
    fire(call, "publish_results", admin)


def _decisions_2022(call: Call, submitted: dict[str, Application], people: People) -> None:
    """Offers accepted; one funded NGO declines and the next on the reserve list is promoted; an appeal is
    dismissed by the second admin."""
    members = people.members
    for day, key in ((9, "jauniesi"), (10, "ozolnieki")):
        clock.travel_to(_riga(2022, 5, day, 11))
        fire(submitted[key], "accept_offer", members[key])
    clock.travel_to(_riga(2022, 5, 11, 9, 40))
    fire(submitted["zemgale"], "decline", members["zemgale"],
         "Projekta vadītājs pārtrauc darbu biedrībā; valde nolēma finansējumu nepieņemt.")
    clock.travel_to(_riga(2022, 5, 12, 10))
    fire(submitted["eleja"], "promote", people.admin,
         f"Finansējums atbrīvots, jo {submitted['zemgale'].number} atteicās; nākamais rezerves sarakstā.")
    clock.travel_to(_riga(2022, 5, 13, 12))
    fire(submitted["valgunde"], "appeal", members["valgunde"],
         "Lūdzam pārskatīt 2.4.1. kritērija vērtējumu: pieteikuma 3. sadaļā aprakstīta sadarbība ar skolu "
         "mācību motivācijas veicināšanai.", grounds="factual_error")
    clock.travel_to(_riga(2022, 5, 16, 13, 5))
    fire(submitted["eleja"], "accept_offer", members["eleja"])
    clock.travel_to(_riga(2022, 5, 17, 14))
    fire(submitted["valgunde"], "dismiss_appeal", people.admin2,
         "Komisija pārskatīja vērtējumu: sadarbība ar skolu aprakstīta, bet nav parādīts, kā aktivitātes "
         "mazinās mācību pārtraukšanas risku. Vērtējums paliek spēkā.")


def _grants_2022(call: Call, submitted: dict[str, Application], people: People) -> None:
    """Agreements signed, tranches paid, reports approved, every grant closed, the call completed."""
    admin = people.admin
    grants = [submitted[key] for key in ("jauniesi", "ozolnieki", "eleja")]
    for day, application in zip((18, 18, 20), grants):
        clock.travel_to(_riga(2022, 5, day, 15))
        fire(application, "sign", admin)
    for number, (day, application) in enumerate(zip((25, 25, 27), grants), start=1):
        _pay(_payments(application)[0], admin, _riga(2022, 5, day, 11), f"JNP/2022/05/{day}-{number:03d}")
    clock.travel_to(_riga(2022, 6, 1, 9))
    fire(call, "start_reporting", admin)
    _reports_2022(grants, admin)
    for number, application in enumerate(grants, start=4):
        _pay(_payments(application)[1], admin, _riga(2022, 12, 28, 10), f"JNP/2022/12/28-{number:03d}")
    for day, application in zip((9, 9, 10), grants):
        clock.travel_to(_riga(2023, 1, day, 11))
        fire(application, "close_grant", admin)
    clock.travel_to(_riga(2023, 1, 16, 10))
    fire(call, "complete", admin)


def _reports_2022(grants: list[Application], admin: User) -> None:
    """Interim reports in August, final reports in December; one final report goes back for a correction."""
    for offset, application in enumerate(grants):
        _submit_report(application, "interim", _report_content(application, final=False),
                       _riga(2022, 8, 8 + offset, 16))
    for offset, application in enumerate(grants):
        clock.travel_to(_riga(2022, 8, 22, 10 + offset))
        fire(_report(application, "interim"), "approve", admin)
    for offset, application in enumerate(grants):
        _submit_report(application, "final", _report_content(application, final=True),
                       _riga(2022, 12, 5 + 2 * offset, 14))
    corrected = _report(grants[1], "final")
    clock.travel_to(_riga(2022, 12, 15, 10))
    fire(corrected, "request_changes", admin,
         "Lūdzu pievienojiet saites uz publikācijām un precizējiet riska jauniešu skaitu.")
    member = grants[1].organisation.members[0]
    clock.travel_to(_riga(2022, 12, 19, 12))
    reporting.save(corrected, member, corrected.content | {
        "participants_at_risk": corrected.content["participants_at_risk"] - 1,
        "results": corrected.content["results"] + " Publikācijas: ozolnieki.lv (12.09. un 28.11.), biedrības "
                                                  "Facebook lapa."}, corrected.version)
    reporting.submit(corrected, member)
    for offset, application in enumerate(grants):
        clock.travel_to(_riga(2022, 12, 20, 10 + offset))
        fire(_report(application, "final"), "approve", admin)


def _report_content(application: Application, final: bool) -> dict:
    planned, at_risk = application.content["participants"], application.content["participants_at_risk"]
    if not final:
        return {"activities": "Notikušas ievada aktivitātes un pirmās nodarbības; jaunieši paši sagatavoja "
                              "darba plānu rudenim.",
                "participants": planned - 2, "participants_at_risk": at_risk - 1,
                "results": "Darba plāns izpildīts par 40 %; divi dalībnieki pievienosies septembrī."}
    return {"activities": "Īstenotas visas pieteikumā plānotās aktivitātes un noslēguma pasākums ar vecākiem un "
                          "skolotājiem.",
            "participants": planned, "participants_at_risk": at_risk,
            "results": "Rezultāti sasniegti; 80 % dalībnieku aptaujā norāda, ka labprātāk apmeklē skolu."}


# --- 3. the second round: closed last week, in evaluation ---------------------------------------------------

# Half points of the two first reviews of each application in the second round.
SCORES_SECOND_ROUND = {
    "jauniesi": ([9, 8, 9, 9, 8, 8, 8, 9, 9, 8], [8, 8, 9, 8, 8, 9, 7, 8, 9, 8]),
    # 84 against 52 half points: more than 30 % apart, and one passes while the other fails.
    "ozolnieki": ([9, 8, 9, 9, 8, 8, 8, 9, 8, 8], [6, 5, 6, 4, 5, 6, 5, 5, 5, 5]),
    "skauti": ([7, 8, 7, 8, 7, 7, 7, 8, 8, 7], [8, 7, 7, 8, 7, 8, 7, 7, 7, 7]),
    "svete": ([7, 7, 8, 7, 7, 7, 6, 7, 8, 7], [8, 7, 7, 7, 7, 7, 7, 7, 7, 7]),
}


def _second_round(people: People, today: date, year: int) -> Call:
    admin = people.admin
    closes = today - timedelta(days=7)
    opens = closes - timedelta(days=38)
    clock.travel_to(_on(today - timedelta(days=50), 10))
    call = _define_call(admin, code=f"PMP-{year}-R", title_suffix=(" (2. kārta)", " (second round)"), year=year,
                        projects=2, opens_at=clock.riga_midnight(opens), closes_at=clock.riga_midnight(closes),
                        decision_on=today + timedelta(days=14),
                        implementation=(today + timedelta(days=35), today + timedelta(days=35 + 182)),
                        reports=(today + timedelta(days=35 + 90), today + timedelta(days=35 + 196)),
                        retention_until=date(year + 6, 12, 31))
    clock.travel_to(_on(today - timedelta(days=48), 11))
    calls.announce(call, admin)
    _clock_moves(call, call.opens_at)
    drafts = {key: _draft(call, people.members[key], PROJECTS_SECOND_ROUND[key], _on(opens + timedelta(days=n), 18))
              for n, key in enumerate(SCORES_SECOND_ROUND, start=1)}
    for (days_before, hour, minute), application in zip(((30, 13, 40), (21, 9, 15), (14, 16, 5), (8, 22, 30)),
                                                        drafts.values()):
        _send(application, _on(closes - timedelta(days=days_before), hour, minute))
    _clock_moves(call, call.closes_at)
    for hour, application in enumerate(drafts.values(), start=9):
        _record_checks(application, admin, _on(today - timedelta(days=6), hour))
    clock.travel_to(_on(today - timedelta(days=4), 10))
    fire(call, "start_evaluation", admin)
    _reviews_second_round(drafts, people, today)
    return call


def _reviews_second_round(submitted: dict[str, Application], people: People, today: date) -> None:
    """Reviews partly done: one application complete; one divergent, for which the engine assigns a third
    evaluator; one half scored; one where an evaluator recused and the engine assigned a replacement."""
    e1, e2, e3 = people.evaluators
    scores = SCORES_SECOND_ROUND

    def day(days_ago: int, hour: int) -> datetime:
        return _on(today - timedelta(days=days_ago), hour)

    complete = _assign(submitted["jauniesi"], [e1, e2], people.admin, day(4, 10))
    divergent = _assign(submitted["ozolnieki"], [e2, e3], people.admin, day(4, 10))
    partial = _assign(submitted["skauti"], [e1, e3], people.admin, day(4, 11))
    recused = _assign(submitted["svete"], [e1, e2], people.admin, day(4, 11))
    _declare_and_score(complete[0], scores["jauniesi"][0], day(3, 9))
    _declare_and_score(complete[1], scores["jauniesi"][1], day(3, 10))
    _declare_and_score(partial[0], scores["skauti"][0], day(3, 11))
    clock.travel_to(day(3, 13))
    fire(recused[1], "recuse", e2, "Esmu šīs biedrības valdes locekļa tuvs radinieks.")
    _declare_and_score(recused[0], scores["svete"][0], day(2, 9), scored=0)
    _declare_and_score(partial[1], scores["skauti"][1], day(2, 10), scored=6)
    _declare_and_score(divergent[0], scores["ozolnieki"][0], day(2, 11))
    _declare_and_score(divergent[1], scores["ozolnieki"][1], day(2, 14))
    _submit_review(complete[0], day(2, 16))
    _submit_review(complete[1], day(2, 17))
    _submit_review(divergent[0], day(1, 11))
    _submit_review(partial[0], day(1, 15))
    _submit_review(divergent[1], day(1, 17))  # 84 against 52: flagged, a third evaluator assigned


# --- 2. this year's competition, open now -------------------------------------------------------------------

def _open_call(people: People, today: date, year: int) -> Call:
    admin = people.admin
    opens, last_day = today - timedelta(days=10), today + timedelta(days=20)
    decision = last_day + timedelta(days=31)
    clock.travel_to(_on(today - timedelta(days=14), 10))
    call = _define_call(admin, code=f"PMP-{year}", title_suffix=("", ""), year=year, projects=3,
                        opens_at=clock.riga_midnight(opens),
                        closes_at=clock.riga_midnight(last_day + timedelta(days=1)),  # "līdz <last_day> 23:59"
                        decision_on=decision,
                        implementation=(decision + timedelta(days=26), decision + timedelta(days=26 + 182)),
                        reports=(decision + timedelta(days=26 + 75), decision + timedelta(days=26 + 196)),
                        retention_until=date(year + 7, 12, 31))
    clock.travel_to(_on(today - timedelta(days=12), 14))
    calls.announce(call, admin)
    _clock_moves(call, call.opens_at)
    members = people.members

    def ago(days: int, hour: int) -> datetime:
        return _on(today - timedelta(days=days), hour)

    podcast = _draft(call, members["zemgale"], PROJECTS_OPEN["zemgale"], ago(9, 18))
    orienteering = _draft(call, members["valgunde"], PROJECTS_OPEN["valgunde"], ago(8, 20))
    _send(podcast, ago(6, 11))
    _draft(call, members["eleja"], PROJECTS_OPEN["eleja"], ago(5, 19), complete=False)
    _draft(call, members["jauniesi"], PROJECTS_OPEN["jauniesi"], ago(3, 8), complete=False)
    _send(orienteering, ago(2, 9))
    _draft(call, members["svete"], PROJECTS_OPEN["svete"], ago(1, 21))
    return call


# --- the whole demo -----------------------------------------------------------------------------------------

def _exists(code: str) -> bool:
    return db.session.scalar(select(Call.id).where(Call.code == code)) is not None


def load_demo() -> list[tuple[str, str, str]]:
    """Load the three demo calls (each only if its code is not there yet) and return the logins."""
    today = clock.to_riga(clock.now()).date()
    year = today.year
    # The second round runs before this year's main call because it began earlier (seven weeks ago).
    scenarios = (("PMP-2022", _competition_2022),
                 (f"PMP-{year}-R", lambda people: _second_round(people, today, year)),
                 (f"PMP-{year}", lambda people: _open_call(people, today, year)))
    try:
        people = _people()
        for code, scenario in scenarios:
            if not _exists(code):
                scenario(people)
                db.session.commit()
        clock.travel_to(None)
        audit.seal_checkpoint()  # as `tick` does; nothing is sealed when nothing happened since the last seal
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        clock.travel_to(None)
    return logins()
