"""Security defaults (DESIGN 4.6): the headers every answer carries, CSRF, the session cookie, the production
secret, the login rate limit, the page of an unexpected error, password hashing.

Every answer of the authorization walk (tests/security/test_authorization_matrix.py) is checked for the same headers
and for inline scripts too; here the pages are few and the rules are spelt out.
"""
from __future__ import annotations

import logging
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import Application, LoginAttempt, User
from config import DEFAULT_SECRET, ProductionConfig
from tests import factories

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


# --- helpers ----------------------------------------------------------------------------------------------------

def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def assert_strict_headers(response) -> None:
    """CSP: scripts only from our own origin (no inline, no eval), never framed; no MIME sniffing."""
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request.path}: no Content-Security-Policy"
    csp = csp_directives(header)
    scripts = csp.get("script-src", csp.get("default-src"))
    assert scripts is not None, header
    assert set(scripts) <= {"'self'"}, f"{response.request.path}: script-src {scripts}"
    assert csp.get("default-src") == ["'self'"], header
    assert csp.get("frame-ancestors") == ["'none'"], header
    assert response.headers.get("X-Content-Type-Options") == "nosniff"


class InlineScriptFinder(HTMLParser):
    """Whatever a CSP without 'unsafe-inline' would block: a <script> without src, an on… handler attribute, a
    javascript: URL."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name.lower(): value or "" for name, value in attrs}
        if tag == "script" and not names.get("src"):
            self.problems.append(f"line {self.getpos()[0]}: <script> without src")
        for name, value in names.items():
            if name.startswith("on"):
                self.problems.append(f"line {self.getpos()[0]}: <{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"line {self.getpos()[0]}: <{tag} {name}=javascript:…>")


def inline_scripts(html: str) -> list[str]:
    finder = InlineScriptFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


def in_english(client) -> None:
    with client.session_transaction() as session:
        session["lang"] = "en"


def logged_in_user(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("_user_id")


def fresh_app(tmp_path, config_name: str = "testing", **overrides):
    """A new app of its own (the shared one must not get routes or handlers), on an empty SQLite file."""
    return create_app(config_name, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'own.sqlite'}",
                      UPLOAD_DIR=str(tmp_path / "own-uploads"), **overrides)


# --- headers and inline scripts -----------------------------------------------------------------------------------

def test_pages_files_and_errors_carry_the_headers(client, login_as, stub_pdfs):
    application = factories.make_application(state="submitted")
    call = application.call
    admin = factories.admin_of(call)
    pages = ["/", "/login", "/register", "/workflows", f"/calls/{call.code}", f"/calls/{call.code}/regulations.pdf",
             "/no-such-page"]
    answers = [client.get(url) for url in pages] + [client.get("/logout")]  # 405
    login_as(client, admin)
    for url in ("/admin/", f"/admin/calls/{call.id}", f"/admin/applications/{application.id}",
                f"/documents/{application.receipt_document_id}", "/evaluate/"):  # the last one: 403
        answers.append(client.get(url))
    assert [a.status_code for a in answers] == [200] * 6 + [404, 405] + [200] * 4 + [403]
    assert answers[5].mimetype == answers[11].mimetype == "application/pdf"
    for answer in answers:
        assert_strict_headers(answer)
        assert answer.headers.get("X-Frame-Options") == "DENY"
        if answer.mimetype == "text/html":
            assert inline_scripts(answer.get_data(as_text=True)) == [], answer.request.path


def test_pages_load_scripts_from_our_own_origin_only(client):
    body = client.get("/").get_data(as_text=True)
    sources = re.findall(r'<script[^>]*\ssrc="([^"]+)"', body)
    assert sources, "the page loads Bootstrap's script"
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources


def test_no_served_template_has_an_inline_script():
    """Every branch of every page template, including those no test renders (PDF and e-mail templates are not
    served to browsers)."""
    served = [p for p in TEMPLATES.rglob("*.html") if p.relative_to(TEMPLATES).parts[0] not in ("pdf", "email")]
    assert len(served) > 20
    problems = {str(p.relative_to(TEMPLATES)): found for p in served if (found := inline_scripts(p.read_text()))}
    assert problems == {}


def test_the_scanner_would_notice_an_inline_script():
    assert inline_scripts('<p><script>alert(1)</script></p>') == ["line 1: <script> without src"]
    assert sorted(inline_scripts('<a href="javascript:go()" onclick="go()">x</a>')) == [
        "line 1: <a href=javascript:…>", "line 1: <a onclick=…>"]
    assert inline_scripts('<script src="/static/x.js"></script>') == []


# --- CSRF ---------------------------------------------------------------------------------------------------------

def _csrf_token(client, path: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"',
                      client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1) or found.group(2)


def test_csrf_is_enforced_when_enabled(app, client):
    """With CSRF on (as outside tests), a POST without the token is refused with 400 and changes nothing; the
    same POST with the page's token goes through, so it is the token that made the difference."""
    app.config["WTF_CSRF_ENABLED"] = True
    user = factories.make_user("applicant")
    call = factories.make_call(state="open")
    credentials = {"email": user.email, "password": factories.TEST_PASSWORD}

    refused = client.post("/login", data=credentials)
    assert refused.status_code == 400
    assert logged_in_user(client) is None
    assert db.session.scalar(select(func.count(LoginAttempt.id))) == 0

    forged = client.post("/login", data={**credentials, "csrf_token": "forged"})
    assert forged.status_code == 400 and logged_in_user(client) is None

    accepted = client.post("/login", data={**credentials, "csrf_token": _csrf_token(client, "/login")})
    assert accepted.status_code == 302 and logged_in_user(client) == user.get_id()

    # logged in, a state-changing POST without the token is refused just the same
    assert client.post(f"/apply/calls/{call.code}/start").status_code == 400
    assert db.session.scalar(select(func.count(Application.id)).where(Application.call_id == call.id)) == 0
    assert client.post("/logout").status_code == 400
    assert logged_in_user(client) == user.get_id()

    token = _csrf_token(client, "/apply/")
    assert client.post(f"/apply/calls/{call.code}/start", data={"csrf_token": token}).status_code == 302
    assert db.session.scalar(select(func.count(Application.id)).where(Application.call_id == call.id)) == 1


