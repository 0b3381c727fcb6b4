"""First downloads of documents while the worker renders them, on the threaded server (SQLite's one write lock).

A download of a document no worker has rendered yet renders it and stores it from inside a GET. A GET begins
its transaction deferred; upgrading that to a write while the worker writes gave `database is locked` (a 500).
"""
from __future__ import annotations

import threading
import urllib.request

import pytest
from werkzeug.serving import make_server

from app.extensions import db
from app.models import Document
from app.worker import run_forever
from tests import factories

DOWNLOADERS = 6


@pytest.fixture
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def download(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_downloads_while_the_worker_renders_never_fail(app, served):
    calls = [factories.make_call("announced") for _ in range(DOWNLOADERS)]
    codes = [call.code for call in calls]
    db.session.commit()
    db.session.close()
    assert db.session.scalar(db.select(db.func.count()).select_from(Document)
                             .where(Document.sha256.is_(None))) >= DOWNLOADERS
    db.session.close()

    stop = threading.Event()
    worker = threading.Thread(target=run_forever, args=(app, 0.05, stop), daemon=True)
    barrier = threading.Barrier(DOWNLOADERS + 1)
    results: list[tuple[int, bytes] | None] = [None] * DOWNLOADERS

    def downloader(index: int) -> None:
        barrier.wait(30)
        results[index] = download(f"{served}/calls/{codes[index]}/regulations.pdf")

    threads = [threading.Thread(target=downloader, args=(i,), daemon=True) for i in range(DOWNLOADERS)]
    for thread in threads:
        thread.start()
    worker.start()
    barrier.wait(30)
    for thread in threads:
        thread.join(120)
    stop.set()
    worker.join(30)

    statuses = [status for status, _body in results]
    assert statuses == [200] * DOWNLOADERS, [body[:300] for status, body in results if status != 200]
    assert all(body.startswith(b"%PDF") for _status, body in results)
    stored = db.session.scalars(db.select(Document).where(Document.kind == "regulations")).all()
    assert all(document.sha256 for document in stored)
