"""Two workers on one PostgreSQL database (issue 9): 1,000 jobs, documents and e-mails mixed, each document rendered
exactly once and each e-mail sent exactly once (counted at a real aiosmtpd server, by Message-ID); and a worker
process killed with SIGKILL in the middle of a real PDF render leaves its job to the other worker once its lease
runs out, and the document is still stored exactly once."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from app import clock, documents
from app.extensions import db
from app.models import Document, Job, Message
from app.services import jobs

ROOT = Path(__file__).resolve().parents[2]
N = 500  # documents, and as many e-mails


def _queue_mixed_jobs(n: int) -> tuple[list[int], list[int]]:
    """n documents and n e-mails, their jobs interleaved in the queue as a busy day would leave them (rows
    inserted in bulk: queueing is not what this test measures)."""
    now = clock.now()
    document_ids = list(db.session.scalars(insert(Document).returning(Document.id, sort_by_parameter_order=True), [
        {"kind": "letter", "entity_type": "application", "entity_id": i, "language": "lv", "context": {"n": i},
         "filename": f"letter-{i}.pdf", "created_at": now} for i in range(n)]))
    message_ids = list(db.session.scalars(insert(Message).returning(Message.id, sort_by_parameter_order=True), [
        {"recipient": f"org-{i}@example.lv", "language": "lv", "subject": f"Vēstule {i}",
         "body_text": f"Labdien, {i}!", "body_html": f"<p>Labdien, {i}!</p>", "delivery": "pending",
         "created_at": now} for i in range(n)]))
    db.session.execute(insert(Job), [
        {"kind": kind, "target_id": target, "status": "pending", "attempts": 0, "created_at": now}
        for pair in zip(document_ids, message_ids) for kind, target in zip(("document", "email"), pair)])
    db.session.commit()
    return document_ids, message_ids


@pytest.mark.parametrize("db_backend", ["postgres"])
def test_two_workers_do_a_thousand_jobs_each_exactly_once(app, smtp_server, stub_pdfs, monkeypatch):
    document_ids, message_ids = _queue_mixed_jobs(N)
    messages = db.session.scalars(select(Message).where(Message.id.in_(message_ids))).all()
    expected_ids = {f"<message-{m.id}.{m.created_at:%Y%m%d%H%M%S}@localhost>" for m in messages}
    db.session.commit()
    db.session.close()
    done_by: Counter = Counter()
    deliver = jobs.deliver

    def delivering(message_id):  # which worker sent it: both must have worked
        done_by[threading.current_thread().name] += 1
        return deliver(message_id)

    monkeypatch.setattr(jobs, "deliver", delivering)
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            with app.app_context():  # its own session and connection
                barrier.wait(10)
                while jobs.run_pending(limit=50):
                    pass
                db.session.remove()
        except BaseException as error:  # noqa: BLE001  reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, name=f"worker-{i}") for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads) and not errors, errors

    rendered = Counter(context["n"] for _kind, context, _language in stub_pdfs)
    assert rendered == Counter({i: 1 for i in range(N)})
    arrived = Counter(r.message["Message-ID"] for r in smtp_server.received)
    assert arrived == Counter({i: 1 for i in expected_ids})
    assert set(done_by) == {"worker-1", "worker-2"} and sum(done_by.values()) == N
    assert dict(db.session.execute(select(Job.status, func.count()).group_by(Job.status)).all()) == {"done": 2 * N}
    assert db.session.scalar(select(func.max(Job.attempts))) == 1  # no job was taken twice
    assert db.session.scalar(select(func.count()).select_from(Document).where(Document.sha256.is_(None))) == 0
    assert db.session.scalar(select(func.count()).select_from(Message).where(Message.delivery != "sent")) == 0


KILLED_WORKER = textwrap.dedent("""
    import os, sys
    from app import create_app, documents
    from app.services import jobs

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=os.environ["WORKER_DATABASE_URL"],
                     UPLOAD_DIR=os.environ["WORKER_UPLOAD_DIR"], MAIL_SERVER="")
    real_render = documents.render

    def render(kind, context, language):  # says it started, then renders for real (and is killed meanwhile)
        with open(os.environ["WORKER_MARKER"], "w") as marker:
            marker.write(kind)
        return real_render(kind, context, language)

    documents.render = render
    with app.app_context():
        jobs.run_pending()
    sys.exit(3)  # never reached: the test kills it mid-render
""")


@pytest.mark.parametrize("db_backend", ["postgres"])
def test_a_worker_killed_mid_render_leaves_its_job_to_the_other(app, make_call, make_applications, clock,
                                                               tmp_path, monkeypatch):
    make_applications(make_call(state="open"), ["submitted"])  # its receipt is queued, not yet rendered
    document_jobs = {job.id: job.target_id for job in
                     db.session.scalars(select(Job).where(Job.kind == "document", Job.status == "pending"))}
    assert document_jobs
    db.session.commit()
    marker = tmp_path / "rendering"
    environment = {**os.environ, "WORKER_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                   "WORKER_UPLOAD_DIR": app.config["UPLOAD_DIR"], "WORKER_MARKER": str(marker)}
    output = tmp_path / "worker.log"
    with output.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-c", KILLED_WORKER], cwd=ROOT, env=environment,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # waiting for another process to reach the render, not for a backoff
        assert marker.exists(), output.read_text(errors="replace")[-3000:]
        process.send_signal(signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)

    db.session.expire_all()
    (job_id,) = db.session.scalars(select(Job.id).where(Job.status == "running"))  # the one it was rendering
    receipt_id = document_jobs[job_id]
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert (job.status, job.attempts) == ("running", 1)  # the dead worker's claim, its lease still running
    assert db.session.get(Document, receipt_id).sha256 is None
    leased_until = job.leased_until
    renders = []
    render = documents.render

    def counting(kind, context, language):
        renders.append(kind)
        return render(kind, context, language)

    monkeypatch.setattr(documents, "render", counting)
    clock.travel_to(leased_until - timedelta(seconds=1))
    jobs.run_pending()  # the other worker does the rest of the queue, not the dead one's job
    assert db.session.get(Job, job_id).status == "running" and db.session.get(Document, receipt_id).sha256 is None
    assert db.session.get(Document, receipt_id).kind not in renders  # only the other documents were rendered
    renders.clear()
    clock.travel_to(leased_until + timedelta(seconds=1))
    assert jobs.run_pending() >= 1
    kind = db.session.get(Document, receipt_id).kind
    assert renders == [kind]  # taken again, and rendered once, for real

    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert (job.status, job.attempts, job.leased_until) == ("done", 2, None)
    document = db.session.get(Document, receipt_id)
    assert document.content.startswith(b"%PDF-") and document.sha256 == hashlib.sha256(document.content).hexdigest()
    clock.travel_to(leased_until + timedelta(days=1))
    jobs.run_pending()
    assert renders == [kind]  # never rendered again
