"""whole call assignment

Revision ID: a6e1c0de0010
Revises: a6e1c0de0009
Create Date: 2026-12-01 12:40:00

assignment of a whole call: call settings such as the maximum per evaluator, reminders (issue 7)

- calls.max_assignments_per_evaluator: the most live assignments of the call one evaluator may hold (NULL: no
  maximum, as every call before this revision);
- review_reminders: the reminders `tick` sent about a review still to do, before and after its due time, each
  kind once per assignment.
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0010"
down_revision = "a6e1c0de0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_assignments_per_evaluator", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_calls_max_assignments_positive"),
            "max_assignments_per_evaluator is null or max_assignments_per_evaluator > 0")
    op.create_table(
        "review_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind in ('before', 'after')", name=op.f("ck_review_reminders_kind")),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"],
                                name=op.f("fk_review_reminders_assignment_id_assignments")),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name=op.f("fk_review_reminders_message_id_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_reminders")),
        sa.UniqueConstraint("assignment_id", "kind", name="uq_review_reminders_assignment_kind"),
    )
    with op.batch_alter_table("review_reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_reminders_assignment_id"), ["assignment_id"], unique=False)


def downgrade():
    with op.batch_alter_table("review_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_reminders_assignment_id"))
    op.drop_table("review_reminders")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_calls_max_assignments_positive"), type_="check")
        batch_op.drop_column("max_assignments_per_evaluator")
