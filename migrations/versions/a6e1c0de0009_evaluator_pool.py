"""evaluator pool

Revision ID: a6e1c0de0009
Revises: a6e1c0de0008
Create Date: 2026-12-01 12:40:00

evaluators: affiliations, the calls they serve, conflicts named by applicants (issue 7). A conflict gets the member
who named it (`named_by_id`, exactly for source "applicant") and its source is one of evaluator, applicant, admin.
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0009"
down_revision = "a6e1c0de0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "evaluator_affiliations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluator_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("domain", sa.String(length=200), nullable=True),
        sa.Column("text", sa.String(length=500), nullable=True),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind in ('organisation', 'domain', 'text')", name=op.f("ck_evaluator_affiliations_kind")),
        sa.CheckConstraint("(kind = 'organisation') = (organisation_id is not null)",
                           name=op.f("ck_evaluator_affiliations_organisation_kind")),
        sa.CheckConstraint("(kind = 'domain') = (domain is not null)", name=op.f("ck_evaluator_affiliations_domain_kind")),
        sa.CheckConstraint("(kind = 'text') = (text is not null)", name=op.f("ck_evaluator_affiliations_text_kind")),
        sa.ForeignKeyConstraint(["evaluator_id"], ["users.id"], name=op.f("fk_evaluator_affiliations_evaluator_id_users")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_evaluator_affiliations_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"], name=op.f("fk_evaluator_affiliations_added_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluator_affiliations")),
    )
    with op.batch_alter_table("evaluator_affiliations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluator_affiliations_evaluator_id"), ["evaluator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluator_affiliations_organisation_id"), ["organisation_id"],
                              unique=False)

    op.create_table(
        "call_evaluators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("evaluator_id", sa.Integer(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_call_evaluators_call_id_calls")),
        sa.ForeignKeyConstraint(["evaluator_id"], ["users.id"], name=op.f("fk_call_evaluators_evaluator_id_users")),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"], name=op.f("fk_call_evaluators_added_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_evaluators")),
        sa.UniqueConstraint("call_id", "evaluator_id", name="uq_call_evaluators_call_evaluator"),
    )
    with op.batch_alter_table("call_evaluators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_evaluators_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_evaluators_evaluator_id"), ["evaluator_id"], unique=False)

    with op.batch_alter_table("conflicts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("named_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_conflicts_named_by_id_users"), "users", ["named_by_id"], ["id"])
        batch_op.create_check_constraint(op.f("ck_conflicts_source"), "source in ('evaluator', 'applicant', 'admin')")
        batch_op.create_check_constraint(op.f("ck_conflicts_named_by_applicant"),
                                         "(source = 'applicant') = (named_by_id is not null)")


def downgrade():
    with op.batch_alter_table("conflicts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_conflicts_named_by_applicant"), type_="check")
        batch_op.drop_constraint(op.f("ck_conflicts_source"), type_="check")
        batch_op.drop_constraint(op.f("fk_conflicts_named_by_id_users"), type_="foreignkey")
        batch_op.drop_column("named_by_id")
    with op.batch_alter_table("call_evaluators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_evaluators_evaluator_id"))
        batch_op.drop_index(batch_op.f("ix_call_evaluators_call_id"))
    op.drop_table("call_evaluators")
    with op.batch_alter_table("evaluator_affiliations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluator_affiliations_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_evaluator_affiliations_evaluator_id"))
    op.drop_table("evaluator_affiliations")
