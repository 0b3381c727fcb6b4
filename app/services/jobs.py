"""Documents and messages queued in the transaction of the move that causes them, done after commit."""
from __future__ import annotations

import hashlib
import logging
import smtplib
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app import clock, documents
from app.database import writing
from app.extensions import db
from app.models import Document, Job, Message, User

log = logging.getLogger(__name__)


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
    """Queue a message in the user's language. `subject` is an untranslated msgid with %(name)s fields, written
    `N_("…")` where it is passed (app/i18n.py), so that pybabel extracts it and it is translated here.
    Without MAIL_SERVER, or when the user chose it for this kind (app/services/notifications.py; never for a legal
    notice), the message is only in the user's in-app list, and says so from the start."""
    from app.services.notifications import wants_email

    by_email = wants_email(user, template)
    with force_locale(user.language):
        message = Message(
            user_id=user.id, recipient=user.email, language=user.language,
            delivery="pending" if current_app.config["MAIL_SERVER"] and by_email else "in_app_only",
            subject=_(subject, **context),
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
    server = current_app.config["MAIL_SERVER"]
    if not server:
        message.delivery = "in_app_only"
        db.session.commit()
        return
    mail = EmailMessage()
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


def _claim_next() -> Job | None:
    job = db.session.scalars(
        select(Job).where(Job.status == "pending").order_by(Job.id).limit(1).with_for_update(skip_locked=True)
    ).first()
    if job is not None:
        job.status = "running"
        job.attempts += 1
    db.session.commit()
    return job


def run_pending(limit: int = 200) -> int:
    """Do up to `limit` pending jobs. Each is claimed, done outside a transaction, then stamped done; a failing
    one is retried twice, then parked as failed with its error. Returns how many were done."""
    done = 0
    while done < limit:
        job = _claim_next()
        if job is None:
            break
        job_id, kind, target_id = job.id, job.kind, job.target_id
        try:
            if kind == "document":
                render_stored(target_id)
            else:
                deliver(target_id)
            job = db.session.get(Job, job_id)
            job.status, job.done_at = "done", clock.now()
            db.session.commit()
        except Exception as error:  # a job that fails is retried, then parked with its error
            db.session.rollback()
            log.exception("job %s failed", job_id)
            job = db.session.get(Job, job_id)
            job.error = str(error)[:2000]
            job.status = "failed" if job.attempts >= 3 else "pending"
            if job.status == "failed" and kind == "email":
                undelivered(target_id)
            db.session.commit()
            if job.status == "pending":
                break
        done += 1
    return done


def requeue_interrupted() -> int:
    """Jobs left 'running' by a worker that stopped mid-way go back to the queue (at-least-once delivery)."""
    jobs = db.session.scalars(select(Job).where(Job.status == "running")).all()
    for job in jobs:
        job.status = "pending"
    db.session.commit()
    return len(jobs)
