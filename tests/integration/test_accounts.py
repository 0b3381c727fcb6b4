"""An NGO's accounts through the web (issue 6, "NGOs / Accounts"): a forgotten password reset by an e-mailed link,
the password changed while logged in, the organisation's profile edited, a colleague invited; and the two small
faults of registration (the number stored as typed, a personal code told it has a bad check digit).

Links are read from the message that was sent (its text, as the recipient reads it), and the clock is moved by
`travel_to` to age them; every expected text is written out here.
"""
from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event, func, select

from app.errors import Refused
from app.extensions import db
from app.models import Application, AuditEvent, Invitation, Job, Message, Organisation, User
from app.services import organisations
from tests import factories
from tests.factories import TEST_PASSWORD, login_as

pytestmark = pytest.mark.postgres

NEW_PASSWORD = "violeta-upe-kalnā-mēness-42"
OTHER_PASSWORD = "zaļa-lapa-vējā-dzied-77"
NOW = factories.riga(2026, 11, 20, 10, 0)


@pytest.fixture(autouse=True)
def frozen(clock):
    clock.travel_to(NOW)


def text(response) -> str:
    """What the page says, as a reader sees it (tags dropped, entities read)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def in_english(client) -> None:
    client.post("/language", data={"lang": "en"})


def link_sent_to(email: str, path: str) -> str:
    """The path of the newest link under `path` in a message to `email`."""
    db.session.expire_all()
    body = db.session.scalars(select(Message.body_text).where(Message.recipient == email)
                              .order_by(Message.id.desc())).first()
    found = re.search(rf"https?://[^/\s]+({re.escape(path)}\S+)", body or "")
    assert found, f"no {path} link was sent to {email}: {body!r}"
    return found.group(1)


def messages_to(email: str) -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).where(Message.recipient == email).order_by(Message.id)))


def password_of(user_id: int) -> str:
    """Which of the test's passwords opens the account now."""
    db.session.expire_all()
    user = db.session.get(User, user_id)
    return next((p for p in (TEST_PASSWORD, NEW_PASSWORD, OTHER_PASSWORD) if user.check_password(p)), "none")


def logs_in(client, email: str, password: str) -> bool:
    client.post("/logout")
    return client.post("/login", data={"email": email, "password": password}).status_code == 302


def logged_in(client) -> bool:
    return client.get("/messages").status_code == 200


@pytest.fixture
def member(app, make_user):
    return make_user("applicant", email="ilze@jauniesi.example.lv", name="Ilze Bērziņa")


def ask_for_reset(client, email: str):
    return client.post("/password/forgot", data={"email": email}, follow_redirects=True)


# --- a forgotten password ------------------------------------------------------------------------------------------

def test_a_forgotten_password_is_reset_by_the_link_and_every_session_ends(app, client, member):
    other_device = app.test_client()
    login_as(other_device, member)
    assert logged_in(other_device)
    in_english(client)
    login_page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in login_page and "Forgot your password?" in login_page

    answer = ask_for_reset(client, member.email)

    assert answer.request.path == "/login"
    assert "If an account has this address, we have sent it a link to set a new password." in text(answer)
    (message,) = messages_to(member.email)
    assert message.user_id == member.id
    assert message.subject == "Pumpurs Grants: jaunas paroles iestatīšana"  # the member's language, Latvian
    assert "Saite darbojas 60 minūtes un tikai vienu reizi." in message.body_text
    link = link_sent_to(member.email, "/password/reset/")
    assert "Set a new password" in text(client.get(link))
    assert password_of(member.id) == TEST_PASSWORD  # opening the link changes nothing

    done = client.post(link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}, follow_redirects=True)

    assert done.request.path == "/login"
    assert "Your new password is set, and every session that was open has ended." in text(done)
    assert password_of(member.id) == NEW_PASSWORD
    assert not logged_in(other_device)  # the session of before, on another device, is over
    assert not logs_in(client, member.email, TEST_PASSWORD)
    assert logs_in(client, member.email, NEW_PASSWORD)


