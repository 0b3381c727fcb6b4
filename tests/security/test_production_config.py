"""The production configuration (issue 9, security suite): HSTS, cookies that only travel over https and never to
scripts, and the settings the production app refuses to start with, each refusal a sentence that says what to do.

A production app is made of ProductionConfig plus the overrides each test names; the good base below (PostgreSQL's
address, an https site, a generated secret) starts, and each test spoils one thing of it. SQLAlchemy does not connect
when the app is made, so the PostgreSQL address need not name a running server.
"""
from __future__ import annotations

import re

import pytest
from flask_login import UserMixin, login_user

from app import create_app
from config import DEFAULT_SECRET, HSTS_MAX_AGE, production_problems

GOOD = {"SECRET_KEY": "8c1f0a5e9b2d47f6a3e1c0d9b8a7f6e5d4c3b2a1", "PUBLIC_BASE_URL": "https://granti.ogre.lv",
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://grants:grants@127.0.0.1:5432/nowhere"}
YEAR = 365 * 24 * 3600


def production(tmp_path, **overrides):
    return create_app("production", **{**GOOD, "UPLOAD_DIR": str(tmp_path / "uploads"), **overrides})


def served(tmp_path, **overrides):
    """A production app on an empty SQLite file (allowed explicitly), for requests."""
    return production(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.sqlite'}",
                      ALLOW_SQLITE_IN_PRODUCTION=True, **overrides)


def refusal(tmp_path, **overrides) -> str:
    with pytest.raises(RuntimeError) as refused:
        production(tmp_path, **overrides)
    message = str(refused.value)
    assert message.startswith("Refusing to start in production: "), message
    return message


def cookies(response) -> dict[str, set[str]]:
    """Set-Cookie headers → {name: {'secure', 'httponly', 'samesite=lax', …}}."""
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        parts = [part.strip().lower() for part in header.split(";")[1:]]
        found[name] = {part if part.startswith("samesite") else part.split("=")[0] for part in parts}
    return found


# --- what it sends ------------------------------------------------------------------------------------------------

def test_every_answer_in_production_carries_hsts_of_at_least_a_year(tmp_path):
    client = served(tmp_path).test_client()
    for url, status in (("/login", 200), ("/no-such-page", 404), ("/apply/", 302), ("/logout", 405)):
        response = client.get(url)
        assert response.status_code == status, url
        header = response.headers.get("Strict-Transport-Security", "")
        found = re.fullmatch(r"max-age=(\d+)", header)
        assert found and int(found.group(1)) >= YEAR, (url, header)
    assert HSTS_MAX_AGE >= YEAR


@pytest.mark.parametrize("name", ["development", "testing"])
def test_development_and_tests_send_no_hsts(tmp_path, name):
    """Plain http on a developer's machine: a browser told HSTS for localhost would refuse it for two years."""
    app = create_app(name, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'd.sqlite'}",
                     UPLOAD_DIR=str(tmp_path / "uploads"))
    for url in ("/login", "/no-such-page"):
        assert "Strict-Transport-Security" not in app.test_client().get(url).headers


def test_the_session_cookie_is_secure_httponly_and_samesite(tmp_path):
    response = served(tmp_path).test_client().get("/login")  # the form's CSRF token goes into the session
    assert {"secure", "httponly", "samesite=lax"} <= cookies(response)["session"]


def test_the_language_lives_in_the_session_cookie_only(tmp_path):
    """Switching the language sets no cookie of its own: the choice is kept in the (secure) session."""
    client = served(tmp_path).test_client()  # over https: a browser sends a Secure cookie back only there
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    response = client.post("/language", data={"csrf_token": token.group(1), "lang": "en", "next": "/login"},
                           base_url="https://localhost", headers={"Referer": "https://localhost/login"})
    assert response.status_code == 302  # (over https Flask-WTF also wants a Referer of the same site)
    set_now = cookies(response)
    assert set(set_now) == {"session"}, set_now
    assert {"secure", "httponly", "samesite=lax"} <= set_now["session"]
    assert "Log in" in client.get("/login", base_url="https://localhost").get_data(as_text=True)  # it took


class _Member(UserMixin):
    id = "7:1"


def test_the_remember_me_cookie_is_secure_httponly_and_samesite(tmp_path):
    """No page offers "remember me" today; if one ever does, Flask-Login's cookie is set as the session's is."""
    app = served(tmp_path)
    with app.test_request_context("/login"):
        login_user(_Member(), remember=True)
        response = app.process_response(app.make_response("signed in"))
    assert {"secure", "httponly", "samesite=lax"} <= cookies(response)["remember_token"]


