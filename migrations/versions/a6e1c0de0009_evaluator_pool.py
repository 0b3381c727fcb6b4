"""evaluator pool

Revision ID: a6e1c0de0009
Revises: a6e1c0de0008
Create Date: 2026-12-01 12:40:00

evaluators: affiliations, the calls they serve, conflicts named by applicants (issue 7)
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "a6e1c0de0009"
down_revision = "a6e1c0de0008"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