def test_the_answer_is_the_same_for_an_address_without_an_account(app, member):
    known, unknown = app.test_client(), app.test_client()
    for client in (known, unknown):
        in_english(client)

    to_member = ask_for_reset(known, member.email)
    to_nobody = ask_for_reset(unknown, "neviens@jauniesi.example.lv")

    assert to_member.request.path == to_nobody.request.path == "/login"
    assert text(to_member) == text(to_nobody)
    assert messages_to("neviens@jauniesi.example.lv") == []
    assert len(messages_to(member.email)) == 1


def test_at_most_three_links_an_hour_go_to_one_address(app, client, clock, member):
    in_english(client)
    answers = [text(ask_for_reset(client, member.email)) for _ in range(4)]

    assert len(set(answers)) == 1  # the fourth is answered as the others
    assert len(messages_to(member.email)) == 3
    clock.travel_to(NOW + timedelta(minutes=61))
    ask_for_reset(client, member.email)
    assert len(messages_to(member.email)) == 4


def inserts_of(request) -> list[str]:
    """The tables `request()` inserts rows into, in order (whether or not they are kept)."""
    tables = []

    def seen(_connection, _cursor, statement, *_args):
        if found := re.match(r'\s*INSERT INTO "?(\w+)', statement):
            tables.append(found.group(1))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        request()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    return tables


def test_an_address_without_an_account_costs_the_same_work(app, member):
    """Timing is too noisy to assert on a shared machine; the work is not: the unknown address's request signs a link,
    renders the message and stores it (then rolls it back), as the known one does."""
    client = app.test_client()
    with_account = inserts_of(lambda: ask_for_reset(client, member.email))
    without = inserts_of(lambda: ask_for_reset(client, "neviens@jauniesi.example.lv"))

    assert with_account == without == ["password_reset_requests", "messages", "jobs"]
    assert messages_to("neviens@jauniesi.example.lv") == []
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Job.id))) == 1


@pytest.mark.parametrize("lang, says", [
    ("en", "This link has expired: it works for one hour. Ask for a new one below."),
    ("lv", "Šīs saites derīguma termiņš ir beidzies: tā darbojas vienu stundu."),
])
def test_an_expired_reset_link_is_refused(app, client, clock, member, lang, says):
    client.post("/language", data={"lang": lang})
    ask_for_reset(client, member.email)
    link = link_sent_to(member.email, "/password/reset/")
    clock.travel_to(NOW + timedelta(minutes=59))
    assert client.get(link).status_code == 200  # still within the hour

    clock.travel_to(NOW + timedelta(minutes=61))
    opened = client.get(link, follow_redirects=True)
    posted = client.post(link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
                         follow_redirects=True)

    for answer in (opened, posted):
        assert answer.request.path == "/password/forgot"
        assert says in text(answer)
    assert password_of(member.id) == TEST_PASSWORD


def test_a_reset_link_works_once(app, client, member):
    in_english(client)
    ask_for_reset(client, member.email)
    link = link_sent_to(member.email, "/password/reset/")
    client.post(link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})

    again = client.post(link, data={"password": OTHER_PASSWORD, "password_again": OTHER_PASSWORD},
                        follow_redirects=True)

    assert again.request.path == "/password/forgot"
    assert "This link has been used already, or the password was changed after it was sent." in text(again)
    assert password_of(member.id) == NEW_PASSWORD


def test_a_reset_link_dies_when_the_password_is_changed_another_way(app, client, member):
    in_english(client)
    ask_for_reset(client, member.email)
    link = link_sent_to(member.email, "/password/reset/")
    assert logs_in(client, member.email, TEST_PASSWORD)
    client.post("/password/change", data={"current_password": TEST_PASSWORD, "password": OTHER_PASSWORD,
                                          "password_again": OTHER_PASSWORD})
    client.post("/logout")

    answer = client.post(link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
                         follow_redirects=True)

    assert "This link has been used already, or the password was changed after it was sent." in text(answer)
    assert password_of(member.id) == OTHER_PASSWORD


def _forged_links(app, member) -> dict[str, str]:
    ask_for_reset(app.test_client(), member.email)
    real = link_sent_to(member.email, "/password/reset/")
    token = real.rsplit("/", 1)[1]
    payload = {"user": member.id, "password": "0" * 32}
    return {
        "signature altered": real[:-2] + ("AA" if not real.endswith("AA") else "BB"),
        "another secret": "/password/reset/" + URLSafeTimedSerializer("not the secret", salt="password-reset")
        .dumps(payload),
        "a registration link's salt": "/password/reset/" + URLSafeTimedSerializer(
            app.secret_key, salt="confirm-registration").dumps({"user": member.id, "email": member.email}),
        "payload swapped": "/password/reset/" + token.split(".", 1)[0][:-1] + "x." + token.split(".", 1)[1],
    }


