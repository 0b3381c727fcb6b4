"""Agreement versions (the issued one and each amendment) and the signed copies an NGO uploads (issue 8).

A version names its stored Document (rendered once by the worker, never changed) and, once accepted, who accepted
it, when, how (online, or by an uploaded signed copy) and the SHA-256 of the PDF accepted. A signature row keeps the
uploaded file and what its check found: whether the signature is intact, whether what was signed is the issued
document, and the signer's certificate subject. Certificate trust is not checked offline and the row says so."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class AgreementVersion(db.Model):
    __tablename__ = "agreement_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    reason: Mapped[str | None] = mapped_column(Text)  # an amendment's reason; None for the agreement first issued
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: issued with the offer
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_sha256: Mapped[str | None] = mapped_column(String(64))
    accepted_via: Mapped[str | None] = mapped_column(String(10))  # online | signed

    __table_args__ = (
        UniqueConstraint("application_id", "version", name="uq_agreement_version"),
        CheckConstraint("version = 1 or reason is not null", name="amendment_has_reason"),
        CheckConstraint("(accepted_at is null) = (accepted_by is null) and (accepted_at is null) = "
                        "(accepted_sha256 is null) and (accepted_at is null) = (accepted_via is null)",
                        name="acceptance_complete"),
        CheckConstraint("accepted_via is null or accepted_via in ('online', 'signed')", name="accepted_via_known"),
    )


class AgreementSignature(db.Model):
    __tablename__ = "agreement_signatures"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("agreement_versions.id"), index=True)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    original_name: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(10))  # pdf (PAdES) | edoc (ASiC-E, XAdES)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    intact: Mapped[bool] = mapped_column(Boolean, default=False)  # the signature's cryptographic check passed
    issued_document: Mapped[bool] = mapped_column(Boolean, default=False)  # what was signed is the issued PDF
    signer_subject: Mapped[str | None] = mapped_column(String(500))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the time the signature claims, if any
    trust_checked: Mapped[bool] = mapped_column(Boolean, default=False)  # never True offline
    findings: Mapped[list] = mapped_column(JSON, default=list)  # [[code, detail], …] in the order found
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)  # counted as the acceptance of its version

    __table_args__ = (
        CheckConstraint("format in ('pdf', 'edoc')", name="signature_format_known"),
        CheckConstraint("not accepted or (intact and issued_document)", name="accepted_only_when_valid"),
    )
