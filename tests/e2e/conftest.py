"""Browser tests: the app served over real HTTP by werkzeug's threaded server, driven by the system Chromium.

- `live_server()` (function scope) starts the app on a fresh SQLite file — a copy of the session's migrated
  template (`_sqlite_template` in tests/conftest.py, made by the real Alembic migration) — served by
  `werkzeug.serving.make_server('127.0.0.1', 0, app, threaded=True)` in a thread, and stops it after the test.
  `serve(...)` is the same as a context manager, for module-scoped servers. CSRF is ON (unlike the `testing`
  config): a browser must get every form's token from the page, as in production.
  The server runs in this process, so `app.clock.travel_to` moves its time too.
- `server.db()` is an application context (and session) of the server's app in the test's own thread: use it for
  factories and to read the database; its session is removed afterwards, so the next read sees fresh rows.
- `server.errors` collects every unhandled exception and every 5xx the server produced; `server.assert_healthy()`.
- `browser` (module scope) is the system Chromium: `CHROMIUM_PATH`, else `chromium` on the PATH. There is no
  Playwright-downloaded browser. A missing Chromium FAILS the test with a clear message: browser tests never skip.
- `visitor(server, lang, name)` opens a fresh browser context (its own cookies: one person) in the locale of
  `lang`. `switch_language()` presses the navbar's language button, as a person would (`login()` does it on the
  login page). `problems` collects console errors (a CSP violation is one), script errors and 4xx/5xx answers;
  `shot(label)` saves a full-page screenshot into /tmp/e2e-shots (emptied at the start of a run).
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.support import NullTranslations, Translations
from flask import Flask, got_request_exception, request
from sqlalchemy import event
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app.extensions import db
from tests.conftest import SCREENSHOTS as SHOTS  # this run's screenshots, emptied when it starts

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TRANSLATIONS = Path(__file__).resolve().parents[2] / "app" / "translations"
TIMEOUT_MS = 15_000


# --- the language the user sees --------------------------------------------------------------------------------

def translator(lang: str):
    """gettext of the app's own catalogue for `lang` (what a page in that language must show)."""
    catalogue = Translations.load(str(TRANSLATIONS), [lang])
    if lang == "lv" and (type(catalogue) is NullTranslations or not catalogue._catalog):
        pytest.fail(f"The Latvian catalogue is not compiled in {TRANSLATIONS}: run `make translations` "
                    "(pybabel compile -d app/translations).", pytrace=False)
    return catalogue.gettext


# --- the live server ---------------------------------------------------------------------------------------------

class _QuietHandler(WSGIRequestHandler):
    """No access-log line per request (errors are still logged)."""

    def log_request(self, code="-", size="-"):
        pass


def _sqlite_without_fsync(dbapi_connection, _record):
    dbapi_connection.execute("PRAGMA synchronous=OFF")


@dataclass
class LiveServer:
    app: Flask
    url: str
    errors: list[str] = field(default_factory=list)

    @contextmanager
    def db(self):
        """The server app's context in this thread; the session is removed on the way out."""
        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()

    def assert_healthy(self) -> None:
        assert not self.errors, "the live server failed:\n" + "\n".join(self.errors)


