"""Buttons that lead somewhere, and a second thought before every step nothing undoes (issue 5, point 8).

A workflow button is drawn enabled only when its guards would pass; otherwise it is drawn disabled, with the
guard's reason beside it as text and tied to it by aria-describedby. An irreversible step posted without
confirmed=1 changes nothing and answers with a page that asks; that page's own form, posted back as a browser
would post it, makes the move. Pages are read as a browser reads them (parsed HTML), in English unless a test
says otherwise, so the assertions name the msgids.
"""
from __future__ import annotations

import pytest
import tinyhtml5
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import AuditEvent, Payment, RankingProtocol
from app.services.workflow import fire
from tests import factories

pytestmark = pytest.mark.usefixtures("stub_pdfs")

H = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture
def login_as():
    def login(client, user, lang="en"):
        factories.login_as(client, user)
        with client.session_transaction() as session:
            session["lang"] = lang
    return login


# --- reading pages ----------------------------------------------------------------------------------------------

def parsed(response):
    assert response.status_code == 200, response.status_code
    return tinyhtml5.parse(response.get_data(as_text=True))


def words(element) -> str:
    return " ".join("".join(element.itertext()).split())


def buttons(tree, label: str) -> list:
    return [b for b in tree.iter(f"{H}button") if words(b) == label]


def by_id(tree, element_id: str):
    found = [e for e in tree.iter() if e.get("id") == element_id]
    assert len(found) == 1, (element_id, len(found))
    return found[0]


def refusal(tree, label: str) -> str:
    """The one button called `label` is disabled: the text of what describes it (the reason beside it)."""
    [button] = buttons(tree, label)
    assert "disabled" in button.attrib, f"{label!r} is not disabled"
    described = button.get("aria-describedby")
    assert described, f"{label!r} has no aria-describedby"
    return words(by_id(tree, described))


def enabled(tree, label: str) -> bool:
    found = buttons(tree, label)
    assert len(found) == 1, (label, len(found))
    return "disabled" not in found[0].attrib and found[0].get("name") == "trigger"


def confirmation_form(tree):
    """The confirmation page's form: its address and what a browser posts when its confirm button is pressed."""
    [button] = [b for b in tree.iter(f"{H}button") if b.get("name") == "confirmed"]
    [form] = [f for f in tree.iter(f"{H}form") if button in list(f.iter(f"{H}button"))]
    fields = [(i.get("name"), i.get("value", "")) for i in form.iter(f"{H}input")]
    return form.get("action"), MultiDict(fields + [(button.get("name"), button.get("value"))])


def events() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(AuditEvent.id)))


# --- buttons drawn with their guards ------------------------------------------------------------------------------

def test_a_signed_grant_shows_close_the_grant_disabled_with_the_reason(client, login_as):
    application = factories.make_application(state="contracted")
    login_as(client, factories.admin_of(application.call))
    tree = parsed(client.get(f"/admin/applications/{application.id}"))
    assert refusal(tree, "Close the grant") == "2 reports are not yet approved."

    # the reason is the one pressing would give: the step is refused with it and nothing moves
    response = client.post(f"/admin/applications/{application.id}/fire",
                           data={"trigger": "close_grant", "confirmed": "1"}, follow_redirects=True)
    assert "2 reports are not yet approved." in response.get_data(as_text=True)
    db.session.refresh(application)
    assert application.status == "contracted"


def test_the_final_tranche_shows_mark_as_paid_disabled_with_the_reason(client, login_as):
    application = factories.make_application(state="contracted")
    first, final = db.session.scalars(select(Payment).where(Payment.application_id == application.id)
                                      .order_by(Payment.tranche)).all()
    login_as(client, factories.admin_of(application.call))
    tree = parsed(client.get(f"/admin/applications/{application.id}"))
    marks = buttons(tree, "Mark as paid")
    assert len(marks) == 2
    assert "disabled" not in marks[0].attrib  # the tranche due on signing may be paid
    described = marks[1].get("aria-describedby")
    assert "disabled" in marks[1].attrib and described == f"why-p{final.id}-pay"
    assert words(by_id(tree, described)) == "This tranche is not due yet: it waits for the approved final report."
    assert first.status == final.status == "scheduled"


