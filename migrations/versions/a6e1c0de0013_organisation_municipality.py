"""the municipality an organisation works in

Revision ID: a6e1c0de0013
Revises: a6e1c0de0012
Create Date: 2026-12-01 12:50:00

organisations.municipality: one of Latvia's 43 municipalities (app/municipalities.py), chosen at registration or on
the profile page; the admin's list filters by it. Organisations registered before have none until a member sets it.
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0013"
down_revision = "a6e1c0de0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("municipality", sa.String(length=40), nullable=True))
        batch.create_index("ix_organisations_municipality", ["municipality"])


def downgrade():
    with op.batch_alter_table("organisations") as batch:
        batch.drop_index("ix_organisations_municipality")
        batch.drop_column("municipality")
