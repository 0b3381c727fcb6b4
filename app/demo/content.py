"""The demo calls' definition (criteria, checks, texts) and the NGOs' projects."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.demo.people import FUNDER, LUMP_SUM, PROGRAMME
from app.extensions import db
from app.models import Call, User
from app.services import (
    calls,
)

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
ANCHORS = {"0": "neatbilst", "4": "vāji", "6": "atbilst", "8": "labi", "10": "izcili"}
ANCHORS_EN = {"0": "fails", "4": "weak", "6": "adequate", "8": "good", "10": "excellent"}
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


def define_call(admin: User, *, code: str, title_suffix: tuple[str, str], year: int, projects: int,
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
                            step_half_points=1, min_half_points=minimum, anchors=ANCHORS, anchors_en=ANCHORS_EN)
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
