"""operations

Revision ID: a6e1c0de0019
Revises: a6e1c0de0018
Create Date: 2026-12-01 16:00:00

operations (issue 9): the worker's heartbeat and what healthz reads.
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0019"
down_revision = "a6e1c0de0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "worker_heartbeats",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade():
    op.drop_table("worker_heartbeats")