def test_a_forged_reset_link_is_refused(app, client, member):
    in_english(client)
    for name, link in _forged_links(app, member).items():
        opened = client.get(link, follow_redirects=True)
        posted = client.post(link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
                             follow_redirects=True)
        for answer in (opened, posted):
            assert answer.request.path == "/password/forgot", name
            assert "This link is not valid. Ask for a new one below." in text(answer), name
    assert password_of(member.id) == TEST_PASSWORD


def test_a_weak_new_password_is_refused_and_the_link_still_works(app, client, member):
    in_english(client)
    ask_for_reset(client, member.email)
    link = link_sent_to(member.email, "/password/reset/")

    weak = client.post(link, data={"password": "password123", "password_again": "password123"})

    assert "This password is too easy to guess" in text(weak)
    assert password_of(member.id) == TEST_PASSWORD
    client.post(link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert password_of(member.id) == NEW_PASSWORD


def test_an_unconfirmed_or_deactivated_account_gets_no_link(app, client, make_user):
    waiting = make_user("applicant", email="gaida@jauniesi.example.lv")
    gone = make_user("applicant", email="prom@jauniesi.example.lv")
    waiting.unconfirmed_since = NOW
    gone.active = False
    db.session.commit()
    for user in (waiting, gone):
        ask_for_reset(client, user.email)
        assert messages_to(user.email) == []


# --- changing the password -----------------------------------------------------------------------------------------

def test_changing_the_password_keeps_this_session_and_ends_the_others(app, client, member):
    other_device = app.test_client()
    login_as(other_device, member)
    in_english(client)
    assert logs_in(client, member.email, TEST_PASSWORD)
    assert "Current password" in text(client.get("/password/change"))

    wrong = client.post("/password/change", data={"current_password": "nav-tā-parole-99", "password": NEW_PASSWORD,
                                                  "password_again": NEW_PASSWORD})
    assert "The current password is not right." in text(wrong)
    weak = client.post("/password/change", data={"current_password": TEST_PASSWORD, "password": "parole12345",
                                                 "password_again": "parole12345"})
    assert "This password is too easy to guess" in text(weak)
    assert password_of(member.id) == TEST_PASSWORD and logged_in(other_device)

    done = client.post("/password/change", data={"current_password": TEST_PASSWORD, "password": NEW_PASSWORD,
                                                 "password_again": NEW_PASSWORD}, follow_redirects=True)

    assert "Your password is changed. You were logged out everywhere else." in text(done)
    assert password_of(member.id) == NEW_PASSWORD
    assert logged_in(client)  # still logged in here
    assert client.get("/apply/").status_code == 200
    assert not logged_in(other_device)
    assert logs_in(app.test_client(), member.email, NEW_PASSWORD)


# --- the organisation's profile ------------------------------------------------------------------------------------

PROFILE = {"name": "Biedrība „Jaunieši Ogrei”", "legal_form": "nodibinajums", "iban": "LV97 HABA 0012 3456 7891 0",
           "email": "Valde@Jauniesi.example.lv", "address": "Brīvības iela 1, Ogre"}


def test_the_profile_is_edited_and_every_change_is_in_the_audit_trail(app, client, member):
    organisation = member.organisation
    before = {"name": organisation.name, "iban": organisation.iban, "email": organisation.email,
              "address": organisation.address, "number": organisation.registration_number}
    login_as(client, member)
    in_english(client)
    page = text(client.get("/apply/organisation/"))
    assert before["number"] in page and "The registration number cannot be changed" in page

    saved = client.post("/apply/organisation/", data={**PROFILE, "registration_number": "40008000121"},
                        follow_redirects=True)

    assert "The profile is saved." in text(saved)
    db.session.expire_all()
    stored = db.session.get(Organisation, organisation.id)
    assert (stored.name, stored.legal_form, stored.iban, stored.email, stored.address) == (
        "Biedrība „Jaunieši Ogrei”", "nodibinajums", "LV97HABA0012345678910", "valde@jauniesi.example.lv",
        "Brīvības iela 1, Ogre")
    assert stored.registration_number == before["number"]  # not a field of the profile
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "organisation",
                                                           AuditEvent.entity_id == organisation.id,
                                                           AuditEvent.trigger == "edit_profile")).all()
    assert event.actor_id == member.id
    assert json.loads(event.data) == {"changed": {
        "name": [before["name"], "Biedrība „Jaunieši Ogrei”"], "legal_form": ["biedriba", "nodibinajums"],
        "iban": [before["iban"], "LV97HABA0012345678910"], "email": [before["email"], "valde@jauniesi.example.lv"],
        "address": [before["address"], "Brīvības iela 1, Ogre"]}}

    again = client.post("/apply/organisation/", data=PROFILE, follow_redirects=True)
    assert "Nothing was changed." in text(again)
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.trigger == "edit_profile")) == 1