# --- the session cookie -------------------------------------------------------------------------------------------

def _session_cookie(response) -> str:
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def _attributes(cookie: str) -> set[str]:
    """'session=…; Secure; HttpOnly; Path=/; SameSite=Lax' → {'secure', 'httponly', 'path', 'samesite=lax'}."""
    parts = [part.strip().lower() for part in cookie.split(";")[1:]]
    return {part if part.startswith("samesite") else part.split("=")[0] for part in parts}


def test_session_cookie_is_httponly_and_samesite_lax(client):
    user = factories.make_user("admin")
    response = client.post("/login", data={"email": user.email, "password": factories.TEST_PASSWORD})
    assert response.status_code == 302
    attributes = _attributes(_session_cookie(response))
    assert {"httponly", "samesite=lax"} <= attributes
    assert "secure" not in attributes  # the testing configuration runs over plain http, like development


def test_production_cookies_are_secure(tmp_path):
    production = fresh_app(tmp_path, "production", SECRET_KEY="a-real-secret-from-the-environment-0123456789",
                           ALLOW_SQLITE_IN_PRODUCTION=True, PUBLIC_BASE_URL="https://granti.example.lv")
    assert production.config["SESSION_COOKIE_SECURE"] and production.config["REMEMBER_COOKIE_SECURE"]
    assert production.config["SESSION_COOKIE_HTTPONLY"] and production.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert production.config.get("WTF_CSRF_ENABLED", True) is True
    response = production.test_client().get("/login")  # the login form puts its CSRF token into the session
    assert response.status_code == 200
    assert {"secure", "httponly", "samesite=lax"} <= _attributes(_session_cookie(response))
    assert_strict_headers(response)


def test_production_refuses_the_default_secret(tmp_path, monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", DEFAULT_SECRET)  # as if SECRET_KEY were not set
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        fresh_app(tmp_path, "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        fresh_app(tmp_path, "production", SECRET_KEY=DEFAULT_SECRET)


# --- the login throttle (the rest in tests/security/test_login_throttle.py) ----------------------------------------

def test_sixth_failed_login_is_refused_even_with_the_right_password(client, clock):
    """From the address that failed five times the sixth attempt waits (2 s, doubling with every further failure;
    it was a 15-minute lock of the account for everybody until issue 5)."""
    clock.travel_to(clock.now())
    user = factories.make_user("admin")
    in_english(client)
    for _attempt in range(5):
        page = client.post("/login", data={"email": user.email, "password": "nepareiza-parole"})
        assert page.status_code == 200 and "Wrong e-mail or password." in page.get_data(as_text=True)
    sixth = client.post("/login", data={"email": user.email, "password": factories.TEST_PASSWORD})
    assert sixth.status_code == 200
    assert "Too many failed attempts. Try again in 1 min." in sixth.get_data(as_text=True)
    assert logged_in_user(client) is None
    assert client.get("/admin/").status_code == 302

    clock.travel_to(clock.now() + timedelta(seconds=2))  # the delay has passed: the right password works again
    again = client.post("/login", data={"email": user.email, "password": factories.TEST_PASSWORD})
    assert again.status_code == 302 and logged_in_user(client) == user.get_id()


# --- an unexpected error ------------------------------------------------------------------------------------------

def test_an_unexpected_error_shows_a_reference_and_logs_it(tmp_path, caplog):
    own = fresh_app(tmp_path, PROPAGATE_EXCEPTIONS=False)  # as a server runs: the error handler answers

    @own.get("/boom")
    def boom():
        raise RuntimeError("internal detail: connection string postgresql://secret@db")

    with caplog.at_level(logging.ERROR):
        response = own.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    reference = re.search(r'class="error-reference">([0-9a-f]{6,})<', body)
    assert reference, body
    logged = [r.getMessage() for r in caplog.records if r.name == "app" and r.levelno >= logging.ERROR]
    assert any(reference.group(1) in line for line in logged), logged
    for secret in ("Traceback", "RuntimeError", "internal detail", "postgresql://", 'File "'):
        assert secret not in body
    assert_strict_headers(response)


# --- passwords ----------------------------------------------------------------------------------------------------

def test_passwords_are_stored_hashed_with_scrypt(client, app):
    password = "Ogres-jaunieši-2022-parole"
    response = client.post("/register", data={
        "organisation_name": "Biedrība „Ogres jaunieši”", "registration_number": factories.registration_number(),
        "legal_form": "biedriba", "iban": factories.IBAN, "organisation_email": "info@ogres-jauniesi.lv",
        "address": "Brīvības iela 1, Ogre", "user_name": "Anna Bērziņa", "email": "anna@ogres-jauniesi.lv",
        "password": password, "password_again": password})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "anna@ogres-jauniesi.lv"))
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password(password) and not user.check_password(password.upper())

    staff = User(email="vertetajs@eksperti.example.com", name="Vērtētājs", role="evaluator")
    staff.set_password(password)
    assert staff.password_hash.startswith("scrypt:") and staff.password_hash != user.password_hash  # salted

    # the plain password is nowhere in the database: not in users, not in the audit trail, not in a message
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            assert password not in repr(tuple(row)), table.name
