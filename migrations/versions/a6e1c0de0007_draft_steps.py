"""guided form steps and the kept drafts

Revision ID: a6e1c0de0007
Revises: a6e1c0de0006
Create Date: 2026-12-01 10:20:00

kept_drafts: what a member posted to a step of the guided form after the session had expired, kept under a random
token for 24 hours so the text comes back after logging in again (app/models/drafts.py). The new step fields
(results, indicators) live in applications.content (JSON): no column changes.
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0007"
down_revision = "a6e1c0de0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kept_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"], ondelete="CASCADE",
                                name=op.f("fk_kept_drafts_application_id_applications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kept_drafts")),
        sa.UniqueConstraint("token", name=op.f("uq_kept_drafts_token")),
    )
    with op.batch_alter_table("kept_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kept_drafts_application_id"), ["application_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kept_drafts_expires_at"), ["expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("kept_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kept_drafts_expires_at"))
        batch_op.drop_index(batch_op.f("ix_kept_drafts_application_id"))
    op.drop_table("kept_drafts")