@pytest.mark.parametrize("iban, says", [
    ("LV80BANK0000435195002", "The IBAN is not valid. Check the account number."),
    ("DE89370400440532013000", "The account must be in a Latvian bank (IBAN starting with LV)."),
])
def test_an_invalid_iban_in_the_profile_saves_nothing(app, client, member, iban, says):
    organisation_id = member.organisation_id
    before = (member.organisation.name, member.organisation.iban)
    login_as(client, member)
    in_english(client)

    answer = client.post("/apply/organisation/", data={**PROFILE, "iban": iban})

    assert says in text(answer)
    db.session.expire_all()
    stored = db.session.get(Organisation, organisation_id)
    assert (stored.name, stored.iban) == before  # the name typed with it is not kept either
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.trigger == "edit_profile")) == 0


def test_the_profile_page_is_in_latvian(app, client, member):
    login_as(client, member)
    page = text(client.get("/apply/organisation/"))
    assert "Mana organizācija" in page and "Uzaicināt kolēģi" in page
    assert "Mainīt paroli" in page  # the navbar's links
    answer = client.post("/apply/organisation/", data={**PROFILE, "iban": "LV80BANK0000435195002"})
    assert "IBAN nav derīgs" in text(answer)


# --- the registration number, cleaned; a personal code, named ------------------------------------------------------

def _register(number: str, email: str):
    return organisations.register(
        organisation_name=f"Biedrība {email}", registration_number=number, legal_form="biedriba",
        iban=factories.IBAN, organisation_email=email, address="", user_name="Anna Ozola", email=email,
        password=NEW_PASSWORD)


def test_the_registration_number_is_stored_cleaned_and_its_variants_are_duplicates(app):
    first = _register("LV 4000 8152 656", "anna@pirma.example.lv")
    db.session.commit()
    assert first.organisation.registration_number == "40008152656"

    for variant in ("40008152656", "LV40008152656", "4000815265 6", "lv4000-8152-656"):
        with pytest.raises(Refused) as refused:
            _register(variant, f"anna@{variant.replace(' ', '')}.example.lv")
        db.session.rollback()
        assert "Šī organizācija jau ir reģistrēta." in refused.value.message, variant  # Latvian outside a request
    assert db.session.scalar(select(func.count(Organisation.id))) == 1


def test_the_registration_form_takes_the_number_as_people_copy_it(app, client):
    client.post("/register", data={
        "organisation_name": "Biedrība „Kopā”", "registration_number": "LV40008152656", "legal_form": "biedriba",
        "iban": factories.IBAN, "organisation_email": "info@kopa.example.lv", "address": "",
        "user_name": "Anna Ozola", "email": "anna@kopa.example.lv", "password": NEW_PASSWORD,
        "password_again": NEW_PASSWORD})
    db.session.expire_all()
    assert db.session.scalars(select(Organisation.registration_number)).all() == ["40008152656"]


@pytest.mark.parametrize("number", [
    "16117519997",   # a personal code of the old form (born 16.11.1975), check digit right
    "32867300677",   # of the new form, whose check digit stdnum does not accept
    "010175-12345",  # of the old form as written on a card, check digit wrong
])
def test_a_personal_code_is_told_that_personal_codes_are_not_accepted(app, number):
    problem = organisations.registration_number_problem(number)
    assert problem == ("Personas kodus nepieņem: norādiet organizācijas reģistrācijas numuru (11 cipari, sākas ar 4, "
                       "5, 6, 7, 8 vai 9).")


