"""score sheet

Revision ID: a6e1c0de0011
Revises: a6e1c0de0010
Create Date: 2026-12-01 12:40:00

score sheet: consensus notes, reopened reviews, the call's setting to show others' scores (issue 7)
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "a6e1c0de0011"
down_revision = "a6e1c0de0010"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
