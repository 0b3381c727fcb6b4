"""What `tick` does: persist due clock moves, expire offers and reserves, seal an audit checkpoint."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Application, Call
from app.services import audit
from app.services.workflow import catch_up, fire, lock


@dataclass
class TickReport:
    moves: list[str] = field(default_factory=list)
    checkpoint: int | None = None


def tick() -> TickReport:
    report = TickReport()
    now = clock.now()
    for call_id in db.session.scalars(select(Call.id).where(Call.status.in_(("announced", "open")))).all():
        call = db.session.get(Call, call_id)
        lock(call)
        for event in catch_up(call):
            report.moves.append(f"call {call.code}: {event.trigger}")
        db.session.commit()
    overdue_offers = db.session.scalars(select(Application).where(
        Application.status == "funded", Application.offer_deadline <= now).order_by(Application.id)).all()
    for application in overdue_offers:
        fire(application, "decline", None, "The acceptance deadline passed.")
        report.moves.append(f"application {application.number}: decline")
        db.session.commit()
    expired = db.session.scalars(select(Application).join(Call).where(
        Application.status == "reserve", Call.reserve_expires_at <= now).order_by(Application.id)).all()
    for application in expired:
        fire(application, "expire_reserve", None)
        report.moves.append(f"application {application.number}: expire_reserve")
        db.session.commit()
    checkpoint = audit.seal_checkpoint()
    report.checkpoint = checkpoint.id if checkpoint else None
    db.session.commit()
    return report