def test_a_legal_entitys_number_with_a_wrong_check_digit_is_told_so(app):
    assert organisations.registration_number_problem("40008000001").startswith("Reģistrācijas numurs nav derīgs")
    assert organisations.registration_number_problem("40008000121") is None


# --- inviting a colleague ------------------------------------------------------------------------------------------

COLLEAGUE = "janis@jauniesi.example.lv"


def invite(client, email=COLLEAGUE, name="Jānis Kalniņš"):
    return client.post("/apply/organisation/invite", data={"invitee_name": name, "invitee_email": email},
                       follow_redirects=True)


def accept(client, link, name="Jānis Kalniņš", password=NEW_PASSWORD):
    return client.post(link, data={"name": name, "password": password, "password_again": password},
                       follow_redirects=True)


def hidden_fields(page: str) -> dict[str, str]:
    found = {}
    for tag in re.findall(r"<input[^>]*>", page):
        if 'type="hidden"' in tag and (name := re.search(r'name="([^"]+)"', tag)):
            value = re.search(r'value="([^"]*)"', tag)
            found[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return found


def test_an_invited_colleague_joins_and_saves_the_other_members_draft(app, client, member, make_call,
                                                                      make_application):
    draft = make_application(make_call(state="open"), "draft", organisation=member.organisation)
    login_as(client, member)
    in_english(client)

    sent = invite(client)

    assert f"We have sent an invitation to {COLLEAGUE}. The link in it works for 7 days." in text(sent)
    assert "Jānis Kalniņš" in text(sent)  # listed as invited, not yet joined
    (message,) = messages_to(COLLEAGUE)
    assert message.user_id is None  # the address has no account yet
    assert message.subject == f"Ilze Bērziņa invites you to {member.organisation.name} in Pumpurs Grants"
    assert message.body_text.startswith("Hello, Jānis Kalniņš!")
    link = link_sent_to(COLLEAGUE, "/invitation/")

    colleague = app.test_client()
    in_english(colleague)
    page = text(colleague.get(link))
    assert f"Join {member.organisation.name}" in page and "Your login will be janis@jauniesi.example.lv" in page
    joined = accept(colleague, link, name="Jānis K.")

    assert joined.request.path == "/apply/"
    assert f"Welcome! You are now a member of {member.organisation.name}." in text(joined)
    db.session.expire_all()
    new_member = db.session.scalars(select(User).where(User.email == COLLEAGUE)).one()
    assert (new_member.organisation_id, new_member.role, new_member.name, new_member.unconfirmed_since) == (
        member.organisation_id, "applicant", "Jānis K.", None)
    invitation = db.session.scalars(select(Invitation)).one()
    assert invitation.accepted_by_id == new_member.id and invitation.accepted_at == NOW
    trail = db.session.scalars(select(AuditEvent.trigger).where(
        AuditEvent.entity_type == "organisation", AuditEvent.entity_id == member.organisation_id)
        .order_by(AuditEvent.id)).all()
    assert trail[-2:] == ["invite", "add_member"]
    assert logs_in(app.test_client(), COLLEAGUE, NEW_PASSWORD)

    # the new member works on the draft the first one started
    step = f"/apply/applications/{draft.id}/steps/project"
    form = hidden_fields(colleague.get(step).get_data(as_text=True))
    saved = colleague.post(step, data={**form, "title": "Jāņa virsraksts", "go": "later"})
    assert saved.status_code == 302, text(saved)
    db.session.expire_all()
    assert db.session.get(Application, draft.id).title == "Jāņa virsraksts"
    members_page = text(client.get("/apply/organisation/"))
    assert "Jānis K." in members_page and "janis@jauniesi.example.lv" in members_page


def test_the_invitation_arrives_by_smtp(app, client, member, smtp_server, runner):
    login_as(client, member)
    invite(client)

    runner.invoke(args=["worker", "--once"])

    (mail,) = smtp_server.to(COLLEAGUE)
    assert mail.message["Subject"] == (f"Ilze Bērziņa aicina jūs pievienoties organizācijai "
                                       f"{member.organisation.name} sistēmā Pumpurs Grants")
    assert mail.text.startswith("Labdien, Jānis Kalniņš!") and "/invitation/" in mail.text
    assert messages_to(COLLEAGUE)[0].delivery == "sent"


def test_an_invitation_opened_by_another_account_is_refused(app, client, member, make_user):
    login_as(client, member)
    invite(client)
    link = link_sent_to(COLLEAGUE, "/invitation/")
    stranger = make_user("applicant", email="svesais@cita.example.lv")
    other = app.test_client()
    login_as(other, stranger)
    in_english(other)

    opened = other.get(link, follow_redirects=True)
    posted = accept(other, link)

    for answer in (opened, posted):
        assert ("This invitation is for janis@jauniesi.example.lv, but you are logged in as "
                "svesais@cita.example.lv. Log out, then open the link again.") in text(answer)
    db.session.expire_all()
    assert db.session.scalar(select(User.id).where(User.email == COLLEAGUE)) is None
    assert db.session.scalars(select(Invitation.accepted_at)).one() is None
    assert db.session.get(User, stranger.id).organisation_id == stranger.organisation_id


def test_an_invitation_works_once(app, client, member):
    login_as(client, member)
    invite(client)
    link = link_sent_to(COLLEAGUE, "/invitation/")
    first = app.test_client()
    accept(first, link)

    second = app.test_client()
    in_english(second)
    again = accept(second, link, name="Kāds cits", password=OTHER_PASSWORD)

    assert "This invitation has been used already. Log in with the account it made." in text(again)
    db.session.expire_all()
    assert db.session.scalars(select(User.name).where(User.email == COLLEAGUE)).all() == ["Jānis Kalniņš"]
    assert password_of(db.session.scalar(select(User.id).where(User.email == COLLEAGUE))) == NEW_PASSWORD


@pytest.mark.parametrize("lang, says", [
    ("en", "This invitation has expired. Ask your colleague to invite you again."),
    ("lv", "Šī ielūguma derīguma termiņš ir beidzies."),
])
def test_an_expired_invitation_is_refused(app, client, clock, member, lang, says):
    login_as(client, member)
    invite(client)
    link = link_sent_to(COLLEAGUE, "/invitation/")
    clock.travel_to(NOW + timedelta(days=7, seconds=1))
    late = app.test_client()
    late.post("/language", data={"lang": lang})

    answer = accept(late, link)

    assert says in text(answer)
    assert db.session.scalar(select(User.id).where(User.email == COLLEAGUE)) is None


def test_a_forged_invitation_link_is_refused(app, client, member):
    login_as(client, member)
    invite(client)
    link = link_sent_to(COLLEAGUE, "/invitation/")
    invitation_id = db.session.scalars(select(Invitation.id)).one()
    forged = {
        "signature altered": link[:-2] + ("AA" if not link.endswith("AA") else "BB"),
        "another address": "/invitation/" + URLSafeTimedSerializer(app.secret_key, salt="password-reset").dumps(
            {"invitation": invitation_id, "email": "cits@cita.example.lv"}),
    }
    visitor = app.test_client()
    in_english(visitor)
    for name, path in forged.items():
        assert "This invitation link is not valid." in text(accept(visitor, path)), name
    assert db.session.scalar(select(User.id).where(User.email == COLLEAGUE)) is None


def test_an_address_with_an_account_elsewhere_is_refused_without_saying_where(app, client, member, make_user):
    elsewhere = make_user("applicant", email="aiznemts@cita.example.lv")
    colleague = make_user("applicant", organisation=member.organisation, email="kolege@jauniesi.example.lv")
    login_as(client, member)
    in_english(client)

    taken = text(invite(client, email=elsewhere.email))
    already = text(invite(client, email=colleague.email))

    assert "This address cannot be invited. Ask your colleague for another e-mail address." in taken
    assert elsewhere.organisation.name not in taken
    assert "kolege@jauniesi.example.lv is a member of your organisation already." in already
    assert db.session.scalar(select(func.count(Invitation.id))) == 0
    assert messages_to(elsewhere.email) == [] and messages_to(colleague.email) == []
