"""Sessions the server can end (issue 5, point 4), and the secret that signs them.

The session cookie is signed, not stored: before session versions, a copy kept from before POST /logout still opened
/apply/ afterwards. Now every session names the user *and* the session version it was issued for
(User.get_id() → "id:version"); logout, a new password and deactivation add one to the version, and the user
loader takes a cookie with an older version for an anonymous visitor.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app import create_app
from app.errors import Refused
from app.extensions import db
from app.models import User
from app.services import accounts
from config import DEFAULT_SECRET
from tests import factories


def log_in(client, user) -> str:
    """Log in on the form, as a browser does; the session cookie the server set."""
    response = client.post("/login", data={"email": user.email, "password": factories.TEST_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get_cookie("session").value


def replay(app, cookie: str):
    """Another browser that presents `cookie` (copied, stolen, or kept from before), asking for the NGO's pages."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/apply/")


def is_anonymous(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.fixture
def member(make_user):
    return make_user("applicant")


def test_a_cookie_kept_from_before_logout_is_anonymous_afterwards(app, client, member):
    cookie = log_in(client, member)
    assert replay(app, cookie).status_code == 200  # the copy works while the session lasts: the replay is real

    assert client.post("/logout").status_code == 302
    assert is_anonymous(client.get("/apply/"))
    assert is_anonymous(replay(app, cookie))
    # and logging in again gives a session that works (the old cookie still does not)
    fresh = log_in(app.test_client(), member)
    assert replay(app, fresh).status_code == 200 and is_anonymous(replay(app, cookie))


def test_logout_ends_the_users_sessions_on_other_devices_too(app, client, member):
    laptop, phone = log_in(client, member), log_in(app.test_client(), member)
    client.post("/logout")
    assert is_anonymous(replay(app, laptop)) and is_anonymous(replay(app, phone))


def test_a_new_password_ends_every_session(app, client, member):
    cookie = log_in(client, member)
    accounts.change_password(member, "zaļā-tējkanna-trīs-kalni")
    db.session.commit()
    assert is_anonymous(replay(app, cookie))
    assert is_anonymous(client.get("/apply/"))  # the browser that kept the cookie is logged out as well
    response = client.post("/login", data={"email": member.email, "password": "zaļā-tējkanna-trīs-kalni"})
    assert response.status_code == 302 and client.get("/apply/").status_code == 200


def test_a_weak_new_password_is_refused_and_the_sessions_stay(app, client, member):
    cookie = log_in(client, member)
    with pytest.raises(Refused, match="pārāk viegli uzminēt"):
        accounts.change_password(member, "parole123456")
    db.session.rollback()
    assert replay(app, cookie).status_code == 200


def test_deactivation_ends_every_session(app, client, member):
    cookie = log_in(client, member)
    accounts.deactivate(member)
    db.session.commit()
    assert is_anonymous(replay(app, cookie))
    response = client.post("/login", data={"email": member.email, "password": factories.TEST_PASSWORD})
    assert response.status_code == 200 and "Nepareizs e-pasts vai parole." in response.get_data(as_text=True)


def test_a_session_that_names_only_the_user_id_is_anonymous(app, member):
    """The cookies of before session versions ("_user_id": "7") and made-up versions name nobody."""
    for forged in (str(member.id), f"{member.id}:0", f"{member.id}:2", f"{member.id}:", f":{member.id}", "x:1"):
        browser = app.test_client()
        with browser.session_transaction() as session:
            session["_user_id"] = forged
            session["_fresh"] = True
        assert is_anonymous(browser.get("/apply/")), forged
    version = db.session.scalar(select(User.session_version).where(User.id == member.id))
    assert member.get_id() == f"{member.id}:{version}"


# --- the secret that signs the sessions -----------------------------------------------------------------------------

def production(tmp_path, secret):
    return create_app("production", SECRET_KEY=secret, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.sqlite'}",
                      UPLOAD_DIR=str(tmp_path / "uploads"), ALLOW_SQLITE_IN_PRODUCTION=True,
                      PUBLIC_BASE_URL="https://granti.example.lv")


@pytest.mark.parametrize("secret", [
    DEFAULT_SECRET, f"  {DEFAULT_SECRET}\n", "", "   ", None, "x" * 31, " " * 20 + "x" * 31 + "\n" * 10,
    "ā" * 15,  # 30 bytes in UTF-8 (15 characters)
    b"k" * 31,
], ids=["default", "default-padded", "empty", "blank", "unset", "31-bytes", "31-bytes-padded", "30-bytes-utf8",
        "31-raw-bytes"])
def test_production_refuses_a_short_or_default_secret(tmp_path, secret):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        production(tmp_path, secret)


@pytest.mark.parametrize("secret", ["k" * 32, "ā" * 16, b"\x01" * 32, "  " + "k" * 32 + "\n"],
                         ids=["32-bytes", "32-bytes-utf8", "32-raw-bytes", "32-bytes-padded"])
def test_production_accepts_a_secret_of_32_bytes(tmp_path, secret):
    assert production(tmp_path, secret).config["SECRET_KEY"] == secret


def test_the_environment_chooses_production(tmp_path, monkeypatch):
    """APP_ENV=production (the README's way to start the server) applies the same check."""
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(None, SECRET_KEY="short", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.sqlite'}",
                   UPLOAD_DIR=str(tmp_path / "uploads"))
