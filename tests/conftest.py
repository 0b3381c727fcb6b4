"""Fixtures for every suite, in the flaskr style: `app`, `client`, `runner`, plus builders and a real SMTP server.

Databases. Every test gets a database migrated by the real Alembic migration (`flask_migrate.upgrade()`):
- SQLite (always): the migration runs once per session into a template file; each test gets a copy of it
  (a file copy is ~1 ms, a migration ~300 ms).
- PostgreSQL (when TEST_DATABASE_URL is set, for tests marked `postgres`): the migration runs once per session
  into a schema of its own (so parallel runs never meet), and every table is truncated before each test.
A test or module marked `@pytest.mark.postgres` runs once per backend: `test_x[sqlite]` and, with
TEST_DATABASE_URL set, `test_x[postgres]`. Unmarked tests run on SQLite only. A test that makes sense only on
PostgreSQL parametrizes `db_backend` itself: `@pytest.mark.parametrize("db_backend", ["postgres"])` (skipped when
TEST_DATABASE_URL is not set).

Why not "each test in a rolled-back transaction": the code under test commits (tick, the worker, every view),
and SQLite's BEGIN IMMEDIATE makes nested-transaction tricks fragile. A fresh copy per test is as fast and honest.

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

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import clock as app_clock
from app import create_app
from app.extensions import db
from tests import factories

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


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
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


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
        with admin.connect() as connection:
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
def database_url(db_backend, tmp_path, request) -> str:
    """A migrated, empty database for this test."""
    if db_backend == "postgres":
        return request.getfixturevalue("_postgres_migrated")
    target = tmp_path / "grants.sqlite"
    shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
    return f"sqlite:///{target}"


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


def _truncate_everything() -> None:
    tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


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
        return contextvars.Context().run(super().open, *args, **kwargs)


class IsolatedCliRunner(FlaskCliRunner):
    """Each command runs in its own application context, like `flask --app wsgi …` in a fresh process."""

    def invoke(self, cli=None, args=None, **kwargs):
        _end_test_transaction()
        with keeping_logging():
            return contextvars.Context().run(super().invoke, cli, args, **kwargs)


@pytest.fixture
def app(database_url, db_backend, tmp_path):
    flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, UPLOAD_DIR=str(tmp_path / "uploads"),
                           MAIL_SERVER="", MAIL_PORT=25)
    flask_app.test_client_class = IsolatedClient
    flask_app.test_cli_runner_class = IsolatedCliRunner
    context = flask_app.app_context()
    context.push()
    try:
        if db_backend == "postgres":
            _truncate_everything()
        yield flask_app
    finally:
        db.session.remove()
        context.pop()
        with flask_app.app_context():
            db.engine.dispose()


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
