"""Documents and messages queued in the transaction of the move that causes them, done after commit."""
from __future__ import annotations

import hashlib
import logging
import re
import smtplib
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select, update

from app import clock, documents
from app.database import writing
from app.errors import Refused
from app.extensions import db
from app.models import Document, Job, Message, User

log = logging.getLogger(__name__)
LINE_BREAKS = re.compile(r"\s*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")  # what str.splitlines breaks at


def queue_document(kind: str, entity_type: str, entity_id: int, language: str, context: dict,
                   filename: str) -> Document:
    """A legal document: its context is frozen now; it is rendered once, later, and never changes."""
    document = Document(kind=kind, entity_type=entity_type, entity_id=entity_id, language=language,
                        context=context, filename=filename)
    db.session.add(document)
    db.session.flush()
    db.session.add(Job(kind="document", target_id=document.id))
    return document


def notify(user: User, template: str, subject: str, *, entity_type: str | None = None,
           entity_id: int | None = None, document: Document | None = None, **context) -> Message:
    """Queue a message in the user's language. `subject` is a lazy msgid with %(name)s fields, written `_l("…")` (flask_babel's
    lazy_gettext) where it is passed, so that pybabel extracts it; it is translated here, in the user's language.
    Without MAIL_SERVER, or when the user chose it for this kind (app/services/notifications.py; never for a legal
    notice), the message is only in the user's in-app list, and says so from the start."""
    from app.services.notifications import wants_email

    by_email = wants_email(user, template)
    with force_locale(user.language):
        message = Message(
            user_id=user.id, recipient=user.email, language=user.language,
            delivery="pending" if current_app.config["MAIL_SERVER"] and by_email else "in_app_only",
            # one line whatever was typed into the names it carries: a line break in a header is refused by the
            # e-mail library (the message would never leave) or, elsewhere, starts a header of the sender's choosing
            subject=LINE_BREAKS.sub(" ", str(subject) % context).strip(),
            body_text=render_template(f"email/{template}.txt", user=user, **context),
            body_html=render_template(f"email/{template}.html", user=user, **context),
            entity_type=entity_type, entity_id=entity_id, document_id=document.id if document else None,
        )
    db.session.add(message)
    db.session.flush()
    if by_email:
        db.session.add(Job(kind="email", target_id=message.id))
    return message


def ensure_rendered(document: Document) -> Document:
    """Render a queued document the first time it is needed; a rendered one is never touched again."""
    if document.sha256 is None:
        pdf = documents.render(document.kind, document.context, document.language)
        document.content = pdf
        document.sha256 = hashlib.sha256(pdf).hexdigest()
        document.rendered_at = clock.now()
    return document


def render_stored(document_id: int) -> Document:
    """The worker's rendering: the slow PDF work happens outside any transaction, so it never holds the
    database's write lock (SQLite has one for everybody); the result is stored only if nobody stored one first."""
    document = db.session.get(Document, document_id)
    if document.sha256 is None:
        kind, context, language = document.kind, document.context, document.language
        db.session.rollback()
        pdf = documents.render(kind, context, language)
        with writing():  # a first download in a GET stores the rendering too: begin IMMEDIATE (app/database.py)
            document = db.session.scalars(select(Document).where(Document.id == document_id).with_for_update()
                                          .execution_options(populate_existing=True)).one()
            if document.sha256 is None:
                document.content, document.sha256 = pdf, hashlib.sha256(pdf).hexdigest()
                document.rendered_at = clock.now()
            db.session.commit()
    return document


