"""Logins and registration (issue 5, point 6): a throttle per address and per account that nobody can turn into a
lock of the owner, counted atomically; no answer that tells whether an e-mail has an account; no common passwords.

Until issue 5, five wrong passwords locked the account for everybody for 15 minutes (its owner too, from anywhere),
no address was ever limited, 40 parallel tries on PostgreSQL checked more passwords than the limit, an unknown
e-mail answered faster than a wrong password (no hash was checked), and the registration form said "An account
with this e-mail already exists."
"""
from __future__ import annotations

import itertools
import re
import statistics
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug import security

from app.errors import Refused
from app.extensions import db
from app.models import LoginThrottle, Message, Organisation, User
from app.services import accounts
from tests import factories
from tests.concurrency.conftest import race  # noqa: F401  the house's Barrier-started racers

pytestmark = pytest.mark.postgres

WRONG = "nepareiza-parole"
TOO_MANY = "Too many failed attempts."
WRONG_MESSAGE = "Wrong e-mail or password."
ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


@pytest.fixture(autouse=True)
def frozen(clock):
    """Every test here moves the clock by hand."""
    clock.travel_to(factories.riga(2022, 4, 4, 23, 0))
    return clock


@pytest.fixture
def member(make_user):
    return make_user("applicant")


def in_english(client) -> None:
    client.post("/language", data={"lang": "en"})


def try_login(client, email: str, password: str, address: str) -> str:
    """POST /login from `address`; what the page says ("logged in" when it let the visitor in)."""
    response = client.post("/login", data={"email": email, "password": password},
                           environ_base={"REMOTE_ADDR": address})
    if response.status_code == 302:
        return "logged in"
    body = response.get_data(as_text=True)
    for message in (TOO_MANY, WRONG_MESSAGE):
        if message in body:
            return message
    raise AssertionError(body)


def login_outcome(email: str, password: str, address: str) -> str:
    """The same through the service, for tests that need no pages."""
    try:
        accounts.authenticate(email, password, address)
    except Refused as refused:
        return TOO_MANY if "min." in refused.message else WRONG_MESSAGE
    return "logged in"


def count_password_checks(monkeypatch) -> list[int]:
    """Every hash comparison the login makes, counted from threads too (werkzeug's function, wherever imported)."""
    checks, lock = [], threading.Lock()
    original = security.check_password_hash

    def counting(password_hash, password):
        with lock:
            checks.append(1)
        return original(password_hash, password)

    import app.models.accounts as model_module

    monkeypatch.setattr(model_module, "check_password_hash", counting)
    monkeypatch.setattr(accounts, "check_password_hash", counting, raising=False)
    return checks


# --- the owner is never locked out -----------------------------------------------------------------------------------

def test_an_attacker_cannot_lock_the_owner_out(client, member, frozen):
    in_english(client)
    answers = [try_login(client, member.email, WRONG, ATTACKER) for _ in range(30)]
    assert answers == [WRONG_MESSAGE] * 5 + [TOO_MANY] * 25  # the attacker waits after five
    # the owner, from their own address, with the right password, at the same moment: in
    assert try_login(app_client(client), member.email, factories.TEST_PASSWORD, OWNER) == "logged in"


def app_client(client):
    other = client.application.test_client()
    in_english(other)
    return other


def test_the_delay_doubles_up_to_15_minutes(member, frozen):
    """After five failures each further attempt from the same address waits 2 s, 4 s, 8 s, … at most 15 minutes
    after the failure before it; an attempt that comes too early is refused without checking anything."""
    for _ in range(5):
        assert login_outcome(member.email, WRONG, ATTACKER) == WRONG_MESSAGE
    for wait in (2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900):
        last_failure = frozen.now()
        frozen.travel_to(last_failure + timedelta(seconds=wait - 1))
        assert login_outcome(member.email, factories.TEST_PASSWORD, ATTACKER) == TOO_MANY, wait
        frozen.travel_to(last_failure + timedelta(seconds=wait))
        assert login_outcome(member.email, WRONG, ATTACKER) == WRONG_MESSAGE, wait
    frozen.travel_to(frozen.now() + timedelta(seconds=900))
    assert login_outcome(member.email, factories.TEST_PASSWORD, ATTACKER) == "logged in"


