"""PMP-2022: the 2022 competition, replayed from the announcement to completion."""
from __future__ import annotations

from datetime import date

from app import clock
from app.demo.content import PROJECTS_2022, define_call
from app.demo.people import PASSWORD, People
from app.demo.steps import (
    PANELS_2022,
    SCORES_2022,
    assign,
    clock_moves,
    declare_and_score,
    draft,
    pay,
    payments,
    record_checks,
    report_of,
    riga,
    send,
    submit_report,
    submit_review,
)
from app.models import Application, Call, User
from app.services import (
    applications,
    calls,
    reporting,
    reviews,
)
from app.services.workflow import fire


def competition_2022(people: People) -> Call:
    admin = people.admin
    clock.travel_to(riga(2022, 2, 21, 10))
    call = define_call(admin, code="PMP-2022", title_suffix=("", ""), year=2022, projects=3,
                        opens_at=riga(2022, 3, 1), closes_at=riga(2022, 4, 5), decision_on=date(2022, 5, 6),
                        implementation=(date(2022, 6, 1), date(2022, 11, 30)),
                        reports=(date(2022, 8, 15), date(2022, 12, 14)), retention_until=date(2028, 12, 31))
    calls.update_draft(call, admin, {"show_scores_after_review": True})  # the commission compares notes
    clock.travel_to(riga(2022, 2, 25, 14))
    calls.announce(call, admin)
    clock_moves(call, call.opens_at)
    submitted = applications_2022(call, people)
    clock_moves(call, call.closes_at)
    conflicts_2022(submitted, people)
    checks_2022(submitted, people)
    evaluation_2022(call, submitted, people)
    decisions_2022(call, submitted, people)
    grants_2022(call, submitted, people)
    return call


def applications_2022(call: Call, people: People) -> dict[str, Application]:
    """Seven NGOs draft in early March and submit over four weeks, the last one eight minutes before the
    deadline (stored as 05.04.2022 00:00, shown as "līdz 04.04.2022. plkst. 23:59")."""
    drafts = {key: draft(call, people.members[key], PROJECTS_2022[key], riga(2022, 3, day, 9 + day % 10))
              for day, key in enumerate(("svete", "jauniesi", "valgunde", "ozolnieki", "zemgale", "eleja", "skauti"),
                                        start=2)}
    for key, sent in (("svete", (3, 18, 11, 20)), ("jauniesi", (3, 24, 16, 5)), ("valgunde", (3, 29, 10, 40)),
                      ("ozolnieki", (3, 31, 13, 15)), ("zemgale", (4, 1, 9, 30)), ("eleja", (4, 4, 21, 47)),
                      ("skauti", (4, 4, 23, 52))):
        send(drafts[key], riga(2022, *sent))
    return drafts


def conflicts_2022(submitted: dict[str, Application], people: People) -> None:
    """Known conflicts for the register: the youth club of Eleja takes on a volunteer from the University of Latvia
    (lu.lv), where the third evaluator works (an affiliated domain: a conflict through a member's address); the NGO
    "Jaunieši Jelgavai" names the same evaluator, with its reason, before evaluators are assigned."""
    from app.extensions import db
    from app.services import audit, conflicts, evaluators

    marta = people.evaluators[2]
    clock.travel_to(riga(2022, 4, 5, 9, 30))
    evaluators.add_affiliation(marta, people.admin, kind="domain", domain="lu.lv")
    evaluators.add_affiliation(marta, people.admin, kind="text",
                               text="Latvijas Universitātes Pedagoģijas fakultātes lektore")
    # a second member, as the invitation a member sends would make them (its link needs a request to be built)
    clock.travel_to(riga(2022, 4, 5, 18, 40))
    eleja = people.members["eleja"]
    volunteer = User(email="peteris.kalns@lu.lv", name="Pēteris Kalns", role="applicant",
                     organisation_id=eleja.organisation_id, language="lv")
    volunteer.set_password(PASSWORD)
    db.session.add(volunteer)
    db.session.flush()
    audit.record("organisation", eleja.organisation_id, "add_member", "registered", "registered", volunteer.id,
                 data={"user": volunteer.id, "invited_by": eleja.id})
    clock.travel_to(riga(2022, 4, 5, 20, 15))
    conflicts.name_conflict(submitted["jauniesi"], people.members["jauniesi"], marta.id,
                            "Vērtētāja 2021. gadā vadīja mūsu biedrības jauniešu līderu apmācības kā "
                            "algota lektore.")