def deliver(message_id: int) -> None:
    """Send one message over SMTP, outside any transaction. It is stamped sent only once the server accepted it
    (`send_message` returned without refusing the recipient); a refusal or a server that is down raises, and the
    job is retried. Without MAIL_SERVER nothing leaves the machine: the message stays in the in-app list only."""
    message = db.session.get(Message, message_id)
    if message.delivery == "sent":  # a job taken again after its worker stopped: the server has it already
        db.session.rollback()
        return
    server = current_app.config["MAIL_SERVER"]
    if not server:
        message.delivery = "in_app_only"
        db.session.commit()
        return
    mail = EmailMessage()
    mail["Message-ID"] = message_id_of(message)
    mail["From"] = current_app.config["MAIL_SENDER"]
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail.set_content(message.body_text)
    mail.add_alternative(message.body_html, subtype="html")
    for document_id in _queued_before(message):  # e.g. the agreement, rendered before the offer's letter leaves
        render_stored(document_id)
        message = db.session.get(Message, message_id)
    if message.document_id:
        document = render_stored(message.document_id)
        mail.add_attachment(document.content, maintype="application", subtype="pdf", filename=document.filename)
    db.session.rollback()
    with smtplib.SMTP(server, current_app.config["MAIL_PORT"], timeout=30) as smtp:
        refused = smtp.send_message(mail)
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)
    message = db.session.get(Message, message_id)
    message.delivery, message.sent_at = "sent", clock.now()
    db.session.commit()


def message_id_of(message: Message) -> str:
    """The e-mail's Message-ID, the same on every try, so that a receiver can tell a second copy from a new one."""
    domain = current_app.config["MAIL_SENDER"].rpartition("@")[2].strip(">") or "localhost"
    return f"<message-{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"


def _queued_before(message: Message) -> list[int]:
    """The legal documents of the message's subject not yet rendered: a message never leaves before the documents
    it announces are fixed (each is rendered once from its frozen context, so rendering one early is harmless)."""
    if message.entity_type is None:
        return []
    return list(db.session.scalars(select(Document.id).where(
        Document.entity_type == message.entity_type, Document.entity_id == message.entity_id,
        Document.sha256.is_(None)).order_by(Document.id)))


def undelivered(message_id: int) -> None:
    """The e-mail job gave up: the message is in the in-app list only, and says the e-mail failed."""
    message = db.session.get(Message, message_id)
    if message.delivery != "sent":
        message.delivery = "failed"


def copy_of(document_id: int | None, user: User) -> Message | None:
    """The message that carried `document_id` to `user` (the receipt to its submitter), if there is one."""
    if document_id is None:
        return None
    return db.session.scalars(select(Message).where(Message.document_id == document_id, Message.user_id == user.id)
                              .order_by(Message.id.desc())).first()


# A failed try waits 1, 2, 4 … minutes, never more than an hour, and the eighth failure is final (about two hours
# of an SMTP server being down); an admin can send a failed message again (`send_again`). A worker holds its job for
# LEASE: one killed mid-way leaves it to be taken again once the lease runs out, by whichever worker is alive.
MAX_ATTEMPTS = 8
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
LEASE = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """How long a job waits after its `attempts`-th failed try."""
    return min(FIRST_WAIT * 2 ** (attempts - 1), LONGEST_WAIT)


def _due(now):
    waiting = and_(Job.status == "pending", or_(Job.next_attempt_at.is_(None), Job.next_attempt_at <= now))
    abandoned = and_(Job.status == "running", Job.leased_until < now,  # its worker died mid-way
                     Job.attempts < MAX_ATTEMPTS)  # (after the last try: _give_up_abandoned)
    return or_(waiting, abandoned)


def _claim_next() -> tuple[int, str, int, int] | None:
    """Take the next due job: (id, kind, target, attempts), in one statement. The attempt count is the claim's
    token: a worker whose lease ran out and whose job another took can no longer stamp it (`_settle`). SKIP LOCKED
    lets workers on PostgreSQL pass each other's claims; on SQLite the claim holds the write lock (`writing()`)."""
    now = clock.now()
    with writing():
        next_due = (select(Job.id).where(_due(now)).order_by(Job.id).limit(1)
                    .with_for_update(skip_locked=True).scalar_subquery())
        claimed = db.session.execute(
            update(Job).where(Job.id == next_due)
            .values(status="running", leased_until=now + LEASE, attempts=Job.attempts + 1)
            .returning(Job.id, Job.kind, Job.target_id, Job.attempts)
            .execution_options(synchronize_session=False)).first()
        db.session.commit()
    return tuple(claimed) if claimed else None


