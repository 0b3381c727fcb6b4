"""What a member typed into a step of the guided form when the session had already expired (issue 6).

The step's POST arrives without a logged-in user: rather than lose the text, it is kept here under a random token
for a day; after logging in again the step page shows it (not yet saved) and the save deletes it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class KeptDraft(db.Model):
    __tablename__ = "kept_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(40))
    data: Mapped[list] = mapped_column(JSON, default=list)  # the posted fields, as [name, value] pairs
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
