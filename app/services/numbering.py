"""The gapless application number, taken from the call's counter as the last statement before commit.

The counter row is locked from its UPDATE until the transaction ends, and every submit to the call waits for it.
Taking the number first (and then writing the receipt, the message, the audit event) kept it locked through all
of that; taking it last keeps it locked for the commit alone. So `submit` writes everything with a stand-in that
is unique to the application (the number column is unique and must be set once submitted), and just before commit
the number is taken and put in its place: in the application's row, the receipt's context and file name, and the
message's subject and bodies (on PostgreSQL in the same statement that takes it). The stand-in never outlives its
transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import event, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.models import Application, Document, Message, NumberCounter

_KEY = "numbers_awaited"


@dataclass
class _Awaited:
    application: Application
    stand_in: str
    documents: list[Document] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


def await_number(application: Application) -> None:
    """Give `application` a stand-in number now and its real number when its transaction commits."""
    stand_in = f"[number-pending-{application.id}]"
    application.number = stand_in
    Session.object_session(application).info.setdefault(_KEY, {})[application.id] = _Awaited(application, stand_in)


def fill_in_later(application: Application, *rows: Document | Message) -> None:
    """These rows mention the number: put it in when it is taken."""
    awaited = Session.object_session(application).info.get(_KEY, {}).get(application.id)
    if awaited is None:
        return
    for row in rows:
        (awaited.documents if isinstance(row, Document) else awaited.messages).append(row)


def _replace(value, stand_in: str, number: str):
    if isinstance(value, str):
        return value.replace(stand_in, number)
    if isinstance(value, dict):
        return {key: _replace(item, stand_in, number) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, stand_in, number) for item in value]
    return value


STAND_IN_MARK = "[number-pending-"


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    take_numbers(session)


def take_numbers(session: Session) -> None:
    """Take the awaited numbers now. The commit does it; a script that goes on in the same transaction after a
    submission and writes the number somewhere lasting (the demo's notes, an audit event) calls it first."""
    awaited: dict[int, _Awaited] = session.info.pop(_KEY, None) or {}
    if not awaited:
        return
    session.flush()  # everything else is written first: from here on only the counter and the number
    postgresql = session.get_bind().dialect.name == "postgresql"
    for item in sorted(awaited.values(), key=lambda a: a.application.id):
        if postgresql:
            _take_and_write(session, item)
            continue
        application = item.application
        taken = session.execute(
            update(NumberCounter).where(NumberCounter.call_id == application.call_id)
            .values(last_number=NumberCounter.last_number + 1).returning(NumberCounter.last_number)).scalar_one()
        number, stand_in = f"{application.call.number_prefix}-{taken:03d}", item.stand_in
        application.number = number
        for document in item.documents:
            document.context = _replace(document.context, stand_in, number)
            document.filename = document.filename.replace(stand_in, number)
        for message in item.messages:
            message.subject = message.subject.replace(stand_in, number)
            message.body_text = message.body_text.replace(stand_in, number)
            message.body_html = message.body_html.replace(stand_in, number)


@event.listens_for(Session, "after_rollback")
def _forget_numbers(session: Session) -> None:
    session.info.pop(_KEY, None)


# PostgreSQL: the counter taken and the number written where it appears in one statement (data-modifying CTEs),
# so the counter's row lock is held from that statement to the commit, with no round trip in between. The format
# is Python's f"{prefix}-{n:03d}": at least three digits.
_TAKE_AND_WRITE = text("""
WITH taken AS (
    UPDATE number_counters SET last_number = last_number + 1 WHERE call_id = :call_id RETURNING last_number
), numbered AS (
    SELECT CAST(:prefix AS text) || '-' || lpad(last_number::text, greatest(3, length(last_number::text)), '0')
           AS number FROM taken
), application_written AS (
    UPDATE applications SET number = numbered.number, version = applications.version + 1, updated_at = :now
    FROM numbered WHERE applications.id = :application_id AND applications.version = :version
    RETURNING applications.version
), documents_written AS (
    UPDATE documents SET context = CAST(replace(CAST(documents.context AS text), :stand_in, numbered.number) AS json),
                         filename = replace(documents.filename, :stand_in, numbered.number)
    FROM numbered WHERE documents.id = ANY(:document_ids) RETURNING documents.id
), messages_written AS (
    UPDATE messages SET subject = replace(messages.subject, :stand_in, numbered.number),
                        body_text = replace(messages.body_text, :stand_in, numbered.number),
                        body_html = replace(messages.body_html, :stand_in, numbered.number)
    FROM numbered WHERE messages.id = ANY(:message_ids) RETURNING messages.id
)
SELECT numbered.number, (SELECT version FROM application_written) AS version FROM numbered
""")


def _take_and_write(session: Session, item: _Awaited) -> None:
    from app import clock

    application, stand_in, now = item.application, item.stand_in, clock.now()
    number, version = session.execute(_TAKE_AND_WRITE, {
        "call_id": application.call_id, "prefix": application.call.number_prefix, "application_id": application.id,
        "version": application.version, "now": now, "stand_in": stand_in,
        "document_ids": [d.id for d in item.documents], "message_ids": [m.id for m in item.messages]}).one()
    if version is None:
        raise StaleDataError(f"application {application.id} was changed by another transaction meanwhile")
    # the session's copies say what the row now holds (a script may go on in this transaction)
    for name, value in (("number", number), ("version", version), ("updated_at", now)):
        set_committed_value(application, name, value)
    for document in item.documents:
        set_committed_value(document, "context", _replace(document.context, stand_in, number))
        set_committed_value(document, "filename", document.filename.replace(stand_in, number))
    for message in item.messages:
        for name in ("subject", "body_text", "body_html"):
            set_committed_value(message, name, getattr(message, name).replace(stand_in, number))
