"""index for the admin's list of a call's applications

Revision ID: 5d1e2f3a4b6c
Revises: c9b45bd45e98
Create Date: 2026-11-28 02:15:00

"""
from alembic import op

revision = "5d1e2f3a4b6c"
down_revision = "c9b45bd45e98"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_applications_call_submitted", "applications", ["call_id", "submitted_at", "id"])


def downgrade():
    op.drop_index("ix_applications_call_submitted", table_name="applications")
