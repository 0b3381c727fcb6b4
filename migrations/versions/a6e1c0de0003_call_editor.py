"""call editor: tranches, report schedule, announcement opt-out

Revision ID: a6e1c0de0003
Revises: a6e1c0de0002
Create Date: 2026-12-01 10:20:00

The call's report schedule and payment tranches stay in their JSON columns (calls.report_schedule,
calls.payment_tranches): the editor only gives them rows. users.announcements_opt_out: a member who ticked
"Do not e-mail me new calls" gets no e-mail when a call is announced (everybody registered before: false).
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0003"
down_revision = "a6e1c0de0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announcements_opt_out", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("announcements_opt_out")
