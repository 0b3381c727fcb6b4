"""each user's choice of the messages they want in the system only

Revision ID: a6e1c0de0014
Revises: a6e1c0de0013
Create Date: 2026-12-01 13:40:00

users.email_off_kinds: the kinds of message (app/services/notifications.py KINDS) the user chose not to receive by
e-mail, space separated; legal notices are e-mailed whatever the list says.
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0014"
down_revision = "a6e1c0de0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        # space-separated kinds; None: e-mail for every kind (text: PostgreSQL's json has no equality operator, and
        # users are selected DISTINCT)
        batch.add_column(sa.Column("email_off_kinds", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_off_kinds")
