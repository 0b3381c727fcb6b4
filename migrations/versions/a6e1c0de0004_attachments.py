"""attachments and attachment types per call

Revision ID: a6e1c0de0004
Revises: a6e1c0de0003
Create Date: 2026-12-01 10:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = "a6e1c0de0004"
down_revision = "a6e1c0de0003"
branch_labels = None
depends_on = None

ONE_PER_TYPE = "uq_application_files_one_per_type"
FORMATS = "('pdf', 'docx', 'xlsx', 'odt', 'jpg', 'png', 'edoc')"


def upgrade():
    op.create_table(
        "attachment_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label_lv", sa.String(length=300), nullable=False),
        sa.Column("label_en", sa.String(length=300), nullable=False),
        sa.Column("formats", sa.JSON(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_attachment_types_call_id_calls")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment_types")),
    )
    with op.batch_alter_table("attachment_types") as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_types_call_id"), ["call_id"], unique=False)

    op.create_table(
        "application_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=True),
        sa.Column("clarification_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=160), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size > 0 and size <= 10485760", name=op.f("ck_application_files_size_within_limit")),
        sa.CheckConstraint(f"format in {FORMATS}", name=op.f("ck_application_files_format_known")),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name=op.f("fk_application_files_application_id_applications")),
        sa.ForeignKeyConstraint(["type_id"], ["attachment_types.id"],
                                name=op.f("fk_application_files_type_id_attachment_types")),
        sa.ForeignKeyConstraint(["clarification_id"], ["clarifications.id"],
                                name=op.f("fk_application_files_clarification_id_clarifications")),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"], name=op.f("fk_application_files_uploaded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_files")),
    )
    with op.batch_alter_table("application_files") as batch_op:
        batch_op.create_index(batch_op.f("ix_application_files_application_id"), ["application_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_application_files_type_id"), ["type_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_application_files_clarification_id"), ["clarification_id"],
                              unique=False)
    where = sa.text("type_id is not null and clarification_id is null")
    op.create_index(ONE_PER_TYPE, "application_files", ["application_id", "type_id"], unique=True,
                    sqlite_where=where, postgresql_where=where)


def downgrade():
    op.drop_index(ONE_PER_TYPE, table_name="application_files")
    op.drop_table("application_files")
    op.drop_table("attachment_types")
