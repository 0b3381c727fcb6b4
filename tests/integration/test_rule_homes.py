"""Rules that got one home (issue 5, point 10), seen through the database and the pages that use them: the call
accepting applications (as SQL too), the project period, the current language, the ranking rows shared by the
ranking page and the protocol, and the user's errors (one base class; the engine's NotAvailable surfaced as one)."""
from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest
from sqlalchemy import select

from app import create_app, formatting
from app.errors import NotAllowed, NotFound, NotPossible, Refused, UserError
from app.extensions import db
from app.models import Application, Call
from app.services import pages, protocols, scoring
from app.services.workflow import fire
from app.views import common
from tests.factories import admin_of, login_as, make_user, member_of, riga
from workflows.engine import NotAvailable

pytestmark = pytest.mark.usefixtures("stub_pdfs")

OPENS = riga(2030, 3, 1)
CLOSES = riga(2030, 4, 5)  # "līdz 04.04.2030. plkst. 23:59"


# --- the call accepts applications --------------------------------------------------------------------------

@pytest.mark.parametrize("moment, expected", [
    (OPENS - timedelta(seconds=1), False), (OPENS, True), (CLOSES - timedelta(seconds=1), True), (CLOSES, False)])
def test_call_accepting_in_sql_and_in_python_agree_at_the_boundary_seconds(app, clock, make_call, moment, expected):
    clock.travel_to(OPENS - timedelta(days=5))
    call = make_call(state="announced", opens_at=OPENS, closes_at=CLOSES)
    clock.travel_to(moment)
    assert call.status == "announced"  # the clock's move to open is not written: both readings take it into account
    found = db.session.scalar(select(Call.id).where(Call.id == call.id, Call.accepting(moment)))
    assert (found == call.id) is expected
    assert call.accepting(moment) is expected


def test_the_applicant_home_lists_a_call_until_its_closing_second(app, client, clock, make_call, make_organisation):
    clock.travel_to(OPENS - timedelta(days=5))
    call = make_call(state="announced", opens_at=OPENS, closes_at=CLOSES)
    login_as(client, make_user("applicant", organisation=make_organisation()))
    clock.travel_to(CLOSES - timedelta(seconds=1))
    assert call.code in client.get("/apply/").get_data(as_text=True)
    assert call.code in client.get(f"/calls/{call.code}").get_data(as_text=True).split("Start an application")[0]
    clock.travel_to(CLOSES)
    assert call.code not in client.get("/apply/").get_data(as_text=True)
    assert "Start an application" not in client.get(f"/calls/{call.code}").get_data(as_text=True)


# --- the project period -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, start, end, complete", [
    ({"start_on": "2030-06-01", "end_on": "2030-08-31"}, (2030, 6, 1), (2030, 8, 31), True),
    ({"start_on": "2030-06-01"}, (2030, 6, 1), None, False),
    ({"start_on": "not a date", "end_on": "2030-08-31"}, None, (2030, 8, 31), False),
    ({"start_on": 20300601, "end_on": None}, None, None, False),
    ({}, None, None, False),
])
def test_the_project_period_is_read_in_one_place(content, start, end, complete):
    from datetime import date

    period = Application(content=content).project_period
    assert period.start == (date(*start) if start else None)
    assert period.end == (date(*end) if end else None)
    assert period.complete is complete


def test_the_admin_and_the_applicant_see_the_same_project_period(app, client, make_application):
    application = make_application(state="submitted")
    start, end = application.project_period.start, application.project_period.end
    shown = f"{formatting.day(start, 'lv')}–{formatting.day(end, 'lv')}"
    login_as(client, admin_of(application.call))
    assert shown in client.get(f"/admin/applications/{application.id}").get_data(as_text=True).replace(" ", "")
    client.post("/logout")
    login_as(client, member_of(application))
    assert shown in client.get(f"/apply/applications/{application.id}/view").get_data(as_text=True)


# --- the current language ---------------------------------------------------------------------------------------

def test_one_current_language_for_views_templates_and_services(app):
    assert common.current_lang is formatting.current_lang
    assert app.jinja_env.globals["lang"] is formatting.current_lang
    with app.test_request_context("/"):
        from flask import session

        session["lang"] = "en"
        assert formatting.current_lang() == "en"
        assert app.jinja_env.from_string("{{ lang() }} {{ money(460000) }}").render() == "en €4,600.00"


