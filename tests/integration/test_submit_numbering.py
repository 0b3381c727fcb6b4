"""Submit takes its number from the call's counter as the last statement before commit (DESIGN 4.2), so the
counter's row lock is held for the commit alone; the receipt and its message still carry the real number."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import Application, Document, Message
from app.services import applications
from tests.factories import make_applications, make_call, member_of

pytestmark = pytest.mark.postgres


def test_the_number_is_taken_last_and_reaches_the_receipt_and_the_message(app, db_backend):
    call = make_call("open")
    first, second = make_applications(call, ["draft", "draft"])
    db.session.commit()
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(" ".join(statement.split()).lower())

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        applications.submit(first, member_of(first))
        db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)

    taken = [i for i, s in enumerate(statements) if "update number_counters" in s]
    assert len(taken) == 1
    after = statements[taken[0] + 1:]
    if db_backend == "postgres":
        # one statement takes the number and writes it where it appears (application, receipt, message): the
        # counter stays locked from the last statement to the commit
        assert after == [], after
        for table in ("applications", "documents", "messages"):
            assert f"update {table} set" in statements[taken[0]]
    else:
        # after the counter: only the number written where it appears (application, receipt, message)
        assert all(re.match(r"update (applications|documents|messages) set", s) for s in after), after
    assert any(s.startswith("insert into audit_events") for s in statements[:taken[0]])
    assert any(s.startswith("insert into messages") for s in statements[:taken[0]])

    number = f"{call.number_prefix}-001"
    stored = db.session.get(Application, first.id)
    assert stored.number == number
    receipt = db.session.get(Document, stored.receipt_document_id)
    assert receipt.filename == f"{number}.pdf" and receipt.context["application"]["number"] == number
    message = db.session.scalars(select(Message).where(Message.entity_type == "application",
                                                       Message.entity_id == first.id)).one()
    assert number in message.subject and number in message.body_text and number in message.body_html
    assert "pending" not in message.subject + message.body_text + message.body_html + receipt.filename

    applications.submit(second, member_of(second))
    db.session.commit()
    assert db.session.get(Application, second.id).number == f"{call.number_prefix}-002"


def test_a_refused_commit_leaves_no_number_taken(app, db_backend):
    call = make_call("open")
    first, second = make_applications(call, ["draft", "draft"])
    db.session.commit()
    applications.submit(first, member_of(first))
    db.session.rollback()  # e.g. the request failed after fire: nothing of it stays, the stand-in neither
    assert db.session.get(Application, first.id).number is None
    applications.submit(second, member_of(second))
    db.session.commit()
    assert db.session.get(Application, second.id).number == f"{call.number_prefix}-001"


def test_an_audit_event_never_seals_a_stand_in_number(app):
    """A note written in the submission's transaction that names the number would keep the stand-in for good
    (the event's hash seals it): the trail refuses it."""
    import pytest

    from app.services import audit

    with pytest.raises(RuntimeError, match="not taken yet"):
        audit.record("application", 1, "promote", "reserve", "funded", None, note="Atteicās [number-pending-7].")
    with pytest.raises(RuntimeError, match="not taken yet"):
        audit.record("application", 1, "promote", "reserve", "funded", None, data={"x": "[number-pending-7]"})
