"""after award gaps

Revision ID: a6e1c0de0021
Revises: a6e1c0de0020
Create Date: 2026-12-01 16:00:00

after the award (issue 8): a shortfall in results recorded as a reduction of the tranches still to pay (each payment
keeps how much it was reduced by), and each report reminder as a row unique per report and kind, so that two ticks at
once remind once (it replaces reports.reminders_sent); a bank file the bank rejected is discarded with a reason,
which frees its payments for a new file (a payment is in one live file at most: a partial unique index).
"""
from alembic import op
import sqlalchemy as sa

revision = "a6e1c0de0021"
down_revision = "a6e1c0de0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reduced_cents", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_check_constraint(op.f("ck_payments_reduced_not_negative"), "reduced_cents >= 0")

    op.create_table(
        "report_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind in ('before', 'after')", name=op.f("ck_report_reminders_kind")),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_report_reminders_report_id_reports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_reminders")),
        sa.UniqueConstraint("report_id", "kind", name="uq_report_reminders_report_kind"),
    )
    with op.batch_alter_table("report_reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_reminders_report_id"), ["report_id"], unique=False)
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("reminders_sent")

    with op.batch_alter_table("payment_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discarded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("discarded_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("discard_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_payment_batches_discarded_by_users"), "users",
                                    ["discarded_by"], ["id"])
        batch_op.create_check_constraint(op.f("ck_payment_batches_discarded_with_reason"),
                                         "(discarded_at is null) = (discard_reason is null)")
    with op.batch_alter_table("payment_batch_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("released", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_constraint(op.f("uq_payment_batch_items_payment_id"), type_="unique")
        batch_op.create_index("uq_payment_batch_items_live_payment", ["payment_id"], unique=True,
                              sqlite_where=sa.text("not released"), postgresql_where=sa.text("not released"))


def downgrade():
    with op.batch_alter_table("payment_batch_items", schema=None) as batch_op:
        batch_op.drop_index("uq_payment_batch_items_live_payment")
        batch_op.create_unique_constraint(op.f("uq_payment_batch_items_payment_id"), ["payment_id"])
        batch_op.drop_column("released")
    with op.batch_alter_table("payment_batches", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payment_batches_discarded_with_reason"), type_="check")
        batch_op.drop_constraint(op.f("fk_payment_batches_discarded_by_users"), type_="foreignkey")
        batch_op.drop_column("discard_reason")
        batch_op.drop_column("discarded_by")
        batch_op.drop_column("discarded_at")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminders_sent", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("report_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_reminders_report_id"))
    op.drop_table("report_reminders")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payments_reduced_not_negative"), type_="check")
        batch_op.drop_column("reduced_cents")
