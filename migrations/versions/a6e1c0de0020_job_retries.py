"""job retries

Revision ID: a6e1c0de0020
Revises: a6e1c0de0019
Create Date: 2026-12-01 16:00:00

jobs (issue 9): retry with backoff, a job's lease so a killed worker's job is taken again.
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0020"
down_revision = "a6e1c0de0019"
branch_labels = None
depends_on = None


def upgrade():
    # a job left running by a worker that stopped goes back to the queue (at-least-once), so that every running
    # job has a lease from now on
    op.execute("UPDATE jobs SET status = 'pending' WHERE status = 'running'")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(op.f("ck_jobs_leased_while_running"),
                                         "(status = 'running') = (leased_until is not null)")


def downgrade():
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_leased_while_running"), type_="check")
        batch_op.drop_column("leased_until")
        batch_op.drop_column("next_attempt_at")