def test_the_refusal_says_how_long_to_wait(client, member, frozen):
    in_english(client)
    for _ in range(5 + 8):  # the 9th delay is 512 s: "9 min."
        try_login(client, member.email, WRONG, ATTACKER)
        frozen.travel_to(frozen.now() + timedelta(minutes=15))
    frozen.travel_to(frozen.now() - timedelta(minutes=15) + timedelta(seconds=10))
    response = client.post("/login", data={"email": member.email, "password": WRONG},
                           environ_base={"REMOTE_ADDR": ATTACKER})
    assert "Too many failed attempts. Try again in 9 min." in response.get_data(as_text=True)
    lv = client.application.test_client()
    response = lv.post("/login", data={"email": member.email, "password": WRONG}, environ_base={"REMOTE_ADDR": ATTACKER})
    assert "Pārāk daudz neveiksmīgu mēģinājumu. Mēģiniet vēlreiz pēc 9 min." in response.get_data(as_text=True)


def test_an_address_that_failed_is_slowed_down_on_an_account_under_attack(member, frozen):
    """The account's count slows every address that has failed before, so the owner who mistyped from the
    attacker's own network waits too (the per-account limit): only a clean address passes it."""
    for _ in range(5):
        login_outcome(member.email, WRONG, ATTACKER)
    assert login_outcome("someone.else@example.lv", WRONG, OWNER) == WRONG_MESSAGE  # the owner's address fails once
    assert login_outcome(member.email, factories.TEST_PASSWORD, OWNER) == TOO_MANY
    frozen.travel_to(frozen.now() + timedelta(seconds=2))
    assert login_outcome(member.email, factories.TEST_PASSWORD, OWNER) == "logged in"


def test_the_address_limit_is_hard(member, make_user, frozen):
    """Ten failures from one address, on any accounts (known or not), and the address waits for everything, even
    for a right password; the same account from another address is not affected."""
    for n in range(10):
        assert login_outcome(f"guess{n}@example.lv", WRONG, ATTACKER) == WRONG_MESSAGE
    assert login_outcome(member.email, factories.TEST_PASSWORD, ATTACKER) == TOO_MANY
    assert login_outcome(member.email, factories.TEST_PASSWORD, OWNER) == "logged in"


def test_logging_in_to_an_own_account_does_not_clean_the_address(member, make_user, frozen):
    """An attacker with an account of their own gains nothing by logging in to it between guesses."""
    own = make_user("applicant")
    for n in range(9):
        login_outcome(f"guess{n}@example.lv", WRONG, ATTACKER)
    assert login_outcome(own.email, factories.TEST_PASSWORD, ATTACKER) == "logged in"
    assert login_outcome("guess9@example.lv", WRONG, ATTACKER) == WRONG_MESSAGE
    assert login_outcome(own.email, factories.TEST_PASSWORD, ATTACKER) == TOO_MANY


def test_the_counts_are_forgotten_after_a_quiet_day(member, frozen):
    for n in range(10):
        login_outcome(f"guess{n}@example.lv", WRONG, ATTACKER)
    assert login_outcome(member.email, factories.TEST_PASSWORD, ATTACKER) == TOO_MANY
    frozen.travel_to(frozen.now() + timedelta(hours=24))
    assert login_outcome(member.email, factories.TEST_PASSWORD, ATTACKER) == "logged in"
    assert accounts.forget_old_counts(frozen.now() + timedelta(hours=24, seconds=1)) == 12  # 10 guesses, 2 of ours


def test_tick_forgets_the_counts_of_a_quiet_day(member, frozen, runner):
    for n in range(3):
        login_outcome(f"guess{n}@example.lv", WRONG, ATTACKER)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) > 0
    frozen.travel_to(frozen.now() + timedelta(hours=24, minutes=1))
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 0


