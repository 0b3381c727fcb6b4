"""The application form as guided steps (issue 6): the task list, one page per step, "check your answers", and the
text typed after the session expired coming back after logging in.

Everything the member does goes through HTTP with the test client; the assertions read the page (statuses, links,
texts) and the stored rows.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, KeptDraft
from app.services import applications as application_service
from tests import factories

STEP_PATH = "/apply/applications/{id}/steps/{step}"


def text(response) -> str:
    return response.get_data(as_text=True)


def hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page).group(1)


def loaded(client, app_id: int, step: str) -> dict:
    """What a step's page carries back when posted: the version, the step's fingerprint and the keep signature."""
    page = text(client.get(STEP_PATH.format(id=app_id, step=step)))
    return {name: hidden(page, name) for name in ("version", "fingerprint", "keep")}


def post_step(client, app_id: int, step: str, form: dict | None = None, go: str = "later", **fields):
    form = loaded(client, app_id, step) if form is None else form
    return client.post(STEP_PATH.format(id=app_id, step=step), data={**form, **fields, "go": go})


def statuses(client, app_id: int) -> dict[str, str]:
    """The task list as shown: step name → its status."""
    page = text(client.get(f"/apply/applications/{app_id}"))
    return dict(re.findall(r'class="list-group-item[^"]* task-(\w+)".*?task-status status-(\w+)', page, re.S))


def stored(app_id: int) -> Application:
    db.session.expire_all()
    return db.session.get(Application, app_id)


@pytest.fixture
def draft(app):
    """An empty draft of an open lump-sum call, and its member."""
    call = factories.make_call("open")
    member = factories.make_user("applicant")
    application = application_service.create_draft(call, member)
    db.session.commit()
    return application, member


@pytest.fixture
def browser(app, client, draft):
    client.post("/language", data={"lang": "en"})
    factories.login_as(client, draft[1])
    return client


# --- the task list ----------------------------------------------------------------------------------------------

def test_the_task_list_follows_what_each_step_has_saved(app, browser, draft):
    application, _member = draft
    call = application.call
    shown = statuses(browser, application.id)
    assert "attachments" in shown  # its page exists (judged by app/services/attachments.step_status)
    assert {k: v for k, v in shown.items() if k != "attachments"} == {
        "project": "not_started", "activities": "not_started", "participants": "not_started",
        "results": "not_started", "declarations": "not_started"}

    response = post_step(browser, application.id, "project", title="Vasaras nometne")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/apply/applications/{application.id}")
    assert statuses(browser, application.id)["project"] == "in_progress"  # no summary, no dates yet

    post_step(browser, application.id, "project", title="Vasaras nometne", summary="Nometne un darbnīcas.",
              start_on=call.implementation_start.isoformat(), end_on=call.implementation_end.isoformat())
    post_step(browser, application.id, "activities", activities="Piecas darbnīcas.")
    post_step(browser, application.id, "declarations", declarations="y")
    shown = statuses(browser, application.id)
    assert shown["project"] == shown["activities"] == shown["declarations"] == "completed"
    assert shown["participants"] == "not_started"

    post_step(browser, application.id, "participants", participants="20", participants_at_risk="")
    assert statuses(browser, application.id)["participants"] == "in_progress"  # the at-risk count is missing
    post_step(browser, application.id, "participants", participants="20", participants_at_risk="12")
    assert statuses(browser, application.id)["participants"] == "completed"


def test_save_and_continue_goes_to_the_next_step_and_after_the_last_to_check_your_answers(app, browser, draft):
    application, _member = draft
    response = post_step(browser, application.id, "project", go="next", title="Nometne")
    assert response.headers["Location"].endswith(STEP_PATH.format(id=application.id, step="activities"))
    response = post_step(browser, application.id, "results", go="next", results="Jaunieši turpina mācības.")
    assert response.headers["Location"].endswith(f"/apply/applications/{application.id}/attachments")
    response = post_step(browser, application.id, "declarations", go="next", declarations="y")
    assert response.headers["Location"].endswith(f"/apply/applications/{application.id}/check")


def test_each_step_saves_only_its_own_fields(app, browser):
    call = factories.make_call("open")
    application = factories.make_application(call, "draft", title="Radošās darbnīcas")
    factories.login_as(browser, factories.member_of(application))
    before = dict(application.content)

    response = post_step(browser, application.id, "activities", activities="Jaunas aktivitātes.",
                         title="Cits nosaukums", summary="", participants="1", declarations="")
    assert response.status_code == 302
    after = stored(application.id)
    assert after.content["activities"] == "Jaunas aktivitātes."
    assert after.title == "Radošās darbnīcas" and after.declarations_accepted  # other steps' fields untouched
    assert {k: v for k, v in after.content.items() if k != "activities"} == \
        {k: v for k, v in before.items() if k != "activities"}


def test_results_and_indicators_are_stored_and_a_target_without_a_name_is_refused(app, browser, draft):
    application, _member = draft
    response = post_step(browser, application.id, "results", results="Vairāk jauniešu turpina mācības.",
                         indicator_1_name="Darbnīcas", indicator_1_target="5", indicator_2_name="",
                         indicator_2_target="", indicator_3_name="Dalībnieki", indicator_3_target="20")
    assert response.status_code == 302
    assert stored(application.id).content["indicators"] == [{"name": "Darbnīcas", "target": 5},
                                                            {"name": "Dalībnieki", "target": 20}]
    response = post_step(browser, application.id, "results", results="Cits", indicator_1_target="7")
    assert response.status_code == 400 and "Name the indicator this target is for." in text(response)
    assert stored(application.id).content["results"] == "Vairāk jauniešu turpina mācības."  # nothing half-saved


# --- check your answers and submit ------------------------------------------------------------------------------

def test_check_your_answers_lists_what_is_missing_each_linked_to_its_step(app, browser, draft):
    application, _member = draft
    post_step(browser, application.id, "project", title="Vasaras <script>nometne</script>")
    page = text(browser.get(f"/apply/applications/{application.id}/check"))
    base = STEP_PATH.format(id=application.id, step="")
    expected = {
        "Fill in: Summary.": f"{base}project#field-summary",
        "Fill in: Activities.": f"{base}activities#field-activities",
        "Enter the planned number of participants.": f"{base}participants#field-participants",
        "Enter the project&#39;s start and end dates.": f"{base}project#field-start_on",
        "Confirm the declarations before submitting.": f"{base}declarations",
    }
    for message, href in expected.items():
        assert f'<a href="{href}">{message}</a>' in page, message
    assert "Give the project a title." not in page
    # every answer with a "Change" link to its field; the title escaped
    assert "Vasaras &lt;script&gt;nometne&lt;/script&gt;" in page and "<script>nometne" not in page
    assert f'href="{base}project#field-title">Change' in page
    assert f'href="{base}declarations#field-declarations">Change' in page


def test_submit_from_check_your_answers_asks_for_confirmation_then_submits(app, browser):
    call = factories.make_call("open")
    application = factories.make_application(call, "draft", title="Radošās darbnīcas")
    factories.login_as(browser, factories.member_of(application))
    page = text(browser.get(f"/apply/applications/{application.id}/check"))
    assert "Everything required is filled in." in page
    assert f'action="/apply/applications/{application.id}/submit"' in page

    asked = browser.post(f"/apply/applications/{application.id}/submit")
    assert asked.status_code == 200 and 'name="confirmed" value="1"' in text(asked)  # templates/confirm.html
    assert stored(application.id).status == "draft"

    done = browser.post(f"/apply/applications/{application.id}/submit", data={"confirmed": "1"})
    assert done.headers["Location"].endswith(f"/apply/applications/{application.id}/receipt")
    assert stored(application.id).status == "submitted"
    assert browser.get(STEP_PATH.format(id=application.id, step="project")).headers["Location"].endswith("/view")


def test_submit_with_something_missing_goes_back_to_check_your_answers(app, browser, draft):
    application, _member = draft
    response = browser.post(f"/apply/applications/{application.id}/submit", follow_redirects=True)
    assert response.request.path == f"/apply/applications/{application.id}/check"
    assert "Give the project a title." in text(response)
    assert stored(application.id).status == "draft"


# --- two members at once ----------------------------------------------------------------------------------------

def test_two_members_saving_the_same_step_at_once(app, draft):
    application, first = draft
    second = factories.make_user("applicant", organisation=first.organisation)
    anna, juris = app.test_client(), app.test_client()
    for browser, member in ((anna, first), (juris, second)):
        browser.post("/language", data={"lang": "en"})
        factories.login_as(browser, member)
    annas, juris_form = loaded(anna, application.id, "project"), loaded(juris, application.id, "project")

    assert post_step(anna, application.id, "project", annas, title="Annas nosaukums").status_code == 302
    response = post_step(juris, application.id, "project", juris_form, title="Jura nosaukums")
    assert response.status_code == 409
    page = text(response)
    assert "Another member saved this step meanwhile." in page
    assert 'value="Jura nosaukums"' in page  # what he typed is still in his form
    assert "Annas nosaukums" in page  # and he sees what she saved
    assert stored(application.id).title == "Annas nosaukums"  # nothing of hers lost

    # A save of another step on top of her newer version is no conflict: his step is as he loaded it.
    assert post_step(juris, application.id, "activities", dict(juris_form, fingerprint=loaded(
        juris, application.id, "activities")["fingerprint"]), activities="Darbnīcas.").status_code == 302
    after = stored(application.id)
    assert after.title == "Annas nosaukums" and after.content["activities"] == "Darbnīcas."


def test_a_save_racing_another_commit_of_the_same_row_is_refused_not_merged(app, draft):
    """Both requests read version 1; the other one commits first. This one's UPDATE ... WHERE version = 1 then
    finds no row (the version column), and the refusal is the same message, nothing of the other save lost."""
    from sqlalchemy import text as sql

    from app.errors import Refused
    from app.services import steps

    application, member = draft
    step = steps.BY_NAME["project"]
    version, loaded_print = application.version, steps.fingerprint(application, step)
    application.call.accepting  # noqa: B018  loaded now, as a request has it before saving
    session = db.session()
    session.expire_on_commit = False  # this request's copy stays as it read it ...
    session.commit()  # ... while its transaction ends, so that the other one can write (SQLite)
    session.expire_on_commit = True
    with db.engine.begin() as other:  # the other member's request, committed meanwhile
        other.execute(sql("UPDATE applications SET title = 'Otrā', version = version + 1 WHERE id = :id"),
                      {"id": application.id})
    with pytest.raises(Refused, match="Cits biedrs pa to laiku saglabāja šo soli"):  # the member's Latvian
        steps.save(application, member, step, {"title": "Pirmā"}, answers=None, version=version,
                   loaded=loaded_print)
    assert stored(application.id).title == "Otrā"


# --- the session expires mid-step -------------------------------------------------------------------------------

def _login(client, member, next_url: str):
    return client.post(f"/login?next={next_url}", data={"email": member.email, "password": factories.TEST_PASSWORD})


def test_text_typed_after_the_session_expired_comes_back_after_logging_in(app, draft):
    application, member = draft
    browser = app.test_client()
    browser.post("/language", data={"lang": "en"})
    _login(browser, member, "/apply/")
    form = loaded(browser, application.id, "project")

    expired = app.test_client()  # the same browser once the session cookie is gone
    expired.post("/language", data={"lang": "en"})
    response = post_step(expired, application.id, "project", form, title="Ilgi rakstīts nosaukums",
                         summary="Garš apraksts, ko negribam zaudēt.")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    next_url = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    assert stored(application.id).title == ""  # not saved ...
    assert db.session.scalar(select(func.count(KeptDraft.id))) == 1  # ... but kept

    logged_in = _login(expired, member, next_url)
    assert logged_in.headers["Location"] == next_url
    page = text(expired.get(next_url))
    assert "Your text from before the sign-in is back: check it and save." in page
    assert 'value="Ilgi rakstīts nosaukums"' in page and "Garš apraksts, ko negribam zaudēt." in page

    again = re.search(r'name="kept" type="hidden" value="([^"]+)"', page).group(1)
    response = post_step(expired, application.id, "project",
                         {**{n: hidden(page, n) for n in ("version", "fingerprint", "keep")}, "kept": again},
                         title="Ilgi rakstīts nosaukums", summary="Garš apraksts, ko negribam zaudēt.")
    assert response.status_code == 302
    assert stored(application.id).title == "Ilgi rakstīts nosaukums"
    assert db.session.scalar(select(func.count(KeptDraft.id))) == 0  # deleted once saved


def test_a_kept_draft_is_shown_only_to_a_member_of_the_organisation(app, draft):
    application, member = draft
    browser = app.test_client()
    factories.login_as(browser, member)
    form = loaded(browser, application.id, "activities")
    response = post_step(app.test_client(), application.id, "activities", form, activities="Slepens teksts.")
    next_url = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]

    stranger = app.test_client()
    factories.login_as(stranger, factories.make_user("applicant"))
    assert stranger.get(next_url).status_code == 404
    assert db.session.scalar(select(func.count(KeptDraft.id))) == 0  # discarded, unseen
    assert "Slepens teksts." not in text(browser.get(next_url))


def test_an_anonymous_post_without_the_forms_signature_keeps_nothing(app, draft):
    application, _member = draft
    response = app.test_client().post(STEP_PATH.format(id=application.id, step="project"),
                                      data={"title": "Uzbrucēja teksts", "keep": "forged", "version": "1"})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    assert "kept=" not in response.headers["Location"]
    assert db.session.scalar(select(func.count(KeptDraft.id))) == 0


# --- languages and the optional steps ---------------------------------------------------------------------------

def test_the_task_list_and_steps_in_latvian_and_english(app, client, draft):
    application, member = draft
    factories.login_as(client, member)
    client.post("/language", data={"lang": "lv"})
    page = text(client.get(f"/apply/applications/{application.id}"))
    assert "Projekts" in page and "Nav sākts" in page and "Pārbaudīt atbildes" in page
    step = text(client.get(STEP_PATH.format(id=application.id, step="results")))
    assert "Rezultāti un rādītāji" in step and "Saglabāt un turpināt" in step
    client.post("/language", data={"lang": "en"})
    page = text(client.get(f"/apply/applications/{application.id}"))
    assert "The project" in page and "Not started" in page and "Check your answers" in page
    step = text(client.get(STEP_PATH.format(id=application.id, step="results")))
    assert "Results and indicators" in step and "Save and continue" in step


def test_the_budget_step_shows_only_on_budgeted_calls_and_while_its_page_exists(app, browser, draft, monkeypatch):
    lump_sum, member = draft
    assert "budget" not in statuses(browser, lump_sum.id)
    budgeted = application_service.create_draft(factories.make_call("open", "budgeted"), member)
    db.session.commit()
    assert "budget" in statuses(browser, budgeted.id)
    page = text(browser.get(f"/apply/applications/{budgeted.id}"))
    assert f'href="/apply/applications/{budgeted.id}/budget"' in page
    assert 'name="amount"' not in text(browser.get(STEP_PATH.format(id=budgeted.id, step="project")))

    monkeypatch.delitem(app.view_functions, "applicant.budget")  # as before the budget page was built
    assert "budget" not in statuses(browser, budgeted.id)
    assert browser.get(STEP_PATH.format(id=budgeted.id, step="budget")).status_code == 404
    assert 'name="amount"' in text(browser.get(STEP_PATH.format(id=budgeted.id, step="project")))
    post_step(browser, budgeted.id, "project", title="Ar budžetu", amount="2 500,00")
    assert stored(budgeted.id).amount_cents == 250_000


def test_with_csrf_on_the_expired_post_is_kept_and_a_logged_in_post_needs_its_token(app, draft):
    """The step's route is exempt from the app-wide CSRF check only so that a post without a session can be
    kept (it carries no valid token then); a logged-in post is checked in the view."""
    app.config["WTF_CSRF_ENABLED"] = True  # restored after the test by the app fixture
    application, member = draft
    browser = app.test_client()
    factories.login_as(browser, member)
    page = text(browser.get(STEP_PATH.format(id=application.id, step="activities")))
    form = {n: hidden(page, n) for n in ("version", "fingerprint", "keep")}
    assert browser.post(STEP_PATH.format(id=application.id, step="activities"),
                        data={**form, "activities": "Bez žetona."}).status_code == 400  # no CSRF token
    assert "activities" not in stored(application.id).content

    expired = app.test_client()
    response = expired.post(STEP_PATH.format(id=application.id, step="activities"),
                            data={**form, "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                                                                  page).group(1), "activities": "Darbnīcas."})
    assert urlsplit(response.headers["Location"]).path == "/login"
    next_url = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    login_page = text(expired.get(f"/login?next={next_url}"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    expired.post(f"/login?next={next_url}", data={"email": member.email, "password": factories.TEST_PASSWORD,
                                                   "csrf_token": token})
    shown = text(expired.get(next_url))
    assert "Darbnīcas." in shown
    sent = {n: hidden(shown, n) for n in ("version", "fingerprint", "keep", "kept", "csrf_token")}
    assert expired.post(STEP_PATH.format(id=application.id, step="activities"),
                        data={**sent, "activities": "Darbnīcas."}).status_code == 302
    assert stored(application.id).content["activities"] == "Darbnīcas."


# --- the call's own questions, in the step they are placed in ----------------------------------------------------

def test_the_calls_own_questions_are_asked_and_saved_in_their_step(app, client):
    from app.models import Question

    call = factories.make_call(state="draft", when="now")
    admin = factories.admin_of(call)
    factories.login_as(client, admin)
    for definition in ({"kind": "number", "step": "participants", "required": "y", "min_value": "0",
                        "max_value": "50", "label_lv": "Cik brīvprātīgo piedalīsies?",
                        "label_en": "How many volunteers take part?"},
                       {"kind": "short_text", "step": "questions", "label_lv": "Kura skola ir partneris?",
                        "label_en": "Which school is your partner?"}):
        assert client.post(f"/admin/calls/{call.id}/questions/new", data=definition).status_code == 302
    factories.advance_call(call, "open")
    volunteers, school = db.session.scalars(select(Question).where(Question.call_id == call.id)
                                            .order_by(Question.position))
    application = factories.make_application(call, "draft")
    client.post("/logout")
    client.post("/language", data={"lang": "en"})
    factories.login_as(client, factories.member_of(application))

    assert "questions" in statuses(client, application.id)  # a step of its own: one question is placed there
    check = text(client.get(f"/apply/applications/{application.id}/check"))
    assert (f'<a href="{STEP_PATH.format(id=application.id, step="participants")}#field-q-{volunteers.key}">'
            "Answer the question: How many volunteers take part?</a>") in check
    assert statuses(client, application.id)["participants"] == "in_progress"

    page = text(client.get(STEP_PATH.format(id=application.id, step="participants")))
    assert f'name="q-{volunteers.key}"' in page and f'name="q-{school.key}"' not in page
    response = post_step(client, application.id, "participants", participants="16", participants_at_risk="9",
                         target_group="Jaunieši", **{f"q-{volunteers.key}": "99"})
    assert response.status_code == 400 and "Enter a number from 0 to 50." in text(response)
    assert volunteers.key not in (stored(application.id).content.get("questions") or {})
    post_step(client, application.id, "participants", participants="16", participants_at_risk="9",
              target_group="Jaunieši", **{f"q-{volunteers.key}": "7"})
    assert stored(application.id).content["questions"][volunteers.key] == 7
    assert statuses(client, application.id)["participants"] == "completed"
    post_step(client, application.id, "questions", **{f"q-{school.key}": "Jelgavas 4. vidusskola"})
    after = stored(application.id).content["questions"]
    assert after == {volunteers.key: 7, school.key: "Jelgavas 4. vidusskola"}  # the other step's answer kept


def test_a_kept_draft_older_than_a_day_is_not_shown(app, draft):
    from datetime import timedelta

    from app import clock

    application, member = draft
    browser = app.test_client()
    factories.login_as(browser, member)
    form = loaded(browser, application.id, "activities")
    response = post_step(app.test_client(), application.id, "activities", form, activities="Vecs teksts.")
    next_url = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    with factories.clock_at(clock.now() + timedelta(hours=24, minutes=1)):
        page = text(browser.get(next_url))
    assert "Vecs teksts." not in page and "Your text from before the sign-in is back" not in page
    assert db.session.scalar(select(func.count(KeptDraft.id))) == 0
