"""This year's budgeted call (issue 6): open now, with cost categories, a submitted application with its budget
table and a draft whose budget is being filled in, so that the budget screens have something to show.

The call is set up as an admin does it: the lump-sum competition's criteria and checks, then the settings turned
to "budgeted" (between 1 000,00 € and 8 000,00 € a project), then four cost categories, two of them capped.
"""
from __future__ import annotations

from datetime import date, timedelta

from app import clock
from app.demo.content import DESCRIPTION_EN, DESCRIPTION_LV, Project, define_call
from app.demo.people import People
from app.demo.steps import clock_moves, draft, on, send
from app.extensions import db
from app.models import Call
from app.services import budget, calls
from app.services.budget import LineInput

LUMP_SUM_LV, BUDGETED_LV = ("Katram projektam vienreizējs maksājums 4 600,00 €.",
                             "Projektam var pieprasīt no 1 000,00 € līdz 8 000,00 € pēc projekta budžeta.")
LUMP_SUM_EN, BUDGETED_EN = ("Each project receives a lump sum of €4,600.00.",
                            "A project may ask for €1,000.00 to €8,000.00, according to its budget.")
CATEGORIES = (  # label LV, label EN, at most % of the total
    ("Personāls", "Staff", None),
    ("Materiāli un aprīkojums", "Materials and equipment", None),
    ("Transports", "Transport", 20),
    ("Administrācija", "Administration", 10),
)

PROJECTS = {
    "skauti": Project(
        "Pārgājienu skola: jaunieši plāno un vada paši",
        "Jaunieši no 7.–9. klasēm ar skautu vadītājiem apgūst pārgājienu plānošanu un paši sarīko trīs "
        "pārgājienus Zemgalē savām klasēm.",
        "Astoņas nodarbības; trīs pārgājieni; noslēguma izstāde skolā.", 18, 8,
        objectives="Stiprināt piederību skolai un atbildības sajūtu.",
        target_group="13–16 gadus veci Kalnciema vidusskolas skolēni."),
    "ozolnieki": Project(
        "Ozolnieku jauniešu darbnīca „Remontē un radi”",
        "Jaunieši kopā ar meistariem atjauno vecas mēbeles un velosipēdus un nodod tos vietējām ģimenēm.",
        "Divpadsmit darbnīcas; divas atvērto durvju dienas.", 14, 7,
        objectives="Praktiskas prasmes un gandarījums par paveikto.",
        target_group="14–18 gadus veci jaunieši, kuri bieži kavē skolu."),
}

BUDGETS = {  # category (its position in CATEGORIES), description, quantity, unit cost as typed
    "skauti": [(0, "Pārgājienu vadītāji, stundas", "96", "15,00"),
               (1, "Kartes, kompasi un pirmās palīdzības komplekti", "6", "42,50"),
               (2, "Autobuss uz pārgājienu sākuma vietām", "2", "180"),
               (3, "Grāmatvedība", "1", "150,00")],
    "ozolnieki": [(0, "Meistari darbnīcās, stundas", "36", "18,00"),
                  (1, "Instrumenti un krāsas", "1", "640,00"),
                  (3, "Grāmatvedība", "1", "120")],
}


def budgeted_call(people: People, today: date, year: int) -> Call:
    admin = people.admin
    opens, last_day = today - timedelta(days=5), today + timedelta(days=30)
    decision = last_day + timedelta(days=30)
    clock.travel_to(on(today - timedelta(days=9), 10))
    call = define_call(admin, code=f"JIB-{year}", title_suffix=(": projekti ar budžetu", ": projects with a budget"),
                       year=year, projects=5, opens_at=clock.riga_midnight(opens),
                       closes_at=clock.riga_midnight(last_day + timedelta(days=1)), decision_on=decision,
                       implementation=(decision + timedelta(days=20), decision + timedelta(days=20 + 180)),
                       reports=(decision + timedelta(days=20 + 90), decision + timedelta(days=20 + 194)),
                       retention_until=date(year + 7, 12, 31))
    calls.update_draft(call, admin, {
        "funding_mode": "budgeted", "amount_cents": None, "min_amount_cents": 100_000, "max_amount_cents": 800_000,
        "budget_cents": 4_000_000,
        "description_lv": DESCRIPTION_LV.replace(LUMP_SUM_LV, BUDGETED_LV),
        "description_en": DESCRIPTION_EN.replace(LUMP_SUM_EN, BUDGETED_EN)})
    amount_check = next(c for c in call.checks if c.automatic == "amount")  # the lump sum's wording, re-worded
    amount_check.title_lv = "Pieprasītā summa ir konkursa robežās, budžets atbilst izmaksu kategoriju noteikumiem"
    amount_check.title_en = "The amount is within the call's range and the budget meets the categories' rules"
    categories = [budget.add_category(call, admin, label_lv=lv, label_en=en, cap_percent=cap)
                  for lv, en, cap in CATEGORIES]
    clock.travel_to(on(today - timedelta(days=7), 11))
    calls.announce(call, admin)
    clock_moves(call, call.opens_at)
    for key, days_ago, hour in (("skauti", 4, 19), ("ozolnieki", 2, 20)):
        application = draft(call, people.members[key], PROJECTS[key], on(today - timedelta(days=days_ago), hour))
        clock.travel_to(on(today - timedelta(days=days_ago), hour, 40))
        rows = [LineInput(categories[c].code, text, quantity, cost) for c, text, quantity, cost in BUDGETS[key]]
        db.session.flush()  # the draft's save is written first: the version the member "loaded" is its result
        budget.save(application, people.members[key], rows, application.version)
        if key == "skauti":
            send(application, on(today - timedelta(days=1), 10))
    return call
