"""Fixtures for every suite, in the flaskr style: `app`, `client`, `runner`, plus builders and a real SMTP server.

Databases. Every test gets an empty database migrated by the real Alembic migration (`flask_migrate.upgrade()`):
- SQLite (always): the migration runs once per session into a template file; before each test the app's database
  file is replaced by a copy of it (a file copy is ~1 ms, a migration ~300 ms).
- PostgreSQL (when TEST_DATABASE_URL is set, for tests marked `postgres`): the migration runs once per session
  into a schema of its own (so parallel runs never meet), and every table is emptied before each test.
A test or module marked `@pytest.mark.postgres` runs once per backend: `test_x[sqlite]` and, with
TEST_DATABASE_URL set, `test_x[postgres]`. Unmarked tests run on SQLite only. A test that makes sense only on
PostgreSQL parametrizes `db_backend` itself: `@pytest.mark.parametrize("db_backend", ["postgres"])` (skipped when
TEST_DATABASE_URL is not set).

Why not "each test in a rolled-back transaction": the code under test commits (tick, the worker, every view),
and SQLite's BEGIN IMMEDIATE makes nested-transaction tricks fragile. A fresh copy per test is as fast and honest.

The app object itself is built once per backend per session (building one costs ~0.2 s); its configuration is
restored after every test.

Contexts. The `app` fixture pushes an application context for the whole test, so services, factories and
`db.session` work directly. `client` and `runner` run each request / command the way a server would: in an
application context and database session of its own (so `g`, the logged-in user and the session never leak
between requests), after committing whatever the test's own session holds, as a finished request would have.
Don't use `with client:`; use `client.session_transaction()` to look at the cookie session.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import shutil
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.cli import FlaskGroup
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from app import clock as app_clock
from app import create_app
from app.extensions import db
from tests import factories

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


SCREENSHOTS = Path("/tmp/e2e-shots")  # the browser tests' artifacts (tests/e2e/conftest.py Visitor.shot)


def pytest_sessionstart(session):
    """The screenshots folder holds this run's only: emptied once, in the controlling process when pytest-xdist
    runs the suite in several (a worker emptying it would delete the others')."""
    if not hasattr(session.config, "workerinput") and not os.environ.get("KEEP_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()


SERIAL_SUITES = ("concurrency", "reliability")  # scripts/run-tests.sh runs these alone, after the rest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).parent.name in SERIAL_SUITES:
            item.add_marker(pytest.mark.serial)


# --- which database --------------------------------------------------------------------------------------------

def pytest_generate_tests(metafunc):
    """Tests marked `postgres` run on every configured backend; the rest use the `db_backend` fixture (SQLite)."""
    if "db_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("postgres"):
        already = any("db_backend" in getattr(m, "args", ("",))[0]
                      for m in metafunc.definition.iter_markers("parametrize"))
        if not already:
            metafunc.parametrize("db_backend", BACKENDS)


@pytest.fixture
def db_backend() -> str:
    return "sqlite"


@contextmanager
def keeping_logging():
    """Alembic's env.py calls logging.fileConfig, which disables every existing logger (the app's among them) and
    replaces the root handlers; put everything back so tests that read log lines still see them."""
    manager = logging.Logger.manager
    disabled = {name: logger.disabled for name, logger in manager.loggerDict.items()
                if isinstance(logger, logging.Logger)}
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        for name, logger in manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.disabled = disabled.get(name, False)
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)


def migrate_to_head(url: str, upload_dir) -> None:
    """Run the real Alembic migration on `url` in a throwaway app."""
    from flask_migrate import upgrade

    built = create_app("testing", SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(upload_dir))
    with built.app_context(), keeping_logging():
        try:
            upgrade()
        finally:
            db.session.remove()
            db.engine.dispose()


def postgres_schema_url(schema: str) -> str:
    url = make_url(POSTGRES_URL)
    # synchronous_commit=off: a commit doesn't wait for the WAL flush (durability only; visibility and locks are
    # unchanged), which is most of a test's time on a busy disk
    options = f"-csearch_path={schema} -csynchronous_commit=off"
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


@contextmanager
def postgres_schema(prefix: str = "t"):
    """A fresh, empty schema of its own on the TEST_DATABASE_URL database; dropped afterwards."""
    schema = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield postgres_schema_url(schema)
    finally:
        with admin.connect() as connection:  # a connection a test leaked inside a transaction would block forever
            connection.execute(text("SET lock_timeout = '10s'"))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("template")
    path = folder / "grants.sqlite"
    migrate_to_head(f"sqlite:///{path}", folder / "uploads")
    return path


@pytest.fixture(scope="session")
def _postgres_migrated(tmp_path_factory):
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    with postgres_schema("pumpurs") as url:
        migrate_to_head(url, tmp_path_factory.mktemp("pg-uploads"))
        yield url


@pytest.fixture
def empty_database_url(db_backend, tmp_path):
    """An empty database (no tables at all) on the test's backend, for migration tests."""
    if db_backend == "postgres":
        if not POSTGRES_URL:
            pytest.skip("TEST_DATABASE_URL is not set")
        with postgres_schema("empty") as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"


# --- the app, its client and runner -----------------------------------------------------------------------------

def _end_test_transaction() -> None:
    """Commit what the test's session holds, as the end of a real request would, so the next request sees it."""
    from flask import has_app_context

    if has_app_context() and db.session().in_transaction():
        db.session.commit()


class IsolatedClient(FlaskClient):
    """Each request runs in its own application context and database session, as on a real server."""

    def open(self, *args, **kwargs):
        _end_test_transaction()
        # a streamed body (stream_with_context: the CSV of a list) is read inside the request's own context, as a
        # server sends it before the request ends; read later it would find the context gone
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)