@pytest.mark.parametrize(("remote_addr", "key"), [
    ("203.0.113.66", "203.0.113.66"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # the same subscriber's other address: the same count
    ("::ffff:203.0.113.66", "203.0.113.66"),
    ("", "unknown"),
])
def test_addresses_are_counted_per_ipv4_address_and_per_ipv6_64(remote_addr, key):
    assert accounts.address_key(remote_addr) == key


# --- forty at once ---------------------------------------------------------------------------------------------------

def test_forty_parallel_wrong_passwords_check_at_most_five(race, member, monkeypatch):
    checks = count_password_checks(monkeypatch)
    email = member.email
    result = race(*[lambda: accounts.authenticate(email, WRONG, ATTACKER)] * 40)
    assert len(checks) == 5
    assert [str(o.refused) for o in result.outcomes].count("Nepareizs e-pasts vai parole.") == 5
    assert len(result.refused) == 40


def test_forty_parallel_guesses_on_forty_accounts_check_at_most_ten(race, make_user, monkeypatch):
    emails = [make_user("applicant").email for _ in range(40)]
    checks = count_password_checks(monkeypatch)
    result = race(*[lambda email=email: accounts.authenticate(email, WRONG, ATTACKER) for email in emails])
    assert len(checks) == 10
    assert len(result.refused) == 40


# --- what an answer does not tell ------------------------------------------------------------------------------------

def test_an_unknown_email_is_answered_as_a_wrong_password(client, member, monkeypatch):
    checks = count_password_checks(monkeypatch)
    in_english(client)
    answers = []
    for email in (member.email, "nobody@example.lv"):
        response = client.post("/login", data={"email": email, "password": WRONG})
        answers.append(response.get_data(as_text=True).split('role="alert">')[1].split("<")[0].strip())
    assert answers == [WRONG_MESSAGE, WRONG_MESSAGE]
    assert len(checks) == 2  # one hash checked for the unknown e-mail as well


def _median_seconds(function, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_an_unknown_email_takes_as_long_as_a_wrong_password(member):
    """With real (scrypt) hashes: the unknown e-mail costs a hash too (before: ~1 ms against ~50 ms)."""
    member.set_password("Pareiza-parole-ar-scrypt-2022")
    db.session.commit()
    addresses = (f"192.0.2.{n}" for n in itertools.count(1))
    emails = (f"nobody{n}@example.lv" for n in itertools.count())
    known = _median_seconds(lambda: login_outcome(member.email, WRONG, next(addresses)))
    unknown = _median_seconds(lambda: login_outcome(next(emails), WRONG, next(addresses)))
    assert unknown > 0.5 * known, (unknown, known)


# --- registration ----------------------------------------------------------------------------------------------------

def registration(email: str, n: int) -> dict:
    return {"organisation_name": f"Biedrība „Jaunieši {n}”", "registration_number": factories.registration_number(n),
            "legal_form": "biedriba", "iban": factories.IBAN, "organisation_email": f"info@jauniesi-{n}.lv",
            "address": "Lielā iela 1, Jelgava", "user_name": "Anna Kalniņa", "email": email,
            "password": factories.TEST_PASSWORD, "password_again": factories.TEST_PASSWORD}


def messages_to(email: str) -> list[Message]:
    db.session.expire_all()
    return db.session.scalars(select(Message).where(Message.recipient == email).order_by(Message.id)).all()


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count(User.id))), db.session.scalar(select(func.count(Organisation.id))))


