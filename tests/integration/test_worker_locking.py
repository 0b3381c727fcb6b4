"""The worker renders PDFs outside any transaction: a click during a slow render is never locked out (SQLite)."""
import sqlite3

import pytest

from app import create_app, documents
from app.extensions import db
from app.models import Document, Job
from app.services import jobs


@pytest.fixture
def sqlite_app(tmp_path):
    path = tmp_path / "worker.sqlite"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", UPLOAD_DIR=str(tmp_path / "up"))
    with app.app_context():
        db.create_all()
        yield app, path
        db.session.remove()
        db.engine.dispose()


def test_a_write_gets_through_while_the_worker_renders(sqlite_app, monkeypatch):
    app, path = sqlite_app
    document = jobs.queue_document("receipt", "application", 1, "lv", {"application": {}}, "x.pdf")
    db.session.commit()
    writes_during_render = []

    def slow_render(kind, context, language):
        other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails with 'database is locked' if the worker holds the lock
            other.execute("UPDATE jobs SET error = 'touched' WHERE id = -1")
            other.execute("COMMIT")
            writes_during_render.append("ok")
        finally:
            other.close()
        return b"%PDF-1.7 stub"

    monkeypatch.setattr(documents, "render", slow_render)
    assert jobs.run_pending() == 1
    assert writes_during_render == ["ok"]
    stored = db.session.get(Document, document.id)
    assert stored.content == b"%PDF-1.7 stub" and stored.sha256 is not None
    assert db.session.get(Job, 1).status == "done"


def test_a_document_is_rendered_once_even_if_two_workers_race(sqlite_app, monkeypatch):
    app, _path = sqlite_app
    document = jobs.queue_document("receipt", "application", 1, "lv", {"application": {}}, "x.pdf")
    db.session.commit()
    renders = []

    def render_and_let_another_store_first(kind, context, language):
        renders.append(kind)
        if len(renders) == 1:  # a second worker finishes while the first is still rendering
            jobs.render_stored(document.id)
        return f"%PDF-1.7 render {len(renders)}".encode()

    monkeypatch.setattr(documents, "render", render_and_let_another_store_first)
    jobs.render_stored(document.id)
    stored = db.session.get(Document, document.id)
    assert stored.content == b"%PDF-1.7 render 2"  # the first stored result stands; the later one is dropped
