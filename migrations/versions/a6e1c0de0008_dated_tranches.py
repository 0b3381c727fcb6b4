"""dated tranches

Revision ID: a6e1c0de0008
Revises: a6e1c0de0007
Create Date: 2026-12-01 12:40:00

A payment tranche is due either on an event (signing, an approved report) or from a Riga calendar date: payments
get `due_on`, `due_on_event` may be empty, and exactly one of the two is set. A tranche stored before this revision
keeps its event.
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0008"
down_revision = "a6e1c0de0007"
branch_labels = None
depends_on = None

payments = sa.table("payments", sa.column("due_on_event", sa.String), sa.column("due_on", sa.Date))


def upgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch_op.alter_column("due_on_event", existing_type=sa.String(length=40), nullable=True)
        batch_op.create_check_constraint(op.f("ck_payments_due_on_date_or_event"),
                                         "(due_on is null) <> (due_on_event is null)")


def downgrade():
    # The older schema knows only events: a dated tranche waits for signing there (its date is lost).
    op.execute(payments.update().where(payments.c.due_on_event.is_(None)).values(due_on_event="sign"))
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payments_due_on_date_or_event"), type_="check")
        batch_op.alter_column("due_on_event", existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_column("due_on")
