"""dated tranches

Revision ID: a6e1c0de0008
Revises: a6e1c0de0007
Create Date: 2026-12-01 12:40:00

payment tranches due on a date or an event (issue 6/8): filled by the payments engineer
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "a6e1c0de0008"
down_revision = "a6e1c0de0007"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
