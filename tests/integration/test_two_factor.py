"""Two-factor sign-in (app/services/two_factor.py, app/views/two_factor.py): required for admins and auditors,
offered to everyone else; the code step after the password, the enrolment, recovery codes, turning it off."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, LoginThrottle, Message, RecoveryCode, User
from app.services import accounts, two_factor
from tests import factories

pytestmark = pytest.mark.postgres  # the conditional UPDATE and DELETE that make a code single-use, on both

PASSWORD = factories.TEST_PASSWORD


def english(app):
    client = app.test_client()
    assert client.post("/language", data={"lang": "en"}).status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def location(response) -> str:
    return response.headers.get("Location", "")


def password_step(client, user, **options):
    return client.post("/login", data={"email": user.email, "password": PASSWORD}, **options)


def is_logged_in(client) -> bool:
    """Whether the client's session is a logged-in user's (the messages page needs a login)."""
    with client.session_transaction() as session:
        return "_user_id" in session


def fresh(user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def events(user, trigger: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "user",
                                                            AuditEvent.entity_id == user.id,
                                                            AuditEvent.trigger == trigger)))


def messages_to(user) -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).where(Message.user_id == user.id).order_by(Message.id)))


def enrolled(role="admin", **options) -> tuple[User, list[str]]:
    user = factories.make_user(role, language="en", **options)
    codes = factories.enrol_two_factor(user)
    db.session.commit()
    return fresh(user), codes


def shown_secret(page: str) -> str:
    found = re.search(r"data-totp-secret>([A-Z2-7 ]+)<", page)
    assert found, "no key for manual entry on the page"
    return found.group(1).replace(" ", "")


# --- an admin without it: enrolment first, nothing else -----------------------------------------------------------

def test_an_admin_signed_in_by_password_must_enrol_before_any_other_page(app):
    admin = factories.make_user("admin", language="en")
    client = english(app)
    response = password_step(client, admin)
    assert response.status_code == 302
    for path in ("/admin/", "/messages", "/password/change", "/account/two-factor"):
        answer = client.get(path)
        assert answer.status_code == 302 and location(answer).endswith("/account/two-factor/setup"), path
    page = text(client.get("/account/two-factor/setup"))
    assert "Admins and auditors decide over public money" in page
    # the language switch and the logout stay open
    switched = client.post("/language", data={"lang": "lv", "next": "/account/two-factor/setup"})
    assert location(switched).endswith("/account/two-factor/setup")
    assert "Iestatīt divpakāpju pieteikšanos" in text(client.get("/account/two-factor/setup"))

    # enrolment: the QR code (inline SVG, nothing the CSP refuses) and the key, confirmed by a code
    setup = client.get("/account/two-factor/setup")
    page = text(setup)
    svg = re.search(r"<svg[^>]*class=\"totp-qr\".*?</svg>", page, re.S)
    assert svg and "<path" in svg.group(0) and "style" not in svg.group(0) and "<script" not in svg.group(0)
    assert not re.search(r"<script(?![^>]*\ssrc=)|<style|\sstyle=", page)  # no inline script or style
    assert "script-src 'self'" in setup.headers["Content-Security-Policy"]
    secret = shown_secret(page)
    wrong = client.post("/account/two-factor/setup", data={"code": "000000" if pyotp.TOTP(secret).now() != "000000"
                                                          else "111111"})
    assert "Kods nav pareizs" in text(wrong) and fresh(admin).totp_enabled_at is None
    done = client.post("/account/two-factor/setup", data={"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", text(done))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/admin/").status_code == 200  # in, now

    stored = fresh(admin)
    assert stored.totp_enabled_at is not None
    assert secret not in stored.totp_secret and two_factor.secret_of(stored) == secret  # encrypted at rest
    hashes = set(db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == admin.id)))
    assert len(hashes) == 10 and not any(code.replace("-", "") in h or code in h for code in codes for h in hashes)
    assert [e.to_state for e in events(admin, "two_factor_on")] == ["two_factor_on"]
    assert [m.subject for m in messages_to(admin)] == ["Pumpurs Grants: divpakāpju pieteikšanās ir ieslēgta"]


def test_login_as_marks_the_second_step_passed(app, client):
    admin = factories.make_user("admin")
    factories.login_as(client, admin)
    assert client.get("/admin/").status_code == 200


# --- the code step ------------------------------------------------------------------------------------------------

def test_sign_in_asks_the_code_before_anyone_is_logged_in(app):
    admin, _codes = enrolled()
    client = english(app)
    response = password_step(client, admin, query_string={"next": "/admin/evaluators"})
    assert location(response).endswith("/login/code")
    assert not is_logged_in(client)
    assert location(client.get("/admin/")).startswith("/login")
    page = text(client.get("/login/code"))
    assert "Enter the 6-digit code your authenticator app shows" in page

    refused = client.post("/login/code", data={"code": "12345"})
    assert "That code is not right, or it was used already" in text(refused) and not is_logged_in(client)

    passed = client.post("/login/code", data={"code": factories.user_totp_code(admin)})
    assert location(passed).endswith("/admin/evaluators")
    assert is_logged_in(client) and client.get("/admin/").status_code == 200


def test_a_code_cannot_be_used_twice(app):
    admin, _codes = enrolled()
    code = factories.user_totp_code(admin)
    first = english(app)
    password_step(first, admin)
    assert location(first.post("/login/code", data={"code": code})).endswith("/admin/")

    second = english(app)  # somebody who saw the code, a moment later
    password_step(second, admin)
    replayed = second.post("/login/code", data={"code": code})
    assert "That code is not right, or it was used already" in text(replayed) and not is_logged_in(second)


def test_a_recovery_code_signs_in_once(app):
    admin, codes = enrolled()
    client = english(app)
    password_step(client, admin)
    response = client.post("/login/code", data={"code": codes[3].upper()}, follow_redirects=True)
    assert "You signed in with a recovery code" in text(response) and "Recovery codes left: 9." in text(response)
    assert is_logged_in(client)
    assert db.session.scalar(select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == admin.id)) == 9
    [event] = events(admin, "recovery_code_used")
    assert '"recovery_codes_left":9' in event.data
    assert messages_to(admin)[-1].subject == "Pumpurs Grants: a recovery code was used to sign in"
    assert "Recovery codes left: 9." in messages_to(admin)[-1].body_text

    again = english(app)
    password_step(again, admin)
    assert "That code is not right" in text(again.post("/login/code", data={"code": codes[3]}))
    assert not is_logged_in(again)


def test_the_pending_step_expires(app, clock):
    admin, _codes = enrolled()
    start = clock.now()
    clock.travel_to(start)
    client = english(app)
    password_step(client, admin)
    clock.travel_to(start + two_factor.PENDING_FOR + timedelta(seconds=1))
    response = client.post("/login/code", data={"code": factories.user_totp_code(admin)})
    assert location(response).endswith("/login") and not is_logged_in(client)
    assert "The sign-in has expired" in text(client.get("/login"))


def test_wrong_codes_count_toward_the_login_throttle(app):
    admin, _codes = enrolled()
    client = english(app)
    password_step(client, admin)
    for _attempt in range(accounts.ACCOUNT_FREE_FAILURES):
        client.post("/login/code", data={"code": "000000"})
    account = db.session.scalar(select(LoginThrottle).where(LoginThrottle.scope == "account",
                                                           LoginThrottle.key == admin.email))
    assert account.failures == accounts.ACCOUNT_FREE_FAILURES
    blocked = client.post("/login/code", data={"code": factories.user_totp_code(fresh(admin))})
    assert "Too many failed attempts" in text(blocked) and not is_logged_in(client)


def test_a_session_that_skipped_the_second_step_is_ended(app, client):
    member, _codes = enrolled("applicant")
    with client.session_transaction() as session:  # a login that did not pass the code step
        session["_user_id"] = member.get_id()
    response = client.get("/apply/")
    assert location(response).startswith("/login") and not is_logged_in(client)


# --- offered to the others; off with the password; new codes ------------------------------------------------------

def test_an_ngo_member_is_not_asked_and_may_turn_it_on_and_off(app):
    member = factories.make_user("applicant", language="en")
    client = english(app)
    assert location(password_step(client, member)).endswith("/apply/")
    assert client.get("/apply/").status_code == 200  # no enrolment asked
    assert "It is optional for your account" in text(client.get("/account/two-factor"))

    secret = shown_secret(text(client.get("/account/two-factor/setup")))
    client.post("/account/two-factor/setup", data={"code": pyotp.TOTP(secret).now()})
    assert two_factor.enabled(fresh(member))

    wrong = client.post("/account/two-factor/off", data={"password": "not the password"}, follow_redirects=True)
    assert "The password is not right." in text(wrong) and two_factor.enabled(fresh(member))
    off = client.post("/account/two-factor/off", data={"password": PASSWORD}, follow_redirects=True)
    assert "Two-factor sign-in is off" in text(off)
    stored = fresh(member)
    assert stored.totp_secret is None and stored.totp_enabled_at is None
    assert db.session.scalar(select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == member.id)) == 0
    assert [e.to_state for e in events(member, "two_factor_off")] == ["two_factor_off"]
    assert messages_to(member)[-1].subject == "Pumpurs Grants: two-factor sign-in is off"
    assert location(password_step(english(app), member)).endswith("/apply/")  # the password alone again


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admins_and_auditors_cannot_turn_it_off(app, client, role):
    user, _codes = enrolled(role)
    factories.login_as(client, user)
    assert "cannot be turned off" in text(client.get("/account/two-factor"))
    assert client.post("/account/two-factor/off", data={"password": PASSWORD}).status_code == 403
    assert two_factor.enabled(fresh(user)) and events(user, "two_factor_off") == []


def test_new_recovery_codes_replace_the_old_ones(app, client):
    user, old = enrolled("evaluator")
    factories.login_as(client, user)
    page = text(client.post("/account/two-factor/recovery-codes", data={"password": PASSWORD}))
    new = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", page)
    assert len(new) == 10 and not set(new) & set(old)
    assert two_factor.check_code(fresh(user), old[0]) is None
    assert two_factor.check_code(fresh(user), new[0]) == "recovery"
    assert len(events(user, "recovery_codes_renewed")) == 1
