"""Fixtures of the reliability suite: a migrated database of the scenario's own, an in-process app on it (to seed
and to read what was stored), and the checks every scenario makes of the stored submissions.

These tests run real processes (gunicorn, a PostgreSQL of their own) against PostgreSQL only: they need
TEST_DATABASE_URL (CI sets it; without it they skip, and CI counts a skip as a failure).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from tests.conftest import migrate_to_head
from tests.reliability import servers

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture
def shared_uploads():
    """One directory the scenario's servers share (as UPLOAD_DIR on a shared disk would be), removed after."""
    folder = tempfile.mkdtemp(prefix="pumpurs-rel-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def scenario_database(shared_uploads):
    """A fresh schema on the shared test database, migrated to head; dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL is not set: the reliability suite runs on PostgreSQL")
    url, schema = servers.fresh_schema_url(POSTGRES_URL)
    try:
        migrate_to_head(url, shared_uploads)
        yield url
    finally:
        servers.drop_schema(POSTGRES_URL, schema)


@pytest.fixture
def app_on():
    """`app_on(url, shared_uploads)`: the app in the testing configuration on `url`, for seeding with the builders
    and reading back; its connections are closed after the test, whatever happened."""
    built = []

    def build(url: str, shared_uploads: str):
        built.append(create_app("testing", SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=shared_uploads,
                                MAIL_SERVER=""))
        return built[-1]

    yield build
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def assert_nothing_half_written(call_id: int, prefix: str, ids: list[int]) -> list[str]:
    """Every application of `ids` is either a draft untouched by a submit (no number, no time, no hash, no submit
    event, no receipt) or submitted whole (number, time, hash, exactly one submit event, its receipt document);
    the numbers taken are exactly 1..n and the call's counter is at n. Returns {submitted id: its number}."""
    from app.models import Application, AuditEvent, Document, NumberCounter

    db.session.expire_all()
    events = Counter(db.session.scalars(select(AuditEvent.entity_id).where(
        AuditEvent.entity_type == "application", AuditEvent.trigger == "submit", AuditEvent.entity_id.in_(ids))))
    receipts = set(db.session.scalars(select(Document.id).where(Document.kind == "receipt")))
    numbers = {}
    for application in db.session.scalars(select(Application).where(Application.id.in_(ids))):
        facts = (application.id, application.status, application.number, application.submitted_at,
                 application.content_sha256, events[application.id], application.receipt_document_id)
        if application.status == "draft":
            assert facts[2:] == (None, None, None, 0, None), facts
        else:
            assert application.status == "submitted", facts
            assert application.number and application.submitted_at and len(application.content_sha256) == 64, facts
            assert events[application.id] == 1 and application.receipt_document_id in receipts, facts
            numbers[application.id] = application.number
    assert sorted(numbers.values()) == [f"{prefix}-{n:03d}" for n in range(1, len(numbers) + 1)]
    assert db.session.get(NumberCounter, call_id).last_number == len(numbers)
    assert db.session.scalar(select(func.count(Application.id)).where(Application.call_id == call_id)) == len(ids)
    return numbers
