"""The database out of reach (issue 9, "PostgreSQL restarted in the middle of a burst"): a request that loses its
connection mid-transaction, or finds none, gets a 503 page in Latvian and English with Retry-After, never a
traceback, and nothing it had begun is stored. Simulated in-process here; tests/reliability/
test_database_restart.py restarts a real PostgreSQL under gunicorn."""
from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import Application, AuditEvent
from tests.factories import login_as, member_of

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]

LV = "Pakalpojums uz brīdi nav pieejams"
EN = "The service is briefly unavailable"


def _assert_unavailable_page(response):
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page[:500]
    assert response.headers["Retry-After"].isdigit()
    assert LV in page and "mēģiniet vēlreiz" in page
    assert EN in page and "try again" in page
    for leak in ("Traceback", "sqlalchemy", "psycopg", "sqlite3", "OperationalError", "closed"):
        assert leak not in page


@pytest.fixture
def cut_connection_at(app):
    """`cut_connection_at("INSERT INTO audit_events")`: the first statement starting so finds its connection gone
    (the server closed it, as a restart does): the DBAPI connection is closed under SQLAlchemy's feet."""
    engine = db.engine
    armed = {}

    def before(conn, _cursor, statement, *_args):
        prefix = armed.get("prefix")
        if prefix and statement.lstrip().upper().startswith(prefix):
            armed.clear()
            conn.connection.dbapi_connection.close()

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield lambda prefix: armed.update(prefix=prefix.upper())
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_a_submit_that_loses_its_connection_midway_gets_the_503_page_and_stores_nothing(
        app, client, make_call, make_application, cut_connection_at):
    call = make_call(state="open")
    draft = make_application(call, state="draft")
    draft_id = draft.id
    login_as(client, member_of(draft))
    cut_connection_at("INSERT INTO audit_events")  # after the application row was updated in the transaction

    response = client.post(f"/apply/applications/{draft_id}/submit", data={"confirmed": "1"})

    _assert_unavailable_page(response)
    db.session.expire_all()
    stored = db.session.get(Application, draft_id)
    assert (stored.status, stored.number, stored.submitted_at, stored.content_sha256) == ("draft", None, None, None)
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.entity_id == draft_id, AuditEvent.trigger == "submit")) == 0
    # the next request gets a fresh connection and is served
    again = client.post(f"/apply/applications/{draft_id}/submit", data={"confirmed": "1"})
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/applications/{draft_id}/receipt")
    db.session.expire_all()
    assert db.session.get(Application, draft_id).status == "submitted"


def test_a_request_that_cannot_connect_at_all_gets_the_503_page(app, client, make_call, make_application):
    call = make_call(state="open")
    draft = make_application(call, state="draft")
    login_as(client, member_of(draft))
    db.session.commit()
    engine = db.engine
    dbapi = engine.dialect.dbapi

    def refuse(*_args, **_kwargs):
        raise dbapi.OperationalError("connection refused: the server is restarting")

    engine.dispose()  # no pooled connection left: every request must connect
    event.listen(engine, "do_connect", refuse)
    try:
        response = client.get("/apply/")
        anonymous = client.get("/")
    finally:
        event.remove(engine, "do_connect", refuse)
    _assert_unavailable_page(response)
    assert anonymous.status_code in (200, 503)  # the public index may not need the database at all
    if anonymous.status_code == 503:
        _assert_unavailable_page(anonymous)
    assert client.get("/apply/").status_code == 200  # back as soon as the database is


@pytest.mark.parametrize("config_name", ["development", "testing", "production"])
def test_every_configuration_tests_a_pooled_connection_before_using_it(config_name, tmp_path):
    """pool_pre_ping: after a database restart the next request reconnects instead of failing on a dead pooled
    connection (tests/reliability/test_database_restart.py shows it under gunicorn)."""
    from app import create_app

    built = create_app(config_name, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'x.sqlite'}",
                       UPLOAD_DIR=str(tmp_path / "uploads"), SECRET_KEY="k" * 64, ALLOW_SQLITE_IN_PRODUCTION=True,
                       PUBLIC_BASE_URL="https://grants.example.lv")
    with built.app_context():
        assert db.engine.pool._pre_ping is True
        db.engine.dispose()