def page_without_tokens(response) -> str:
    """The page as the reader sees it: CSRF tokens carry a timestamp, so two pages a second apart differ there."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1"', response.get_data(as_text=True))


def test_registration_answers_the_same_for_a_taken_email(client, member):
    in_english(client)
    before = counts()
    taken = client.post("/register", data=registration(member.email, 910_001), follow_redirects=True)
    after_taken = counts()
    new = client.post("/register", data=registration("jauna@jauniesi.lv", 910_002), follow_redirects=True)

    assert taken.request.path == new.request.path == "/register/sent"
    assert page_without_tokens(taken) == page_without_tokens(new)
    assert "already exists" not in taken.get_data(as_text=True)
    assert after_taken == before  # no duplicate, not even its organisation
    assert counts() == (before[0] + 1, before[1] + 1)
    # the owner of the taken address hears about it; the new address gets its link
    assert [m.subject for m in messages_to(member.email)] == ["Pumpurs Grants: jums jau ir konts"]
    link = messages_to("jauna@jauniesi.lv")
    assert len(link) == 1 and "/register/confirm/" in link[0].body_text
    assert client.get("/apply/").status_code == 302  # nobody is logged in before the link is opened


def test_registration_takes_as_long_for_a_taken_email(app, member):
    """Both answers hash a password (scrypt); before, the taken address was refused without one."""
    numbers = itertools.count(920_000)

    def post(email_of):
        n = next(numbers)
        response = app.test_client().post("/register", data=registration(email_of(n), n))
        assert response.status_code == 302

    taken = _median_seconds(lambda: post(lambda n: member.email))
    new = _median_seconds(lambda: post(lambda n: f"anna{n}@jauniesi.lv"))
    assert taken > 0.5 * new, (taken, new)


def test_the_link_confirms_once_and_logs_the_member_in(client):
    in_english(client)
    client.post("/register", data=registration("anna@jauniesi.lv", 930_001))
    assert try_login(client, "anna@jauniesi.lv", factories.TEST_PASSWORD, OWNER) == WRONG_MESSAGE  # not yet
    path = factories.confirmation_path("anna@jauniesi.lv")
    assert client.get(path).status_code == 200
    assert db.session.scalar(select(User.unconfirmed_since).where(User.email == "anna@jauniesi.lv")) is not None
    response = client.post(path, follow_redirects=True)
    assert "Your organisation is registered. You can now apply." in response.get_data(as_text=True)
    assert response.request.path == "/apply/" and "Biedrība „Jaunieši 930001”" in response.get_data(as_text=True)

    again = app_client(client).post(path, follow_redirects=True)
    assert "This registration is confirmed already. Log in." in again.get_data(as_text=True)
    assert try_login(app_client(client), "anna@jauniesi.lv", factories.TEST_PASSWORD, OWNER) == "logged in"


def test_a_forged_or_late_link_confirms_nothing(client, frozen):
    in_english(client)
    client.post("/register", data=registration("anna@jauniesi.lv", 930_002))
    path = factories.confirmation_path("anna@jauniesi.lv")
    forged = client.post(path[:-3] + "xyz", follow_redirects=True)
    assert "This link is not valid or has expired. Register again." in forged.get_data(as_text=True)
    frozen.travel_to(frozen.now() + timedelta(hours=48, seconds=1))
    late = client.post(path, follow_redirects=True)
    assert "This link is not valid or has expired. Register again." in late.get_data(as_text=True)
    assert db.session.scalar(select(User.unconfirmed_since).where(User.email == "anna@jauniesi.lv")) is not None


def test_an_unconfirmed_registration_gives_up_its_email_and_number_after_48_hours(client, frozen):
    """Whoever registers somebody else's address (or an NGO's number) and never confirms holds neither for long."""
    in_english(client)
    squatter = registration("anna@jauniesi.lv", 930_003)
    client.post("/register", data=squatter)
    frozen.travel_to(frozen.now() + timedelta(hours=47))
    client.post("/register", data={**squatter, "organisation_name": "Īstā biedrība"})
    assert db.session.scalar(select(Organisation.name).where(
        Organisation.registration_number == squatter["registration_number"])) == "Biedrība „Jaunieši 930003”"

    frozen.travel_to(frozen.now() + timedelta(hours=2))
    client.post("/register", data={**squatter, "organisation_name": "Īstā biedrība"})
    factories.confirm_registration(client, "anna@jauniesi.lv")
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == "anna@jauniesi.lv"))
    assert user.unconfirmed_since is None and user.organisation.name == "Īstā biedrība"
    assert db.session.scalar(select(func.count(Organisation.id))) == 1


# --- passwords -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["parole123456", "password123", "1234567890", "qwertyuiop", "aaaaaaaaaaaa",
                                      "kalnina2022", "jauniesi2022"])  # strong but for the name, the address
def test_registration_refuses_a_common_or_trivial_password(client, password):
    before = counts()
    data = {**registration("anna.kalnina@jauniesi.lv", 940_001), "organisation_name": "Jaunieši Jelgavai",
            "password": password, "password_again": password}
    response = client.post("/register", data=data)
    assert response.status_code == 200
    assert "Šo paroli ir pārāk viegli uzminēt" in response.get_data(as_text=True)
    assert counts() == before


@pytest.mark.parametrize("password", [factories.TEST_PASSWORD, "demo-parole-2022", "pareiza-parole-2030",
                                      "parole-1234567", "zaļā-tējkanna-trīs-kalni"])
def test_the_passwords_of_the_demo_and_the_tests_are_good_enough(password):
    assert accounts.password_problem(password, "anna@jauniesi.lv", "Anna Kalniņa") is None


def test_a_long_password_is_judged_quickly_and_by_its_start():
    """The form takes 200 characters; zxcvbn refuses more than 72 and takes ~0.5 s on a random 72."""
    strong = "Ogres-jaunieši-2022-parole, vasaras nometne pie Daugavas un trīs kalni " * 3
    started = time.perf_counter()
    assert accounts.password_problem(strong[:200]) is None
    assert accounts.password_problem("a" * 60 + "Ogres-jaunieši-2022-parole") is not None
    assert time.perf_counter() - started < 0.5


def test_a_staff_account_gets_no_common_password_either(runner):
    result = runner.invoke(args=["create-user", "--email", "admin@jelgava.lv", "--name", "Ilze Admina",
                                 "--role", "admin", "--password", "jelgava123"])
    assert result.exit_code == 1  # a tidy message, not a traceback
    assert "pārāk viegli uzminēt" in result.output and "Traceback" not in result.output
    assert db.session.scalar(select(func.count(User.id)).where(User.email == "admin@jelgava.lv")) == 0
