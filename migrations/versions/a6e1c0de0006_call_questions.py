"""questions of the call's own

Revision ID: a6e1c0de0006
Revises: a6e1c0de0005
Create Date: 2026-12-01 10:20:00

"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0006"
down_revision = "a6e1c0de0005"
branch_labels = None
depends_on = None

KINDS = ("short_text", "long_text", "number", "date", "choice", "yes_no", "file")
STEPS = ("project", "activities", "participants", "results", "questions", "declarations")


def upgrade():
    op.create_table(
        "call_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("label_lv", sa.String(length=300), nullable=False),
        sa.Column("label_en", sa.String(length=300), nullable=False),
        sa.Column("help_lv", sa.Text(), nullable=False),
        sa.Column("help_en", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("min_value", sa.Integer(), nullable=True),
        sa.Column("max_value", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"kind in {KINDS}", name=op.f("ck_call_questions_question_kind")),
        sa.CheckConstraint(f"step in {STEPS}", name=op.f("ck_call_questions_question_step")),
        sa.CheckConstraint("min_value is null or max_value is null or min_value <= max_value",
                           name=op.f("ck_call_questions_question_range")),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_call_questions_call_id_calls")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_questions")),
        sa.UniqueConstraint("call_id", "key", name="uq_call_questions_call_key"),
    )
    op.create_index(op.f("ix_call_questions_call_id"), "call_questions", ["call_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_call_questions_call_id"), table_name="call_questions")
    op.drop_table("call_questions")