def test_publish_is_disabled_until_the_ranking_is_confirmed(client, login_as, make_call, make_applications):
    call = make_call(state="announced", when="past", projects=1)
    make_applications(call, ["reviewed", "reviewed"])
    login_as(client, factories.admin_of(call))
    for url in (f"/admin/calls/{call.id}/ranking", f"/admin/calls/{call.id}"):
        tree = parsed(client.get(url))
        assert refusal(tree, "Publish the results") == ("Confirm the ranking first: the commission protocol is not "
                                                         "yet stored."), url
        assert enabled(tree, "Confirm the ranking and protocol"), url

    client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "confirm_ranking", "confirmed": "1"})
    assert db.session.scalar(select(func.count(RankingProtocol.id)).where(RankingProtocol.call_id == call.id)) == 1
    for url in (f"/admin/calls/{call.id}/ranking", f"/admin/calls/{call.id}"):
        assert enabled(parsed(client.get(url)), "Publish the results"), url


def test_a_step_whose_guard_reads_the_form_stays_enabled(client, login_as, make_call):
    """An open call's 'Extend the deadline' judges the new deadline typed with it: enabled, judged on submit."""
    call = make_call(state="open")
    login_as(client, factories.admin_of(call))
    tree = parsed(client.get(f"/admin/calls/{call.id}"))
    assert enabled(tree, "Extend the deadline")
    assert enabled(tree, "Cancel the call")


# --- irreversible steps ask first ---------------------------------------------------------------------------------

def _ranking_call():
    call = factories.make_call(state="announced", when="past", projects=1)
    factories.make_applications(call, ["reviewed", "reviewed"])
    db.session.refresh(call)
    return call


def confirm_ranking():
    call = _ranking_call()
    return (factories.admin_of(call), f"/admin/calls/{call.id}/fire?back=ranking",
            {"trigger": "confirm_ranking", "back": "ranking"}, call,
            lambda: db.session.scalar(select(func.count(RankingProtocol.id))), (0, 1))


def publish_results():
    call = _ranking_call()
    admin = factories.admin_of(call)
    fire(call, "confirm_ranking", admin)
    db.session.commit()
    return admin, f"/admin/calls/{call.id}/fire", {"trigger": "publish_results"}, call, None, ("ranking", "awarded")


def cancel_call():
    call = factories.make_call(state="open")
    return (factories.admin_of(call), f"/admin/calls/{call.id}/fire",
            {"trigger": "cancel", "note": "Finansējums atsaukts."}, call, None, ("open", "cancelled"))


def sign():
    application = factories.make_application(state="accepted")
    return (factories.admin_of(application.call), f"/admin/applications/{application.id}/fire", {"trigger": "sign"},
            application, None, ("accepted", "contracted"))


def close_grant():
    application = factories.make_application(state="contracted")
    factories.settle_grant(application)
    return (factories.admin_of(application.call), f"/admin/applications/{application.id}/fire",
            {"trigger": "close_grant"}, application, None, ("contracted", "closed"))


def submit_application():
    application = factories.make_application(state="draft")
    return (factories.member_of(application), f"/apply/applications/{application.id}/submit", {}, application,
            None, ("draft", "submitted"))


def submit_review():
    assignment = factories.make_assignment("accepted")
    sheet = {}
    for criterion in assignment.application.call.criteria:
        sheet[f"score_{criterion.id}"] = "4"  # points (8 half points)
        sheet[f"comment_{criterion.id}"] = "Pamatots vērtējums."
    return (db.session.get(type(assignment.evaluator), assignment.evaluator_id),
            f"/evaluate/assignments/{assignment.id}/submit", sheet, assignment, None, ("accepted", "submitted"))


STEPS = [confirm_ranking, publish_results, cancel_call, sign, close_grant, submit_application, submit_review]


@pytest.mark.postgres
@pytest.mark.parametrize("build", STEPS, ids=[s.__name__ for s in STEPS])
def test_an_irreversible_step_asks_first_and_moves_only_when_confirmed(app, client, login_as, build):
    actor, url, data, entity, measure, (before, after) = build()
    measure = measure or (lambda: (db.session.refresh(entity), entity.status)[1])
    login_as(client, actor)
    assert measure() == before
    counted = events()

    response = client.post(url, data=data)
    tree = parsed(response)
    assert "This cannot be undone." in words(tree)
    assert measure() == before and events() == counted  # nothing moved, nothing recorded
    assert not [s for s in tree.iter(f"{H}script") if not s.get("src")]  # no inline script: the CSP allows none
    action, fields = confirmation_form(tree)
    assert action == url
    if "note" in data:
        assert fields.get("note") == data["note"]  # the reason typed is posted again, not lost
    assert [href.get("href") for href in tree.iter(f"{H}a") if words(href) == "No, go back"]

    client.post(action, data=fields)
    assert measure() == after
    assert events() > counted