def test_the_good_base_starts(tmp_path):
    app = production(tmp_path)
    assert app.config["PREFERRED_URL_SCHEME"] == "https" and app.config.get("WTF_CSRF_ENABLED", True)
    assert production_problems(app.config) == []


# --- what it refuses ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("secret", "reason"), [
    (DEFAULT_SECRET, "SECRET_KEY is the development default"),
    ("x" * 31, "SECRET_KEY has 31 bytes, fewer than 32"),
    ("", "SECRET_KEY has 0 bytes"),
    ("change-me-to-a-long-random-string-before-going-live", "SECRET_KEY is a placeholder"),
    ("django-insecure-0123456789abcdefghijklmnopqrstuvwxyz", "SECRET_KEY is a placeholder"),
    ("your-secret-key-here-0123456789abcdefghijkl", "SECRET_KEY is a placeholder"),
    ("REPLACE_ME_REPLACE_ME_REPLACE_ME_REPLACE_ME", "SECRET_KEY is a placeholder"),
    ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "SECRET_KEY is a placeholder"),
], ids=["default", "short", "empty", "change-me", "django-insecure", "your-secret-key", "replace-me", "xxx"])
def test_a_weak_or_placeholder_secret_is_refused(tmp_path, secret, reason):
    message = refusal(tmp_path, SECRET_KEY=secret)
    assert reason in message
    assert "secrets.token_hex(32)" in message  # and how to make a good one


def test_debug_is_refused_whether_set_or_from_flask_debug(tmp_path, monkeypatch):
    sentence = "DEBUG is on, and its debugger would let any visitor run code on the server; unset FLASK_DEBUG."
    assert sentence in refusal(tmp_path, DEBUG=True)
    monkeypatch.setenv("FLASK_DEBUG", "1")  # `flask run --debug`, or the variable left in a shell
    assert sentence in refusal(tmp_path)


def test_testing_is_refused(tmp_path):
    assert "TESTING is on" in refusal(tmp_path, TESTING=True)


def test_sqlite_is_refused_unless_allowed(tmp_path, monkeypatch):
    sqlite = f"sqlite:///{tmp_path / 'p.sqlite'}"
    assert "DATABASE_URL names a SQLite database" in refusal(tmp_path, SQLALCHEMY_DATABASE_URI=sqlite)
    assert "ALLOW_SQLITE_IN_PRODUCTION=1" in refusal(tmp_path, SQLALCHEMY_DATABASE_URI=sqlite)
    # the environment variable allows it (the configuration class reads it when config is imported)
    monkeypatch.setenv("ALLOW_SQLITE_IN_PRODUCTION", "1")
    import importlib

    import config

    try:
        importlib.reload(config)
        assert config.ProductionConfig.ALLOW_SQLITE_IN_PRODUCTION is True
        assert config.production_problems({**GOOD, "SQLALCHEMY_DATABASE_URI": sqlite,
                                           "ALLOW_SQLITE_IN_PRODUCTION": True, "PREFERRED_URL_SCHEME": "https",
                                           "HSTS_MAX_AGE": HSTS_MAX_AGE}) == []
    finally:
        monkeypatch.delenv("ALLOW_SQLITE_IN_PRODUCTION")
        importlib.reload(config)


@pytest.mark.parametrize("base", ["http://127.0.0.1:5000", "http://granti.ogre.lv", "", "https://"])
def test_an_address_that_is_not_https_is_refused(tmp_path, base):
    assert "the links in e-mails and receipts must be the site's https:// address" in refusal(
        tmp_path, PUBLIC_BASE_URL=base)


def test_the_url_scheme_and_hsts_cannot_be_turned_off(tmp_path):
    assert "PREFERRED_URL_SCHEME is not https" in refusal(tmp_path, PREFERRED_URL_SCHEME="http")
    assert "HSTS_MAX_AGE is not set" in refusal(tmp_path, HSTS_MAX_AGE=0)


def test_every_problem_is_named_at_once(tmp_path):
    """An operator fixes them all in one go, not one per restart."""
    message = refusal(tmp_path, SECRET_KEY=DEFAULT_SECRET, DEBUG=True,
                      SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.sqlite'}", PUBLIC_BASE_URL="http://x")
    for reason in ("SECRET_KEY is the development default", "DEBUG is on", "SQLite", "PUBLIC_BASE_URL is 'http://x'"):
        assert reason in message
    assert not (tmp_path / "uploads").exists()  # refused before it touched the disk