class IsolatedCliRunner(FlaskCliRunner):
    """`runner.invoke(args=["audit", "verify"])` runs like `flask --app wsgi audit verify` in a fresh process:
    through a FlaskGroup (which pushes the app context, as the real `flask` command does), in an application
    context and database session of its own."""

    def invoke(self, cli=None, args=None, **kwargs):
        _end_test_transaction()
        if cli is None:
            cli = FlaskGroup(create_app=lambda: self.app, add_version_option=False, load_dotenv=False,
                             set_debug_flag=False)
        with keeping_logging():
            return contextvars.Context().run(super().invoke, cli, args, **kwargs)


def _sqlite_without_fsync(dbapi_connection, _record):
    """Tests never survive a power cut: skip the fsync at every commit (WAL and locking are unchanged)."""
    dbapi_connection.execute("PRAGMA synchronous=OFF")


def _build_app(url: str, upload_dir) -> Flask:
    flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(upload_dir), MAIL_SERVER="",
                           MAIL_PORT=25)
    flask_app.test_client_class = IsolatedClient
    flask_app.test_cli_runner_class = IsolatedCliRunner
    if url.startswith("sqlite"):
        with flask_app.app_context():
            event.listen(db.engine, "connect", _sqlite_without_fsync)
    return flask_app


@pytest.fixture(scope="session")
def _apps(tmp_path_factory, request):
    """One app per backend for the whole session: building one costs ~0.2 s (URL rules, templates and SQL are
    compiled per app and per engine); `app` resets its database and configuration before every test."""
    built: dict[str, Flask] = {}

    def get(backend: str) -> Flask:
        if backend not in built:
            if backend == "postgres":
                url = request.getfixturevalue("_postgres_migrated")
            else:
                url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'grants.sqlite'}"
            built[backend] = _build_app(url, tmp_path_factory.mktemp("uploads"))
        return built[backend]

    yield get
    for flask_app in built.values():
        with flask_app.app_context():
            db.engine.dispose()


