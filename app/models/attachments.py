"""The files a call asks for (attachment types) and the files an application carries (DESIGN 4.3, 4.6).

The bytes live in the database (a deferred column, loaded only for a download), so that every application server
sees the same files; a row also keeps what the frozen content and the receipt name: the safe stored name, the type
recognised from the content, the size and the SHA-256."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

# The formats an admin may allow, by the key stored in AttachmentType.formats (app/services/attachments.py says
# how each is recognised from the content).
ATTACHMENT_FORMATS = ("pdf", "docx", "xlsx", "odt", "jpg", "png", "edoc")
MAX_FILE_BYTES = 10 * 1024 * 1024


class AttachmentType(db.Model):
    """One file a call asks for, e.g. "signed declaration of the NGO's board": frozen with the call at announce."""

    __tablename__ = "attachment_types"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label_lv: Mapped[str] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))
    formats: Mapped[list] = mapped_column(JSON, default=list)  # keys of ATTACHMENT_FORMATS
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    call = relationship("Call", backref=backref("attachment_types", order_by="AttachmentType.position",
                                                cascade="all, delete-orphan"))

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" and self.label_en else self.label_lv


class ApplicationFile(db.Model):
    """A file of an application: of a type the call asks for, "other" (type_id null), or added with the answer to
    a clarification (clarification_id set: an addendum, never part of the submitted content)."""

    __tablename__ = "application_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    type_id: Mapped[int | None] = mapped_column(ForeignKey("attachment_types.id"), index=True)
    clarification_id: Mapped[int | None] = mapped_column(ForeignKey("clarifications.id"), index=True)
    filename: Mapped[str] = mapped_column(String(160))  # the safe stored name, e.g. "Valdes_lēmums.pdf"
    original_name: Mapped[str] = mapped_column(String(255))  # as the user's computer named it, for display only
    format: Mapped[str] = mapped_column(String(10))  # recognised from the content: a key of ATTACHMENT_FORMATS
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # read only for a download
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attachment_type = relationship("AttachmentType")

    __table_args__ = (
        CheckConstraint(f"size > 0 and size <= {MAX_FILE_BYTES}", name="size_within_limit"),
        CheckConstraint(f"format in {ATTACHMENT_FORMATS}", name="format_known"),
        # one file per asked-for type in the submitted content: a replacement overwrites the row
        db.Index("uq_application_files_one_per_type", "application_id", "type_id", unique=True,
                 sqlite_where=text("type_id is not null and clarification_id is null"),
                 postgresql_where=text("type_id is not null and clarification_id is null")),
    )
