"""The evaluator pool through the admin pages (issue 7, "Evaluators"): an evaluator invited by e-mail sets a
password by the link and logs in; an expired, forged or used link says so; the calls an evaluator serves restrict
who may be assigned; deactivation ends the sessions and keeps the live assignments listed; the load on the list.

Links are read from the message that was sent; every expected text is written out here."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.errors import Refused
from app.extensions import db
from app.models import AuditEvent, CallEvaluator, Message, User
from app.services import evaluation, evaluators
from tests import factories
from tests.factories import login_as

pytestmark = pytest.mark.postgres

PASSWORD = "violeta-upe-kalnā-mēness-42"
NOW = factories.riga(2026, 11, 20, 10, 0)


@pytest.fixture(autouse=True)
def frozen(clock):
    clock.travel_to(NOW)


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def in_english(client) -> None:
    client.post("/language", data={"lang": "en"})


def welcome_link(email: str) -> str:
    db.session.expire_all()
    body = db.session.scalars(select(Message.body_text).where(Message.recipient == email)
                              .order_by(Message.id.desc())).first()
    found = re.search(r"https?://[^/\s]+(/evaluator/welcome/\S+)", body or "")
    assert found, f"no welcome link was sent to {email}: {body!r}"
    return found.group(1)


def logs_in(client, email: str, password: str) -> bool:
    client.post("/logout")
    return client.post("/login", data={"email": email, "password": password}).status_code == 302


@pytest.fixture
def admin(app, make_organiser):
    return factories.make_organiser_admin(make_organiser("Ogres novada pašvaldība"))


def invite(client, admin, **form):
    login_as(client, admin)
    in_english(client)
    return client.post("/admin/evaluators/invite", data={"name": "Inese Liepiņa", "email": "inese@eksperti.lv",
                                                         "language": "lv", **form}, follow_redirects=True)


# --- invitation -----------------------------------------------------------------------------------------------------

def test_an_invited_evaluator_sets_a_password_by_the_link_and_logs_in(app, client, admin):
    answer = invite(client, admin)

    assert "inese@eksperti.lv is invited" in text(answer)
    evaluator = db.session.scalars(select(User).where(User.email == "inese@eksperti.lv")).one()
    assert (evaluator.role, evaluator.name, evaluator.language) == ("evaluator", "Inese Liepiņa", "lv")
    assert evaluator.organiser_ids == admin.organiser_ids
    (message,) = db.session.scalars(select(Message).where(Message.recipient == "inese@eksperti.lv"))
    assert message.subject == "Jūs esat aicināts vērtēt projektu iesniegumus sistēmā Pumpurs Grants"
    visitor = app.test_client()
    assert not logs_in(visitor, "inese@eksperti.lv", PASSWORD)  # no password yet: no login
    link = welcome_link("inese@eksperti.lv")
    in_english(visitor)
    assert "Inese Liepiņa, choose the password for your account inese@eksperti.lv." in text(visitor.get(link))

    done = visitor.post(link, data={"password": PASSWORD, "password_again": PASSWORD}, follow_redirects=True)

    assert done.request.path == "/login"
    assert "Your password is set. Log in with your e-mail and the new password." in text(done)
    assert logs_in(visitor, "inese@eksperti.lv", PASSWORD)
    assert visitor.get("/evaluate/").status_code == 200
    db.session.expire_all()
    assert db.session.get(User, evaluator.id).unconfirmed_since is None
    assert [e.trigger for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "user", AuditEvent.entity_id == evaluator.id).order_by(AuditEvent.id))] == [
        "invite_evaluator", "set_password"]


def test_an_address_with_an_account_is_not_invited_again(app, client, admin):
    factories.make_user("applicant", email="inese@eksperti.lv")
    answer = invite(client, admin)
    assert "An account with this e-mail already exists." in text(answer)
    assert db.session.scalars(select(User.role).where(User.email == "inese@eksperti.lv")).all() == ["applicant"]


def test_an_expired_invitation_link_is_refused(app, client, clock, admin):
    invite(client, admin)
    link = welcome_link("inese@eksperti.lv")
    visitor = app.test_client()
    in_english(visitor)
    clock.travel_to(NOW + timedelta(days=6, hours=23))
    assert visitor.get(link).status_code == 200  # still within the week

    clock.travel_to(NOW + timedelta(days=7, minutes=1))
    opened = visitor.get(link, follow_redirects=True)
    posted = visitor.post(link, data={"password": PASSWORD, "password_again": PASSWORD}, follow_redirects=True)

    for answer in (opened, posted):
        assert answer.request.path == "/login"
        assert "This invitation has expired: it works for 7 days. Ask the administrator to send it again." in \
            text(answer)
    assert not logs_in(visitor, "inese@eksperti.lv", PASSWORD)


def test_an_invitation_link_works_once(app, client, admin):
    invite(client, admin)
    link = welcome_link("inese@eksperti.lv")
    visitor = app.test_client()
    in_english(visitor)
    visitor.post(link, data={"password": PASSWORD, "password_again": PASSWORD})

    again = visitor.post(link, data={"password": "zaļa-lapa-vējā-dzied-77", "password_again": "zaļa-lapa-vējā-dzied-77"},
                         follow_redirects=True)

    assert again.request.path == "/login"
    assert "This invitation has been used already: your password is set." in text(again)
    assert logs_in(visitor, "inese@eksperti.lv", PASSWORD)


def test_a_forged_invitation_link_is_refused(app, client):
    in_english(client)
    answer = client.get("/evaluator/welcome/not-a-real-token", follow_redirects=True)
    assert answer.request.path == "/login"
    assert "This invitation link is not valid. Check that the whole link was copied." in text(answer)


# --- the pool -------------------------------------------------------------------------------------------------------

def test_a_call_that_names_evaluators_is_assigned_only_to_them(app, client, make_application):
    application = make_application(state="in_review")
    call, admin = application.call, factories.admin_of(application.call)
    serving, other = factories.make_user("evaluator"), factories.make_user("evaluator")
    assert {serving.id, other.id} <= {e.id for e in evaluators.pool(call)}  # no list: every active evaluator

    login_as(client, admin)
    client.post(f"/admin/evaluators/{serving.id}/calls", data={"call_id": str(call.id)})

    assert db.session.scalars(select(CallEvaluator.evaluator_id).where(CallEvaluator.call_id == call.id)).all() == [
        serving.id]
    assert [e.id for e in evaluators.pool(call)] == [serving.id]
    with pytest.raises(Refused, match="nevērtē šajā konkursā"):
        evaluation.assign(application, other, admin)
    db.session.rollback()
    made = evaluation.auto_assign(application, admin)
    assert [a.evaluator_id for a in made] == [serving.id]  # one short of two: nobody else serves the call


def test_the_list_shows_each_evaluators_load_within_the_admins_calls(app, client, clock, make_application):
    application = make_application(state="in_review")
    admin = factories.admin_of(application.call)
    evaluator = factories.make_user("evaluator", name="Kārlis Jansons", organisers=[application.call.organiser])
    evaluation.assign(application, evaluator, admin)
    db.session.commit()
    clock.travel_to(NOW + timedelta(days=application.call.review_days + 1))  # past review_due_at: late
    other_admin = factories.make_organiser_admin(factories.make_organiser("Jelgavas novada pašvaldība"))

    login_as(client, admin)
    page = client.get("/admin/evaluators").get_data(as_text=True)
    (row,) = [r for r in re.findall(r'<tr class="evaluator-row">(.*?)</tr>', page, re.S) if "Kārlis Jansons" in r]
    cells = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    # name, e-mail, state, calls served, to do, to do per call, submitted, late
    assert cells[0] == "Kārlis Jansons" and cells[4:] == ["1", f"{application.call.code}: 1", "0", "1"]

    login_as(client, other_admin)
    assert "Kārlis Jansons" not in client.get("/admin/evaluators").get_data(as_text=True)
    assert client.get(f"/admin/evaluators/{evaluator.id}").status_code == 404


# --- deactivation ---------------------------------------------------------------------------------------------------

def test_deactivation_ends_the_sessions_and_keeps_the_live_assignments_listed(app, client, make_application):
    application = make_application(state="in_review")
    admin = factories.admin_of(application.call)
    evaluator = factories.make_user("evaluator", name="Marta Sproģe")
    evaluation.assign(application, evaluator, admin)
    db.session.commit()
    version = evaluator.session_version
    their_browser = app.test_client()
    login_as(their_browser, evaluator)
    assert their_browser.get("/evaluate/").status_code == 200

    login_as(client, admin)
    in_english(client)
    answer = client.post(f"/admin/evaluators/{evaluator.id}/active", data={"action": "deactivate"},
                         follow_redirects=True)

    db.session.expire_all()
    evaluator = db.session.get(User, evaluator.id)
    assert not evaluator.active and evaluator.session_version == version + 1
    assert their_browser.get("/evaluate/").status_code == 302  # the old session names nobody
    assert "Marta Sproģe is deactivated" in text(answer)
    assert application.number in text(answer).split("Affiliations")[0]  # its review, listed to reassign
    assert evaluator.id not in {e.id for e in evaluators.pool(application.call)}
    with pytest.raises(Refused, match="ir deaktivizēts vai nevērtē"):
        evaluation.assign(factories.make_application(state="in_review"), evaluator, admin)
    db.session.rollback()

    client.post(f"/admin/evaluators/{evaluator.id}/active", data={"action": "reactivate"})
    db.session.expire_all()
    assert db.session.get(User, evaluator.id).active


def test_an_auditor_reads_the_evaluator_pages_and_changes_nothing(app, client, make_application):
    application = make_application(state="in_review")
    admin = factories.admin_of(application.call)
    evaluator = factories.make_user("evaluator", name="Marta Sproģe")
    evaluation.assign(application, evaluator, admin)
    db.session.commit()
    auditor = factories.make_user("auditor", organiser=application.call.organiser)
    login_as(client, auditor)
    assert "Marta Sproģe" in client.get(f"/admin/evaluators/{evaluator.id}").get_data(as_text=True)
    assert client.post(f"/admin/evaluators/{evaluator.id}/active", data={"action": "deactivate"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(User, evaluator.id).active