def _reset_database(backend: str, request) -> None:
    """The migrated, empty database: SQLite gets a fresh copy of the template, PostgreSQL is emptied."""
    db.engine.dispose()  # no connection may keep the old file (or a lock) open
    if backend == "postgres":  # DELETE, children first, in one round trip: ~20× faster than TRUNCATE on few rows
        tables = list(reversed(db.metadata.sorted_tables))
        statements = [f'DELETE FROM "{t.name}";' for t in tables] + [
            f"PERFORM setval(pg_get_serial_sequence('\"{t.name}\"', 'id'), 1, false);"
            for t in tables if "id" in t.c and t.c.id.primary_key and len(t.primary_key.columns) == 1]
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DO $$ BEGIN " + " ".join(statements) + " END $$")
    else:
        path = db.engine.url.database
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)


@pytest.fixture
def app(db_backend, tmp_path, request, _apps):
    """The app on a migrated, empty database, with an application context pushed for the test. The app object is
    shared by the session: configuration changes are undone after each test; don't add routes or handlers to it
    (build your own with `create_app("testing", ...)` for that)."""
    flask_app = _apps(db_backend)
    saved = dict(flask_app.config)
    upload_dir = tmp_path / "uploads"
    upload_dir.mkdir()
    flask_app.config.update(UPLOAD_DIR=str(upload_dir), MAIL_SERVER="", MAIL_PORT=25)
    context = flask_app.app_context()
    context.push()
    try:
        _reset_database(db_backend, request)
        yield flask_app
    finally:
        db.session.remove()
        db.engine.dispose()
        context.pop()
        flask_app.config.clear()
        flask_app.config.update(saved)


@pytest.fixture
def database_url(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login_as():
    """`login_as(client, user)`: the client's next requests are `user`'s (see factories.login_as)."""
    return factories.login_as


# --- time --------------------------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _real_time_after_each_test():
    yield
    app_clock.travel_to(None)
    app_clock.shift(timedelta(0))


@pytest.fixture
def clock():
    """The app's clock: `clock.travel_to(factories.riga(2022, 4, 4, 23, 59, 59))`; reset after every test."""
    return app_clock


# --- builders (see tests/factories.py for what each one does) ---------------------------------------------------

@pytest.fixture
def make_organiser(app):
    return factories.make_organiser


@pytest.fixture
def make_organisation(app):
    return factories.make_organisation


@pytest.fixture
def make_user(app):
    return factories.make_user


@pytest.fixture
def make_call(app):
    return factories.make_call


@pytest.fixture
def make_application(app):
    return factories.make_application


@pytest.fixture
def make_applications(app):
    return factories.make_applications


@pytest.fixture
def make_assignment(app):
    return factories.make_assignment


@pytest.fixture
def make_report(app):
    return factories.make_report


@pytest.fixture
def make_payment(app):
    return factories.make_payment


@pytest.fixture
def make_recovery(app):
    return factories.make_recovery


# --- documents --------------------------------------------------------------------------------------------------

STUB_PDF = b"%PDF-1.4\n%% stub for tests that are about something else\n%%EOF\n"


@pytest.fixture
def stub_pdfs(monkeypatch):
    """WeasyPrint replaced by a fixed tiny PDF, for tests about something other than documents (a real render
    costs ~1 s here). The documents are still queued, stored once and hashed; only their bytes are fake.
    Yields the list of (kind, context, language) that were rendered."""
    from app import documents

    rendered = []

    def render(kind, context, language):
        rendered.append((kind, context, language))
        return STUB_PDF

    monkeypatch.setattr(documents, "render", render)
    return rendered


# --- a real SMTP server -----------------------------------------------------------------------------------------

@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    @property
    def attachments(self) -> list[tuple[str, str, bytes]]:
        """(filename, content type, bytes) of every attachment."""
        return [(part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
                for part in self.message.iter_attachments()]


@dataclass
class Mailbox:
    """What arrived at the SMTP server, in order."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content or envelope.content, policy=email_policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """A real aiosmtpd server on 127.0.0.1; the app's MAIL_SERVER/MAIL_PORT point at it. Yields its Mailbox."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    loop = asyncio.new_event_loop()
    controller = Controller(mailbox, loop=loop, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    try:
        yield mailbox
    finally:
        controller.stop()
        loop.close()
        app.config.update(MAIL_SERVER="", MAIL_PORT=25)