def checks_2022(submitted: dict[str, Application], people: People) -> None:
    """Five pass; one fails E4 with its reason; one is eligible after a clarification."""
    admin, zemgale = people.admin, submitted["zemgale"]
    for hour, key in enumerate(("jauniesi", "valgunde", "ozolnieki", "eleja", "skauti"), start=10):
        record_checks(submitted[key], admin, riga(2022, 4, 6, hour))
    record_checks(submitted["svete"], admin, riga(2022, 4, 6, 15, 30), failed={
        "E4": "Projektā plānoti 10 dalībnieki; nolikums prasa vismaz 12 (nolikuma 4. punkts)."})
    clock.travel_to(riga(2022, 4, 6, 16))
    applications.request_clarification(
        zemgale, admin, "Lūdzu precizējiet, cik no 15 dalībniekiem ir jaunieši ar priekšlaicīgas mācību "
                        "pārtraukšanas risku un kā tos atlasīsiet kopā ar skolām.",
        answer_due_at=riga(2022, 4, 12))
    clock.travel_to(riga(2022, 4, 8, 15, 20))
    applications.clarify(zemgale, people.members["zemgale"],
                         "Deviņi no 15 dalībniekiem ir PuMPuRS riska kartē; tos uzrunās Jelgavas 4. un 6. "
                         "vidusskolas sociālie pedagogi, ar kuriem noslēgts sadarbības līgums (pielikumā).")
    record_checks(zemgale, admin, riga(2022, 4, 11, 9, 30))


# valgunde totals 83,5 but fails the minimum of 2.4.1: its evaluators say why, for the commission
CONSENSUS_NOTE_2022 = (
    "Abi vērtētāji ir vienisprātis: kritērijā 2.4.1 projekts nesasniedz minimumu (2 un 2,5 punkti no 5, "
    "vajadzīgi 3), jo aktivitāšu saikne ar mācību motivāciju nav pamatota. Tāpēc, lai gan kopsumma ir augsta, "
    "projektu atbalstīt nevar. Pārējos kritērijos vērtējumi atšķiras ne vairāk kā par 0,5 punktiem.")


def evaluation_2022(call: Call, submitted: dict[str, Application], people: People) -> None:
    """Two evaluators per application, then the ranking confirmed and published on the decision day."""
    admin, evaluators = people.admin, people.evaluators
    clock.travel_to(riga(2022, 4, 12, 10))
    fire(call, "start_evaluation", admin)
    panels = {key: assign(submitted[key], [evaluators[i - 1] for i in panel], admin, riga(2022, 4, 12, 10, 15))
              for key, panel in PANELS_2022.items()}
    for day, key in enumerate(panels, start=13):
        for hour, assignment, scores in zip((10, 14), panels[key], SCORES_2022[key]):
            declare_and_score(assignment, scores, riga(2022, 4, day, hour))
    for day, key in enumerate(panels, start=19):
        for hour, assignment in zip((11, 16), panels[key]):
            submit_review(assignment, riga(2022, 4, day, hour))
    clock.travel_to(riga(2022, 4, 27, 12))
    second = panels["valgunde"][1]
    reviews.add_consensus_note(second, second.evaluator, CONSENSUS_NOTE_2022)
    clock.travel_to(riga(2022, 4, 28, 10))
    fire(call, "finish_evaluation", admin)
    clock.travel_to(riga(2022, 4, 29, 15))
    fire(call, "confirm_ranking", admin)
    clock.travel_to(riga(2022, 5, 6, 10))
    fire(call, "publish_results", admin)


def _accept(application: Application, member: User) -> None:
    """The NGO accepts its offer: the agreement is rendered first (the worker's part: only a fixed PDF can be
    accepted), so that the acceptance records its SHA-256."""
    from app.extensions import db
    from app.models import Document
    from app.services import jobs

    jobs.ensure_rendered(db.session.get(Document, application.agreement_document_id))
    fire(application, "accept_offer", member)


