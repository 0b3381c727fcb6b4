"""score sheet

Revision ID: a6e1c0de0011
Revises: a6e1c0de0010
Create Date: 2026-12-01 12:40:00

score sheet: consensus notes, reopened reviews, the call's setting to show others' scores (issue 7).
- criteria.anchors_en: the scale anchors in English (criteria.anchors holds the Latvian ones);
- calls.show_scores_after_review: whether an evaluator who submitted sees the others' submitted scores (default off);
- consensus_notes: the evaluators' notes on an application once their reviews are in.
A reopened review needs no column: it is the assignment back in `accepted`, with its reason in the audit trail.
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0011"
down_revision = "a6e1c0de0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("criteria", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anchors_en", sa.JSON(), nullable=True))
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("show_scores_after_review", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.create_table(
        "consensus_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(text) > 0", name=op.f("ck_consensus_notes_text_not_empty")),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name=op.f("fk_consensus_notes_application_id_applications")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_consensus_notes_author_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consensus_notes")),
    )
    with op.batch_alter_table("consensus_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consensus_notes_application_id"), ["application_id"], unique=False)


def downgrade():
    with op.batch_alter_table("consensus_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consensus_notes_application_id"))
    op.drop_table("consensus_notes")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("show_scores_after_review")
    with op.batch_alter_table("criteria", schema=None) as batch_op:
        batch_op.drop_column("anchors_en")
