"""report depth

Revision ID: a6e1c0de0017
Revises: a6e1c0de0016
Create Date: 2026-12-01 13:25:00

reports: the report form's parts, permissions to submit early, reminders, restricted files (issue 8): an admin's
permission to submit a report early (who, when, why), each submission round with its content and the admin's
answer, the bytes of a report's attachment, and a log of every download of one.
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0017"
down_revision = "a6e1c0de0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("early_allowed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("early_allowed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("early_allowed_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_reports_early_allowed_by_users"), "users",
                                    ["early_allowed_by"], ["id"])
        batch_op.create_check_constraint(op.f("ck_reports_early_with_reason"),
                                         "(early_allowed_at is null) = (early_allowed_reason is null)")

    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content", sa.LargeBinary(), nullable=True))

    op.create_table(
        "report_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("outcome is null or outcome in ('changes_requested', 'approved')",
                           name=op.f("ck_report_rounds_outcome")),
        sa.CheckConstraint("(outcome is null) = (decided_at is null)",
                           name=op.f("ck_report_rounds_decided_with_outcome")),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_report_rounds_report_id_reports")),
        sa.ForeignKeyConstraint(["submitted_by"], ["users.id"], name=op.f("fk_report_rounds_submitted_by_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_report_rounds_decided_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_rounds")),
        sa.UniqueConstraint("report_id", "number", name="uq_report_rounds_report_number"),
    )
    with op.batch_alter_table("report_rounds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_rounds_report_id"), ["report_id"], unique=False)

    op.create_table(
        "attachment_downloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachments.id"],
                                name=op.f("fk_attachment_downloads_attachment_id_attachments")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_attachment_downloads_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment_downloads")),
    )
    with op.batch_alter_table("attachment_downloads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_downloads_attachment_id"), ["attachment_id"], unique=False)


def downgrade():
    with op.batch_alter_table("attachment_downloads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_downloads_attachment_id"))
    op.drop_table("attachment_downloads")
    with op.batch_alter_table("report_rounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_rounds_report_id"))
    op.drop_table("report_rounds")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("content")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_reports_early_with_reason"), type_="check")
        batch_op.drop_constraint(op.f("fk_reports_early_allowed_by_users"), type_="foreignkey")
        batch_op.drop_column("early_allowed_reason")
        batch_op.drop_column("early_allowed_at")
        batch_op.drop_column("early_allowed_by")