def decisions_2022(call: Call, submitted: dict[str, Application], people: People) -> None:
    """Offers accepted; one funded NGO declines and the next on the reserve list is promoted; an appeal is
    dismissed by the second admin."""
    members = people.members
    for day, key in ((9, "jauniesi"), (10, "ozolnieki")):
        clock.travel_to(riga(2022, 5, day, 11))
        _accept(submitted[key], members[key])
    clock.travel_to(riga(2022, 5, 11, 9, 40))
    fire(submitted["zemgale"], "decline", members["zemgale"],
         "Projekta vadītājs pārtrauc darbu biedrībā; valde nolēma finansējumu nepieņemt.")
    clock.travel_to(riga(2022, 5, 12, 10))
    fire(submitted["eleja"], "promote", people.admin,
         f"Finansējums atbrīvots, jo {submitted['zemgale'].number} atteicās; nākamais rezerves sarakstā.")
    clock.travel_to(riga(2022, 5, 13, 12))
    fire(submitted["valgunde"], "appeal", members["valgunde"],
         "Lūdzam pārskatīt 2.4.1. kritērija vērtējumu: pieteikuma 3. sadaļā aprakstīta sadarbība ar skolu "
         "mācību motivācijas veicināšanai.", grounds="factual_error")
    clock.travel_to(riga(2022, 5, 16, 13, 5))
    _accept(submitted["eleja"], members["eleja"])
    clock.travel_to(riga(2022, 5, 17, 14))
    fire(submitted["valgunde"], "dismiss_appeal", people.admin2,
         "Komisija pārskatīja vērtējumu: sadarbība ar skolu aprakstīta, bet nav parādīts, kā aktivitātes "
         "mazinās mācību pārtraukšanas risku. Vērtējums paliek spēkā.")


def grants_2022(call: Call, submitted: dict[str, Application], people: People) -> None:
    """Agreements signed, tranches paid, reports approved, every grant closed, the call completed."""
    admin = people.admin
    grants = [submitted[key] for key in ("jauniesi", "ozolnieki", "eleja")]
    for day, application in zip((18, 18, 20), grants):
        clock.travel_to(riga(2022, 5, day, 15))
        fire(application, "sign", admin)
    for number, (day, application) in enumerate(zip((25, 25, 27), grants), start=1):
        pay(payments(application)[0], admin, riga(2022, 5, day, 11), f"JNP/2022/05/{day}-{number:03d}")
    clock.travel_to(riga(2022, 6, 1, 9))
    fire(call, "start_reporting", admin)
    reports_2022(grants, admin)
    for number, application in enumerate(grants, start=4):
        pay(payments(application)[1], admin, riga(2022, 12, 28, 10), f"JNP/2022/12/28-{number:03d}")
    for day, application in zip((9, 9, 10), grants):
        clock.travel_to(riga(2023, 1, day, 11))
        fire(application, "close_grant", admin)
    clock.travel_to(riga(2023, 1, 16, 10))
    fire(call, "complete", admin)


def reports_2022(grants: list[Application], admin: User) -> None:
    """Interim reports in August, final reports in December; one final report goes back for a correction."""
    for offset, application in enumerate(grants):
        submit_report(application, "interim", report_content(application, final=False),
                       riga(2022, 8, 8 + offset, 16))
    for offset, application in enumerate(grants):
        clock.travel_to(riga(2022, 8, 22, 10 + offset))
        fire(report_of(application, "interim"), "approve", admin)
    for offset, application in enumerate(grants):
        submit_report(application, "final", report_content(application, final=True),
                       riga(2022, 12, 5 + 2 * offset, 14))
    corrected = report_of(grants[1], "final")
    clock.travel_to(riga(2022, 12, 15, 10))
    fire(corrected, "request_changes", admin,
         "Lūdzu pievienojiet saites uz publikācijām un precizējiet riska jauniešu skaitu.")
    member = grants[1].organisation.members[0]
    clock.travel_to(riga(2022, 12, 19, 12))
    reporting.save(corrected, member, corrected.content | {
        "participants_at_risk": corrected.content["participants_at_risk"] - 1,
        "results": corrected.content["results"] + " Publikācijas: ozolnieki.lv (12.09. un 28.11.), biedrības "
                                                  "Facebook lapa."}, corrected.version)
    reporting.submit(corrected, member)
    for offset, application in enumerate(grants):
        clock.travel_to(riga(2022, 12, 20, 10 + offset))
        fire(report_of(application, "final"), "approve", admin)


def report_content(application: Application, final: bool) -> dict:
    planned, at_risk = application.content["participants"], application.content["participants_at_risk"]
    if not final:
        return {"activities": "Notikušas ievada aktivitātes un pirmās nodarbības; jaunieši paši sagatavoja "
                              "darba plānu rudenim.",
                "participants": planned - 2, "participants_at_risk": at_risk - 1,
                "results": "Darba plāns izpildīts par 40 %; divi dalībnieki pievienosies septembrī.",
                "declaration": True}
    return {"activities": "Īstenotas visas pieteikumā plānotās aktivitātes un noslēguma pasākums ar vecākiem un "
                          "skolotājiem.",
            "participants": planned, "participants_at_risk": at_risk,
            "results": "Rezultāti sasniegti; 80 % dalībnieku aptaujā norāda, ka labprātāk apmeklē skolu.",
            "declaration": True}


# --- 3. the second round: closed last week, in evaluation ---------------------------------------------------

# Half points of the two first reviews of each application in the second round.