def test_outside_any_application_the_language_is_latvian():
    import threading

    seen = []
    thread = threading.Thread(target=lambda: seen.append(formatting.current_lang()))  # no app context there
    thread.start()
    thread.join()
    assert seen == ["lv"]


# --- the ranking rows -------------------------------------------------------------------------------------------

def test_the_ranking_page_and_the_protocol_read_the_same_rows(app, make_call, make_applications):
    call = make_call(state="announced", when="past", projects=1)
    admin = admin_of(call)
    first, second = make_applications(call, ["reviewed", "reviewed"])
    db.session.refresh(call)
    computed = {r.application_id: r for r in scoring.compute(call)}  # the ranking itself, not its stored form
    provisional = pages.ranking_page(call, admin).rows

    fire(call, "confirm_ranking", admin)
    db.session.commit()
    protocol = pages.ranking_page(call, admin).protocol
    confirmed = protocols.ranking_rows(call, protocol.ranking)
    context = protocols.protocol_context(call, protocol)["content"]["lv"]  # the same facts in each language

    for rows in (provisional, confirmed):
        assert [r.application.id for r in rows] == [first.id, second.id]
        for row in rows:
            ranked = computed[row.application.id]
            assert (row.rank, row.decision, row.passed, row.amount_cents) == (
                ranked.rank, ranked.decision, ranked.passed, ranked.amount_cents)
            assert row.total == ranked.aggregate.total and isinstance(row.total, Fraction)
            assert row.weighted_total == ranked.aggregate.weighted_total
    assert [r["number"] for r in context["rows"]] == [first.number, second.number]
    assert [r["rank"] for r in context["rows"]] == [1, 2]
    assert [r["decision"] for r in context["rows"]] == ["funded", "reserve"]


# --- the user's errors ------------------------------------------------------------------------------------------

def test_every_error_with_a_users_message_is_a_user_error():
    assert {Refused.status, NotAllowed.status, NotFound.status, NotPossible.status} == {409, 403, 404}
    for kind in (Refused, NotAllowed, NotFound):
        assert issubclass(kind, UserError)
    assert issubclass(NotPossible, Refused) and issubclass(NotPossible, NotAvailable)


def test_fire_surfaces_the_engines_not_available_as_a_users_error(app, make_call):
    call = make_call(state="open")
    with pytest.raises(UserError) as refused:
        fire(call, "publish_results", admin_of(call))
    assert isinstance(refused.value, NotPossible) and isinstance(refused.value, NotAvailable)
    assert (refused.value.workflow, refused.value.trigger, refused.value.state) == ("call", "publish_results", "open")
    assert refused.value.message == "Pašreizējā statusā šī darbība nav iespējama."
    assert call.status == "open"


def test_a_step_not_possible_now_is_flashed_and_changes_nothing(app, client, make_call):
    call = make_call(state="open")
    login_as(client, admin_of(call))
    page = client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "finish_evaluation"}, follow_redirects=True)
    assert "Pašreizējā statusā šī darbība nav iespējama." in page.get_data(as_text=True)
    db.session.refresh(call)
    assert call.status == "open"


@pytest.fixture
def bare_app(tmp_path):
    """An app of its own, so a route that raises can be added before its first request."""
    made = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'errors.sqlite'}",
                      UPLOAD_DIR=str(tmp_path / "uploads"), WTF_CSRF_ENABLED=False)

    raised = {"refused": Refused("Termiņš ir beidzies."), "not_allowed": NotAllowed(), "not_found": NotFound(),
              "engine": NotAvailable("call", "publish_results", "open"),
              "not_possible": NotPossible("call", "publish_results", "open")}

    @made.get("/_raise/<kind>")
    def _raise(kind):
        raise raised[kind]

    return made


@pytest.mark.parametrize("kind, status, text", [
    ("refused", 409, "Termiņš ir beidzies."),
    ("not_allowed", 403, None),
    ("not_found", 404, None),
    ("engine", 409, "Pašreizējā statusā šī darbība nav iespējama."),
    ("not_possible", 409, "Pašreizējā statusā šī darbība nav iespējama."),
])
def test_an_uncaught_users_error_answers_with_its_status_and_message(bare_app, kind, status, text):
    with bare_app.app_context():
        db.create_all()
    response = bare_app.test_client().get(f"/_raise/{kind}")
    assert response.status_code == status
    if text:
        assert text in response.get_data(as_text=True)
