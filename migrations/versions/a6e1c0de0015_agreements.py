"""agreements

Revision ID: a6e1c0de0015
Revises: a6e1c0de0014
Create Date: 2026-12-01 13:25:00

agreements: versions, acceptance, uploaded signed copies and their checks (issue 8)
"""
from alembic import op
import sqlalchemy as sa


revision = "a6e1c0de0015"
down_revision = "a6e1c0de0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "agreement_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("issued_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_sha256", sa.String(64), nullable=True),
        sa.Column("accepted_via", sa.String(10), nullable=True),
        sa.UniqueConstraint("application_id", "version", name="uq_agreement_version"),
        sa.CheckConstraint("version = 1 or reason is not null", name="amendment_has_reason"),
        sa.CheckConstraint("(accepted_at is null) = (accepted_by is null) and (accepted_at is null) = "
                           "(accepted_sha256 is null) and (accepted_at is null) = (accepted_via is null)",
                           name="acceptance_complete"),
        sa.CheckConstraint("accepted_via is null or accepted_via in ('online', 'signed')", name="accepted_via_known"),
    )
    op.create_index("ix_agreement_versions_application_id", "agreement_versions", ["application_id"])
    # the agreements issued before this revision become their version 1, accepted as recorded on the application
    op.execute("""
        INSERT INTO agreement_versions (application_id, version, document_id, reason, issued_by, issued_at,
                                        accepted_by, accepted_at, accepted_sha256, accepted_via)
        SELECT a.id, 1, a.agreement_document_id, NULL, NULL, d.created_at,
               CASE WHEN a.accepted_at IS NOT NULL AND a.agreement_sha256 IS NOT NULL THEN a.accepted_by END,
               CASE WHEN a.accepted_at IS NOT NULL AND a.agreement_sha256 IS NOT NULL THEN a.accepted_at END,
               CASE WHEN a.accepted_at IS NOT NULL AND a.agreement_sha256 IS NOT NULL THEN a.agreement_sha256 END,
               CASE WHEN a.accepted_at IS NOT NULL AND a.agreement_sha256 IS NOT NULL THEN 'online' END
        FROM applications a JOIN documents d ON d.id = a.agreement_document_id
    """)
    op.create_table(
        "agreement_signatures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("agreement_versions.id"), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("original_name", sa.String(200), nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("intact", sa.Boolean(), nullable=False),
        sa.Column("issued_document", sa.Boolean(), nullable=False),
        sa.Column("signer_subject", sa.String(500), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trust_checked", sa.Boolean(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.CheckConstraint("format in ('pdf', 'edoc')", name="signature_format_known"),
        sa.CheckConstraint("not accepted or (intact and issued_document)", name="accepted_only_when_valid"),
    )
    op.create_index("ix_agreement_signatures_application_id", "agreement_signatures", ["application_id"])
    op.create_index("ix_agreement_signatures_version_id", "agreement_signatures", ["version_id"])


def downgrade():
    op.drop_index("ix_agreement_signatures_version_id", "agreement_signatures")
    op.drop_index("ix_agreement_signatures_application_id", "agreement_signatures")
    op.drop_table("agreement_signatures")
    op.drop_index("ix_agreement_versions_application_id", "agreement_versions")
    op.drop_table("agreement_versions")
