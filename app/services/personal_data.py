"""Everything the system holds about a person, as one ZIP they can download (issue 8, DESIGN 3 "Personal data"):
their account, the messages sent to them with the documents they carried, every step they took in the audit
trail, the sign-in attempts made with their address, and what they wrote: the applications they started, or, for
an evaluator, their reviews with scores and comments. JSON in UTF-8, times in UTC (ISO 8601).

Nothing about other people: an application lists its content as the person's organisation submitted it, never
the evaluators; a review lists the person's own scores only."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import (Application, Assignment, AuditEvent, Criterion, Document, LoginAttempt, Message, Score,
                        User)

README = """Pumpurs Grants: jūsu dati / your data

LV: Šajā arhīvā ir viss, ko sistēma glabā par jums: konts (profile.json), jums sūtītie paziņojumi
(messages.json) ar tiem pievienotajiem dokumentiem (documents/), jūsu darbības audita žurnālā (actions.json),
pieteikšanās mēģinājumi ar jūsu e-pasta adresi (sign_in_attempts.json) un tas, ko jūs rakstījāt (applications.json
vai reviews.json). Laiki ir UTC (ISO 8601).

EN: This archive holds everything the system keeps about you: your account (profile.json), the messages sent to
you (messages.json) with the documents they carried (documents/), your steps in the audit trail (actions.json),
the sign-in attempts made with your e-mail address (sign_in_attempts.json) and what you wrote (applications.json
or reviews.json). Times are UTC (ISO 8601).
"""


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _json(rows) -> bytes:
    return json.dumps(rows, ensure_ascii=False, indent=2, default=_plain).encode("utf-8")


def _profile(user: User) -> dict:
    organisation = user.organisation
    return {
        "email": user.email, "name": user.name, "role": user.role, "language": user.language,
        "created_at": user.created_at, "active": user.active,
        "announcements_opt_out": user.announcements_opt_out, "email_off_kinds": user.email_off_kinds or [],
        "organisation": None if organisation is None else {
            "name": organisation.name, "registration_number": organisation.registration_number,
            "email": organisation.email, "address": organisation.address,
            "municipality": organisation.municipality},
        "organisers": [o.name for o in user.organisers],
    }


def _messages(user: User) -> list[dict]:
    return [{"id": m.id, "created_at": m.created_at, "recipient": m.recipient, "language": m.language,
             "subject": m.subject, "body": m.body_text, "delivery": m.delivery, "sent_at": m.sent_at,
             "read_at": m.read_at, "document_id": m.document_id}
            for m in db.session.scalars(select(Message).where(Message.user_id == user.id).order_by(Message.id))]


def _actions(user: User) -> list[dict]:
    return [{"occurred_at": e.occurred_at, "entity_type": e.entity_type, "entity_id": e.entity_id,
             "trigger": e.trigger, "from_state": e.from_state, "to_state": e.to_state, "note": e.note}
            for e in db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == user.id)
                                        .order_by(AuditEvent.id))]


def _sign_ins(user: User) -> list[dict]:
    return [{"at": a.at, "address": a.remote_addr}
            for a in db.session.scalars(select(LoginAttempt).where(LoginAttempt.email == user.email)
                                        .order_by(LoginAttempt.id))]


def _applications(user: User) -> list[dict]:
    return [{"number": a.number, "call": a.call.code, "title": a.title, "status": a.status,
             "amount_cents": a.amount_cents, "submitted_at": a.submitted_at, "content": a.content}
            for a in db.session.scalars(select(Application).where(Application.created_by == user.id)
                                        .order_by(Application.id))]


def _reviews(user: User) -> list[dict]:
    reviews = []
    for assignment in db.session.scalars(select(Assignment).where(Assignment.evaluator_id == user.id)
                                         .order_by(Assignment.id)):
        scores = db.session.execute(select(Criterion.code, Score.half_points, Score.comment)
                                    .join(Criterion, Criterion.id == Score.criterion_id)
                                    .where(Score.assignment_id == assignment.id).order_by(Criterion.position,
                                                                                         Criterion.id)).all()
        reviews.append({"application": assignment.application.number, "status": assignment.status,
                        "assigned_at": assignment.assigned_at, "declared_at": assignment.declared_at,
                        "declaration": assignment.declaration_text, "submitted_at": assignment.submitted_at,
                        "reason": assignment.reason,
                        "scores": [{"criterion": code, "points": None if half is None else half / 2,
                                    "comment": comment} for code, half, comment in scores]})
    return reviews


def archive(user: User) -> bytes:
    """The ZIP of everything about `user`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("README.txt", README)
        package.writestr("profile.json", _json({**_profile(user), "exported_at": clock.now()}))
        messages = _messages(user)
        package.writestr("messages.json", _json(messages))
        package.writestr("actions.json", _json(_actions(user)))
        package.writestr("sign_in_attempts.json", _json(_sign_ins(user)))
        if user.role == "applicant":
            package.writestr("applications.json", _json(_applications(user)))
        if user.role == "evaluator":
            package.writestr("reviews.json", _json(_reviews(user)))
        carried = sorted({m["document_id"] for m in messages if m["document_id"]})
        for document in db.session.scalars(select(Document).where(Document.id.in_(carried))):
            if document.content:
                package.writestr(f"documents/{document.id}-{document.filename}", document.content)
    return buffer.getvalue()