@contextmanager
def serve(template: Path, folder: Path, prepare=None, **config):
    """The app on a copy of the migrated `template`, served by werkzeug's threaded server until the block ends.
    `prepare(app)` may add routes before the first request."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "grants.sqlite"
    shutil.copyfile(template, database)
    flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}",
                           UPLOAD_DIR=str(folder / "uploads"), MAIL_SERVER="", MAIL_PORT=25,
                           WTF_CSRF_ENABLED=True, **config)
    with flask_app.app_context():
        event.listen(db.engine, "connect", _sqlite_without_fsync)
    live = LiveServer(flask_app, "")

    def record_exception(_sender, exception, **_extra):
        live.errors.append(f"{request.method} {request.full_path}: {exception!r}")

    got_request_exception.connect(record_exception, flask_app, weak=False)

    @flask_app.after_request
    def record_5xx(response):
        if response.status_code >= 500:
            live.errors.append(f"{request.method} {request.full_path}: HTTP {response.status_code}")
        return response

    if prepare is not None:
        prepare(flask_app)
    server = make_server("127.0.0.1", 0, flask_app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server",
                              daemon=True)
    thread.start()
    live.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        got_request_exception.disconnect(record_exception, flask_app)
        with flask_app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def live_server(_sqlite_template, tmp_path):
    """`live_server(prepare=None)` → a LiveServer on a fresh database, stopped after the test."""
    with ExitStack() as stack:
        count = iter(range(100))

        def start(prepare=None, **config) -> LiveServer:
            return stack.enter_context(serve(_sqlite_template, tmp_path / f"server-{next(count)}", prepare,
                                             **config))

        yield start


# --- the browser -------------------------------------------------------------------------------------------------

def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("No Chromium found: set CHROMIUM_PATH or install the system package (apt-get install "
                    "chromium; .ci/run does). Browser tests use the system Chromium, never a Playwright download, "
                    "and they never skip.", pytrace=False)
    return path


@pytest.fixture(scope="module")
def browser():
    """The system Chromium, headless, for one module (Playwright's loop never outlives the browser tests)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=executable, args=BROWSER_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()


def new_context(browser, lang: str, **options):
    """A browser context as a person in Latvia would have it: the locale of `lang` (date pickers show
    dd.mm.gggg. in Latvian), Riga time, a laptop-sized window."""
    return browser.new_context(locale="lv-LV" if lang == "lv" else "en-GB", timezone_id="Europe/Riga",
                               viewport={"width": 1280, "height": 900}, **options)


class Visitor:
    """One person at one browser: a context of their own (cookies), a page, a language, screenshots."""

    def __init__(self, context, server: LiveServer, lang: str, name: str):
        self.context, self.server, self.lang, self.name = context, server, lang, name
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.problems: list[str] = []  # console errors (a CSP violation is one), script errors, 4xx/5xx answers
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"{self.page.url}: script error {error}"))
        self.page.on("response", self._response)

    def _console(self, message) -> None:
        # a failed resource is reported by _response with its own address
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"{self.page.url}: console: {message.text}")

    def _response(self, response) -> None:
        # the app has no favicon; a browser asking for one is not the app's doing
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            self.problems.append(f"{response.request.method} {response.url}: HTTP {response.status}")

    def goto(self, path: str):
        response = self.page.goto(self.server.url + path)
        assert response is not None and response.ok, f"GET {path}: {response.status if response else 'no response'}"
        return response

    def submit(self, locator):
        """Click a button that posts a form, and wait for the page that answers (after any redirect)."""
        with self.page.expect_navigation(wait_until="load"):
            locator.click()

    def switch_language(self) -> None:
        """Press the navbar's language button, and wait until the page is in this visitor's language (the POST
        answers with a redirect: under load the page that follows may load after the first navigation event)."""
        from playwright.sync_api import expect

        current = self.page.get_attribute("html", "lang")
        if current != self.lang:
            self.submit(self.page.locator(f"nav form button[name=lang][value={self.lang}]"))
        expect(self.page.locator("html")).to_have_attribute("lang", self.lang)

    def login(self, email: str, password: str) -> None:
        self.goto("/login")
        self.switch_language()
        form = self.page.locator("main form")
        form.locator("[name=email]").fill(email)
        form.locator("[name=password]").fill(password)
        self.submit(form.locator("button"))
        self.pass_two_factor(email)
        assert "/login" not in self.page.url, self.flashes()

    def pass_two_factor(self, email: str) -> None:
        """What two-factor sign-in asks after the password (app/views/two_factor.py), done as the person with the
        authenticator app would: the code of the step (from the user's stored secret), or, for an admin or auditor
        signing in for the first time, the enrolment (the key read off the page, then past the recovery codes)."""
        from sqlalchemy import select

        from app.models import User
        from tests import factories

        path = urlsplit(self.page.url).path
        if path == "/login/code":
            with self.server.db() as session:
                code = factories.user_totp_code(session.scalars(select(User).where(User.email == email)).one())
        elif path == "/account/two-factor/setup":
            code = factories.totp_code(self.page.locator("[data-totp-secret]").inner_text().replace(" ", ""))
        else:
            return
        form = self.page.locator("main form")
        form.locator("[name=code]").fill(code)
        self.submit(form.locator("button"))
        if path == "/account/two-factor/setup":
            assert self.page.locator("ul.recovery-codes li").count() == 10, self.flashes()
            self.submit(self.page.locator("main a.btn-primary"))

    def flashes(self) -> list[str]:
        return [t.strip() for t in self.page.locator("main > .alert").all_inner_texts()]

    def shot(self, label: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", label)
        self.page.screenshot(path=str(SHOTS / f"{self.lang}-{safe}.png"), full_page=True)


@pytest.fixture
def visitor(browser):
    """`visitor(server, lang, name)` → a Visitor in a new browser context; every context is closed afterwards."""
    made: list[Visitor] = []

    def open_visitor(server: LiveServer, lang: str, name: str = "visitor") -> Visitor:
        context = new_context(browser, lang)
        made.append(Visitor(context, server, lang, name))
        return made[-1]

    yield open_visitor
    for opened in made:
        opened.context.close()
