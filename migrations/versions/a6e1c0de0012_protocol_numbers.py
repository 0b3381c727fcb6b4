"""protocol numbers

Revision ID: a6e1c0de0012
Revises: a6e1c0de0011
Create Date: 2026-12-01 12:40:00

protocols numbered within their call; verification records (issue 7)
- ranking_protocols.number: 1, 2, … within the call (it was the table's global id, so a call's first protocol could
  be "2"); existing rows are numbered per call in id order; unique with the call;
- ranking_protocols.translation_document_id: the same protocol rendered in the other language, on request.
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0012"
down_revision = "a6e1c0de0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ranking_protocols", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("translation_document_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_ranking_protocols_translation_document_id_documents"),
                                    "documents", ["translation_document_id"], ["id"])
    op.execute("UPDATE ranking_protocols SET number = (SELECT count(*) FROM ranking_protocols AS earlier "
               "WHERE earlier.call_id = ranking_protocols.call_id AND earlier.id <= ranking_protocols.id)")
    with op.batch_alter_table("ranking_protocols", schema=None) as batch_op:
        batch_op.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_ranking_protocols_call_number"), ["call_id", "number"])
        batch_op.create_check_constraint(op.f("ck_ranking_protocols_number_positive"), "number > 0")


def downgrade():
    with op.batch_alter_table("ranking_protocols", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_ranking_protocols_number_positive"), type_="check")
        batch_op.drop_constraint(op.f("uq_ranking_protocols_call_number"), type_="unique")
        batch_op.drop_constraint(op.f("fk_ranking_protocols_translation_document_id_documents"), type_="foreignkey")
        batch_op.drop_column("translation_document_id")
        batch_op.drop_column("number")
