"""password resets, invitations, profile changes

Revision ID: a6e1c0de0001
Revises: a5e1c0de0003
Create Date: 2026-12-01 10:20:00

- `invitations`: a member invites a colleague by e-mail.
- `password_reset_requests`: who asked for a reset link for which e-mail, for the limit of links an hour (the links
  themselves need no row: they are signed over the current password hash, so a new password ends them).
- `messages.user_id` may be empty: an invitation goes to an address that has no account yet.
- Registration numbers were stored as typed ("LV40008152656", "4000815265 6"): stored compact now, as stdnum
  writes them, where that clashes with no other organisation.
"""
from alembic import op
import sqlalchemy as sa
from stdnum.lv import pvn

revision = "a6e1c0de0001"
down_revision = "a5e1c0de0003"
branch_labels = None
depends_on = None

organisations = sa.table("organisations", sa.column("id", sa.Integer), sa.column("registration_number", sa.String))


def upgrade():
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_invitations_expires_after_created")),
        sa.CheckConstraint("(accepted_at is null) = (accepted_by_id is null)",
                           name=op.f("ck_invitations_accepted_by_whom")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_invitations_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["invited_by_id"], ["users.id"], name=op.f("fk_invitations_invited_by_id_users")),
        sa.ForeignKeyConstraint(["accepted_by_id"], ["users.id"], name=op.f("fk_invitations_accepted_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    op.create_index(op.f("ix_invitations_organisation_id"), "invitations", ["organisation_id"], unique=False)
    op.create_table(
        "password_reset_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset_requests")),
    )
    op.create_index(op.f("ix_password_reset_requests_email"), "password_reset_requests", ["email"], unique=False)
    op.create_index(op.f("ix_password_reset_requests_at"), "password_reset_requests", ["at"], unique=False)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)

    connection = op.get_bind()
    rows = connection.execute(sa.select(organisations.c.id, organisations.c.registration_number)).all()
    taken = {number for _id, number in rows}
    for organisation_id, number in rows:
        compact = pvn.compact(number or "")
        if compact != number and compact not in taken:
            connection.execute(organisations.update().where(organisations.c.id == organisation_id)
                               .values(registration_number=compact))
            taken.add(compact)


def downgrade():
    # messages to an address without an account cannot stay: they (and their e-mail jobs) go with the column's rule
    connection = op.get_bind()
    connection.execute(sa.text("DELETE FROM jobs WHERE kind = 'email' AND target_id IN "
                               "(SELECT id FROM messages WHERE user_id IS NULL)"))
    connection.execute(sa.text("DELETE FROM messages WHERE user_id IS NULL"))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index(op.f("ix_password_reset_requests_at"), table_name="password_reset_requests")
    op.drop_index(op.f("ix_password_reset_requests_email"), table_name="password_reset_requests")
    op.drop_table("password_reset_requests")
    op.drop_index(op.f("ix_invitations_organisation_id"), table_name="invitations")
    op.drop_table("invitations")