def test_the_confirmation_page_speaks_latvian(client, login_as):
    application = factories.make_application(state="accepted")
    login_as(client, factories.admin_of(application.call), lang="lv")
    tree = parsed(client.post(f"/admin/applications/{application.id}/fire", data={"trigger": "sign"}))
    text = words(tree)
    assert "Parakstīt līgumu?" in text and "Šo darbību nevarēs atsaukt." in text
    assert "Līgums tiek parakstīts" in text and "Nē, atgriezties" in text
    assert application.number in text


def test_a_step_that_would_be_refused_is_not_asked_for(client, login_as):
    """Nothing to confirm when the guard says no: back to the page with the reason, and nothing moves."""
    application = factories.make_application(state="contracted")
    login_as(client, factories.admin_of(application.call))
    counted = events()
    response = client.post(f"/admin/applications/{application.id}/fire", data={"trigger": "close_grant"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 reports are not yet approved." in page
    db.session.refresh(application)
    assert application.status == "contracted" and events() == counted


def test_cancelling_without_a_reason_is_refused_before_asking(client, login_as, make_call):
    call = make_call(state="open")
    login_as(client, factories.admin_of(call))
    response = client.post(f"/admin/calls/{call.id}/fire", data={"trigger": "cancel", "note": "  "})
    assert response.status_code == 302
    assert "Please write the reason." in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.refresh(call)
    assert call.status == "open"


def test_a_saved_step_then_submit_from_check_your_answers_asks_first(client, login_as):
    """The guided form saves each step as the member leaves it; "check your answers" then submits, asking first.
    The confirmation posts confirmed=1 alone, so no stale version from a form can refuse the submission."""
    application = factories.make_application(state="draft")
    login_as(client, factories.member_of(application))
    step = f"/apply/applications/{application.id}/steps/project"
    page = client.get(step).get_data(as_text=True)
    form = {i.get("name"): i.get("value", "") for i in tinyhtml5.parse(page).iter(f"{H}input") if i.get("name")}
    for area in tinyhtml5.parse(page).iter(f"{H}textarea"):
        form[area.get("name")] = "".join(area.itertext())
    form["title"] = "Jauns nosaukums"
    assert client.post(step, data={**form, "go": "next"}).status_code == 302
    db.session.refresh(application)
    assert application.title == "Jauns nosaukums" and application.status == "draft"
    check = parsed(client.get(f"/apply/applications/{application.id}/check"))
    (submit,) = [f for f in check.iter(f"{H}form") if f.get("action", "").endswith("/submit")]
    tree = parsed(client.post(submit.get("action"), data={
        i.get("name"): i.get("value", "") for i in submit.iter(f"{H}input") if i.get("name")}))
    action, fields = confirmation_form(tree)
    assert sorted(fields) == ["confirmed", "csrf_token"]
    db.session.refresh(application)
    assert application.status == "draft"  # asked, not yet submitted
    client.post(action, data=fields)
    db.session.refresh(application)
    assert application.status == "submitted" and application.title == "Jauns nosaukums"


def test_a_list_page_may_leave_the_costly_guards_to_the_press(app, make_call, make_applications):
    """`offers(run_costly=False)` skips a guard registered costly (the protocol's hash over every score): the
    button is drawn enabled and the guard answers when it is pressed. The detail pages run every guard."""
    from app.services.workflow import offers

    call = make_call(state="announced", when="past", projects=1)
    make_applications(call, ["reviewed", "reviewed"])
    admin = factories.admin_of(call)
    fire(call, "confirm_ranking", admin)
    call.budget_cents += 100  # the protocol no longer matches its inputs: only the costly guard can tell
    db.session.commit()
    cheap = {o.trigger: o for o in offers(call, admin, run_costly=False)}
    full = {o.trigger: o for o in offers(call, admin)}
    assert cheap["publish_results"].allowed and cheap["publish_results"].reason is None
    assert not full["publish_results"].allowed
    assert full["publish_results"].reason == ("Kopš rangu saraksta apstiprināšanas ir mainījušies vērtējumi, summas "
                                              "vai budžets. Apstipriniet to vēlreiz.")  # outside a request: Latvian
    assert full["publish_results"].irreversible and full["cancel"].needs_note and not full["publish_results"].needs_note