def _give_up_abandoned() -> None:
    """A job whose worker died during its last try is not tried once more: it failed."""
    with writing():
        for job in db.session.scalars(select(Job).where(Job.status == "running", Job.leased_until < clock.now(),
                                                        Job.attempts >= MAX_ATTEMPTS)
                                      .with_for_update(skip_locked=True)):
            _give_up(job, "the worker stopped during the last try")
        db.session.commit()


def _settle(job_id: int, token: int, error: Exception | None = None) -> str | None:
    """Stamp the job done, or record the failed try: retried after its backoff, or failed after MAX_ATTEMPTS.
    Returns the job's new status, or None when the job is no longer this claim's (its lease ran out)."""
    mine = and_(Job.id == job_id, Job.status == "running", Job.attempts == token)
    with writing():
        if error is None:
            stamped = db.session.execute(update(Job).where(mine).values(
                status="done", done_at=clock.now(), leased_until=None)
                .execution_options(synchronize_session=False)).rowcount
            db.session.commit()
            return "done" if stamped else None
        job = db.session.scalars(select(Job).where(mine).with_for_update()
                                 .execution_options(populate_existing=True)).first()
        if job is None:
            db.session.commit()
            return None
        if job.attempts >= MAX_ATTEMPTS:
            _give_up(job, str(error))
        else:
            job.status, job.leased_until, job.error = "pending", None, str(error)[:2000]
            job.next_attempt_at = clock.now() + backoff(job.attempts)
        status = job.status
        db.session.commit()
        return status


def _give_up(job: Job, error: str) -> None:
    job.status, job.leased_until, job.error = "failed", None, error[:2000]
    if job.kind == "email":
        undelivered(job.target_id)


def run_pending(limit: int = 200) -> int:
    """Do up to `limit` due jobs. Each is claimed, done outside a transaction, then stamped done; a failing one
    waits its backoff and is tried again, up to MAX_ATTEMPTS, then parked as failed with its error. A failure ends
    the pass (a server that is down fails the next one too). Returns how many were done."""
    _give_up_abandoned()
    done = 0
    while done < limit:
        claimed = _claim_next()
        if claimed is None:
            break
        job_id, kind, target_id, token = claimed
        try:
            if kind == "document":
                render_stored(target_id)
            else:
                deliver(target_id)
        except Exception as error:  # a job that fails is retried later, then parked with its error
            db.session.rollback()
            log.exception("job %s failed", job_id)
            if _settle(job_id, token, error) == "pending":
                break
        else:
            _settle(job_id, token)
        done += 1
    return done


def send_again(message: Message) -> Job:
    """An admin sends a message whose e-mail failed once more: a new job, due now, with all its tries."""
    if message.delivery != "failed":
        raise Refused(_("Only a message that could not be sent can be sent again."))
    message.delivery = "pending"
    job = Job(kind="email", target_id=message.id)
    db.session.add(job)
    db.session.flush()
    return job


OUTBOX_STATES = ("pending", "retrying", "failed", "sent")


def outbox(scope, state: str | None = None, limit: int = 200) -> tuple[list[tuple[Message, Job | None]], dict]:
    """The e-mails in `scope` (a where-clause: policies.outgoing_messages_filter), newest first, each with its
    latest job, and how many are in each state: pending (not tried yet, or sent again), retrying (a try failed;
    the next is due at the job's next_attempt_at), failed (every try failed), sent."""
    latest = (select(func.max(Job.id)).where(Job.kind == "email", Job.target_id == Message.id)
              .correlate(Message).scalar_subquery())
    state_of = case((and_(Message.delivery == "pending", Job.error.is_not(None)), "retrying"),
                    else_=Message.delivery)
    base = (select(Message, Job).outerjoin(Job, Job.id == latest)
            .where(scope, Message.delivery != "in_app_only"))
    counts = dict(db.session.execute(base.with_only_columns(state_of, func.count(Message.id))
                                     .group_by(state_of)).all())
    if state in OUTBOX_STATES:
        base = base.where(state_of == state)
    rows = db.session.execute(base.order_by(Message.id.desc()).limit(limit)).all()
    return [(message, job) for message, job in rows], {s: counts.get(s, 0) for s in OUTBOX_STATES}
