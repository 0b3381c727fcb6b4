"""Evaluators: who serves a call, their affiliations and their load (DESIGN 2.3)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Call, User


def pool(call: Call) -> list[User]:
    """The active evaluators who may be assigned applications of the call."""
    return list(db.session.scalars(select(User).where(User.role == "evaluator", User.active).order_by(User.id)))
