"""cost categories and budget lines

Revision ID: a6e1c0de0005
Revises: a6e1c0de0004
Create Date: 2026-12-01 10:20:00

A budgeted call gets its eligible cost categories (label LV/EN, an optional cap as a share of the total); a budget
line gets its quantity and unit cost, and the database holds its amount to quantity × unit cost. A line stored
before this revision is one unit at its amount.
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0005"
down_revision = "a6e1c0de0004"
branch_labels = None
depends_on = None

budget_lines = sa.table("budget_lines", sa.column("amount_cents", sa.Integer), sa.column("quantity", sa.Integer),
                        sa.column("unit_cost_cents", sa.Integer))


def upgrade():
    op.create_table(
        "cost_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("label_lv", sa.String(length=200), nullable=False),
        sa.Column("label_en", sa.String(length=200), nullable=False),
        sa.Column("cap_percent", sa.Integer(), nullable=True),
        sa.CheckConstraint("cap_percent is null or (cap_percent > 0 and cap_percent <= 100)",
                           name=op.f("ck_cost_categories_cap_percent")),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_cost_categories_call_id_calls")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_categories")),
        sa.UniqueConstraint("call_id", "code", name="uq_cost_categories_call_code"),
    )
    with op.batch_alter_table("cost_categories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cost_categories_call_id"), ["call_id"], unique=False)

    with op.batch_alter_table("budget_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quantity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("unit_cost_cents", sa.Integer(), nullable=True))
    op.execute(budget_lines.update().values(quantity=1, unit_cost_cents=budget_lines.c.amount_cents))
    with op.batch_alter_table("budget_lines", schema=None) as batch_op:
        batch_op.alter_column("quantity", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("unit_cost_cents", existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(op.f("ck_budget_lines_quantity_positive"), "quantity > 0")
        batch_op.create_check_constraint(op.f("ck_budget_lines_unit_cost_not_negative"), "unit_cost_cents >= 0")
        batch_op.create_check_constraint(op.f("ck_budget_lines_amount_is_quantity_times_cost"),
                                         "amount_cents = quantity * unit_cost_cents")


def downgrade():
    with op.batch_alter_table("budget_lines", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_budget_lines_amount_is_quantity_times_cost"), type_="check")
        batch_op.drop_constraint(op.f("ck_budget_lines_unit_cost_not_negative"), type_="check")
        batch_op.drop_constraint(op.f("ck_budget_lines_quantity_positive"), type_="check")
        batch_op.drop_column("unit_cost_cents")
        batch_op.drop_column("quantity")
    with op.batch_alter_table("cost_categories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cost_categories_call_id"))
    op.drop_table("cost_categories")
