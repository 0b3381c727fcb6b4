"""mail delivery state: a message is sent only when an SMTP server accepted it

Revision ID: a5e1c0de0003
Revises: a5e1c0de0002
Create Date: 2026-12-01 09:30:00

Until now the worker stamped `sent_at` on every message, with or without a mail server. Which old stamps were real
cannot be told afterwards, so they are kept as `sent`; a stamp-less message whose e-mail job gave up is `failed`,
and the rest are `pending` (their jobs are still queued).
"""
from alembic import op
import sqlalchemy as sa

revision = "a5e1c0de0003"
down_revision = "a5e1c0de0002"
branch_labels = None
depends_on = None

messages = sa.table("messages", sa.column("id", sa.Integer), sa.column("delivery", sa.String),
                    sa.column("sent_at", sa.DateTime))
jobs = sa.table("jobs", sa.column("kind", sa.String), sa.column("target_id", sa.Integer),
                sa.column("status", sa.String))


def upgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery", sa.String(length=20), nullable=False, server_default="pending"))
    op.execute(messages.update().where(messages.c.sent_at.is_not(None)).values(delivery="sent"))
    given_up = sa.select(jobs.c.target_id).where(jobs.c.kind == "email", jobs.c.status == "failed")
    op.execute(messages.update().where(messages.c.sent_at.is_(None), messages.c.id.in_(given_up))
               .values(delivery="failed"))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column("delivery", server_default=None)
        batch_op.create_check_constraint(op.f("ck_messages_delivery_state"),
                                         "delivery in ('pending', 'in_app_only', 'sent', 'failed')")
        batch_op.create_check_constraint(op.f("ck_messages_sent_when_accepted"),
                                         "(delivery = 'sent') = (sent_at is not null)")


def downgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_messages_sent_when_accepted"), type_="check")
        batch_op.drop_constraint(op.f("ck_messages_delivery_state"), type_="check")
        batch_op.drop_column("delivery")
