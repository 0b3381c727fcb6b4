"""whole call assignment

Revision ID: a6e1c0de0010
Revises: a6e1c0de0009
Create Date: 2026-12-01 12:40:00

assignment of a whole call: call settings such as the maximum per evaluator, reminders (issue 7)
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "a6e1c0de0010"
down_revision = "a6e1c0de0009"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
