"""payment batches

Revision ID: a6e1c0de0016
Revises: a6e1c0de0015
Create Date: 2026-12-01 13:25:00

payments: SEPA batches and their payments (issue 8)
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "a6e1c0de0016"
down_revision = "a6e1c0de0015"
branch_labels = None
depends_on = None


ORGANISER_COLUMNS = (("bank_iban", 34), ("bank_bic", 11), ("address_street", 70), ("address_building", 16),
                     ("address_postcode", 16), ("address_town", 35))


def upgrade():
    with op.batch_alter_table("organisers") as batch:
        for name, length in ORGANISER_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))
        batch.add_column(sa.Column("address_country", sa.String(length=2), nullable=False, server_default="LV"))

    op.create_table(
        "payment_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organiser_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("execution_date", sa.Date(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("total_cents > 0", name=op.f("ck_payment_batches_total_positive")),
        sa.ForeignKeyConstraint(["organiser_id"], ["organisers.id"],
                                name=op.f("fk_payment_batches_organiser_id_organisers")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_payment_batches_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_batches")),
        sa.UniqueConstraint("message_id", name=op.f("uq_payment_batches_message_id")),
    )
    with op.batch_alter_table("payment_batches") as batch:
        batch.create_index(batch.f("ix_payment_batches_organiser_id"), ["organiser_id"], unique=False)

    op.create_table(
        "payment_batch_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["payment_batches.id"],
                                name=op.f("fk_payment_batch_items_batch_id_payment_batches")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"],
                                name=op.f("fk_payment_batch_items_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_batch_items")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_payment_batch_items_payment_id")),
    )
    with op.batch_alter_table("payment_batch_items") as batch:
        batch.create_index(batch.f("ix_payment_batch_items_batch_id"), ["batch_id"], unique=False)


def downgrade():
    op.drop_table("payment_batch_items")
    op.drop_table("payment_batches")
    with op.batch_alter_table("organisers") as batch:
        batch.drop_column("address_country")
        for name, _length in reversed(ORGANISER_COLUMNS):
            batch.drop_column(name)
