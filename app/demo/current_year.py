"""This year: the open call, and the second round that is in evaluation."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from app import clock
from app.demo.content import PROJECTS_OPEN, PROJECTS_SECOND_ROUND, define_call
from app.demo.people import People
from app.demo.steps import (
    assign,
    clock_moves,
    declare_and_score,
    draft,
    on,
    record_checks,
    send,
    submit_review,
)
from app.models import Application, Call
from app.services import (
    calls,
    questions,
)
from app.services.workflow import fire

SCORES_SECOND_ROUND = {
    "jauniesi": ([9, 8, 9, 9, 8, 8, 8, 9, 9, 8], [8, 8, 9, 8, 8, 9, 7, 8, 9, 8]),
    # 84 against 52 half points: more than 30 % apart, and one passes while the other fails.
    "ozolnieki": ([9, 8, 9, 9, 8, 8, 8, 9, 8, 8], [6, 5, 6, 4, 5, 6, 5, 5, 5, 5]),
    "skauti": ([7, 8, 7, 8, 7, 7, 7, 8, 8, 7], [8, 7, 7, 8, 7, 8, 7, 7, 7, 7]),
    "svete": ([7, 7, 8, 7, 7, 7, 6, 7, 8, 7], [8, 7, 7, 7, 7, 7, 7, 7, 7, 7]),
}


def second_round(people: People, today: date, year: int) -> Call:
    admin = people.admin
    closes = today - timedelta(days=7)
    opens = closes - timedelta(days=38)
    clock.travel_to(on(today - timedelta(days=50), 10))
    call = define_call(admin, code=f"PMP-{year}-R", title_suffix=(" (2. kārta)", " (second round)"), year=year,
                        projects=2, opens_at=clock.riga_midnight(opens), closes_at=clock.riga_midnight(closes),
                        decision_on=today + timedelta(days=14),
                        implementation=(today + timedelta(days=35), today + timedelta(days=35 + 182)),
                        reports=(today + timedelta(days=35 + 90), today + timedelta(days=35 + 196)),
                        retention_until=date(year + 6, 12, 31))
    clock.travel_to(on(today - timedelta(days=48), 11))
    calls.announce(call, admin)
    clock_moves(call, call.opens_at)
    drafts = {key: draft(call, people.members[key], PROJECTS_SECOND_ROUND[key], on(opens + timedelta(days=n), 18))
              for n, key in enumerate(SCORES_SECOND_ROUND, start=1)}
    for (days_before, hour, minute), application in zip(((30, 13, 40), (21, 9, 15), (14, 16, 5), (8, 22, 30)),
                                                        drafts.values()):
        send(application, on(closes - timedelta(days=days_before), hour, minute))
    clock_moves(call, call.closes_at)
    for hour, application in enumerate(drafts.values(), start=9):
        record_checks(application, admin, on(today - timedelta(days=6), hour))
    clock.travel_to(on(today - timedelta(days=4), 10))
    fire(call, "start_evaluation", admin)
    reviews_second_round(drafts, people, today)
    return call


def reviews_second_round(submitted: dict[str, Application], people: People, today: date) -> None:
    """Reviews partly done: one application complete; one divergent, for which the engine assigns a third
    evaluator; one half scored; one where an evaluator recused and the engine assigned a replacement."""
    e1, e2, e3 = people.evaluators
    scores = SCORES_SECOND_ROUND

    def day(days_ago: int, hour: int) -> datetime:
        return on(today - timedelta(days=days_ago), hour)

    complete = assign(submitted["jauniesi"], [e1, e2], people.admin, day(4, 10))
    divergent = assign(submitted["ozolnieki"], [e2, e3], people.admin, day(4, 10))
    partial = assign(submitted["skauti"], [e1, e3], people.admin, day(4, 11))
    recused = assign(submitted["svete"], [e1, e2], people.admin, day(4, 11))
    declare_and_score(complete[0], scores["jauniesi"][0], day(3, 9))
    declare_and_score(complete[1], scores["jauniesi"][1], day(3, 10))
    declare_and_score(partial[0], scores["skauti"][0], day(3, 11))
    clock.travel_to(day(3, 13))
    fire(recused[1], "recuse", e2, "Esmu šīs biedrības valdes locekļa tuvs radinieks.")
    declare_and_score(recused[0], scores["svete"][0], day(2, 9), scored=0)
    declare_and_score(partial[1], scores["skauti"][1], day(2, 10), scored=6)
    declare_and_score(divergent[0], scores["ozolnieki"][0], day(2, 11))
    declare_and_score(divergent[1], scores["ozolnieki"][1], day(2, 14))
    submit_review(complete[0], day(2, 16))
    submit_review(complete[1], day(2, 17))
    submit_review(divergent[0], day(1, 11))
    submit_review(partial[0], day(1, 15))
    submit_review(divergent[1], day(1, 17))  # 84 against 52: flagged, a third evaluator assigned


# --- 2. this year's competition, open now -------------------------------------------------------------------

def open_call(people: People, today: date, year: int) -> Call:
    admin = people.admin
    opens, last_day = today - timedelta(days=10), today + timedelta(days=20)
    decision = last_day + timedelta(days=31)
    clock.travel_to(on(today - timedelta(days=14), 10))
    call = define_call(admin, code=f"PMP-{year}", title_suffix=("", ""), year=year, projects=3,
                        opens_at=clock.riga_midnight(opens),
                        closes_at=clock.riga_midnight(last_day + timedelta(days=1)),  # "līdz <last_day> 23:59"
                        decision_on=decision,
                        implementation=(decision + timedelta(days=26), decision + timedelta(days=26 + 182)),
                        reports=(decision + timedelta(days=26 + 75), decision + timedelta(days=26 + 196)),
                        retention_until=date(year + 7, 12, 31))
    # questions of the call's own, worded by the municipality (the guided form's "questions" and "results" steps)
    volunteers = questions.add(call, admin, {
        "kind": "yes_no", "step": "questions", "required": True, "label_lv": "Vai projektā iesaistīsiet brīvprātīgos?",
        "label_en": "Will volunteers take part in the project?", "help_lv": "Arī jauniešus, kas palīdz kā mentori.",
        "help_en": "Young people who help as mentors count too.", "options": [], "min_value": None, "max_value": None})
    heard = questions.add(call, admin, {
        "kind": "choice", "step": "questions", "required": False, "label_lv": "Kā uzzinājāt par konkursu?",
        "label_en": "How did you hear of the call?", "help_lv": "", "help_en": "", "min_value": None,
        "max_value": None, "options": [{"value": "o1", "lv": "Pašvaldības mājaslapā", "en": "On the municipality's website"},
                                       {"value": "o2", "lv": "No jaunatnes darbinieka", "en": "From a youth worker"},
                                       {"value": "o3", "lv": "Sociālajos tīklos", "en": "On social media"}]})
    schools = questions.add(call, admin, {
        "kind": "number", "step": "results", "required": False, "label_lv": "Ar cik skolām sadarbosieties?",
        "label_en": "How many schools will you work with?", "help_lv": "", "help_en": "", "options": [],
        "min_value": 0, "max_value": 30})
    clock.travel_to(on(today - timedelta(days=12), 14))
    calls.announce(call, admin)
    clock_moves(call, call.opens_at)
    members = people.members

    def answer(application: Application, *values) -> None:
        keys = (volunteers.key, heard.key, schools.key)
        questions.save(application, application.organisation.members[0], dict(zip(keys, values)))

    def ago(days: int, hour: int) -> datetime:
        return on(today - timedelta(days=days), hour)

    podcast = draft(call, members["zemgale"], PROJECTS_OPEN["zemgale"], ago(9, 18))
    answer(podcast, True, "o2", 3)
    orienteering = draft(call, members["valgunde"], PROJECTS_OPEN["valgunde"], ago(8, 20))
    answer(orienteering, False, "o1", 1)
    send(podcast, ago(6, 11))
    draft(call, members["eleja"], PROJECTS_OPEN["eleja"], ago(5, 19), complete=False)
    draft(call, members["jauniesi"], PROJECTS_OPEN["jauniesi"], ago(3, 8), complete=False)
    send(orienteering, ago(2, 9))
    draft(call, members["svete"], PROJECTS_OPEN["svete"], ago(1, 21))
    return call


# --- the whole demo -----------------------------------------------------------------------------------------
