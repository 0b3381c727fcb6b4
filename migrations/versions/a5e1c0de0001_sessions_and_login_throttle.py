"""session versions and login throttling

Revision ID: a5e1c0de0001
Revises: 5d1e2f3a4b6c
Create Date: 2026-12-01 09:30:00

users.session_version: part of every session's user id, so that logout, a new password and deactivation end
every cookie issued before. users.unconfirmed_since: a self-registered member logs in only after opening the link sent
to the address (everybody registered before is confirmed: NULL). login_throttles: the login
throttle's counts per client address and per account, one row each, locked while an attempt is counted.
"""
from alembic import op
import sqlalchemy as sa

revision = "a5e1c0de0001"
down_revision = "5d1e2f3a4b6c"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("unconfirmed_since", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "login_throttles",
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope in ('address', 'account')", name=op.f("ck_login_throttles_scope")),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_login_throttles_failures")),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_login_throttles")),
    )
    with op.batch_alter_table("login_throttles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttles_last_attempt_at"), ["last_attempt_at"], unique=False)


def downgrade():
    with op.batch_alter_table("login_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttles_last_attempt_at"))
    op.drop_table("login_throttles")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("unconfirmed_since")
        batch_op.drop_column("session_version")
