"""every status column checked against its workflow's states

Revision ID: a5e1c0de0002
Revises: a5e1c0de0001
Create Date: 2026-12-01 09:30:00

The models build these checks from the workflow definitions (app/models/states.py). This migration writes the
lists out instead of importing the definitions: a migration must build the same schema whenever it runs, and one
that read the live definitions would silently give a fresh database a different schema from an upgraded one once
a state is added. tests/integration/test_migrations.py compares the migrated checks with the models and with the
definitions, so a state added without a new migration fails there.
"""
from alembic import op
import sqlalchemy as sa

revision = "a5e1c0de0002"
down_revision = "a5e1c0de0001"
branch_labels = None
depends_on = None

# {table: [(name without the ck_<table>_ prefix, SQL)]}, exactly as the models write them
CHECKS = {
    "calls": [
        ("status", "status in ('draft', 'announced', 'open', 'closed', 'evaluation', 'ranking', 'awarded', "
                   "'reporting', 'completed', 'cancelled')"),
    ],
    "applications": [
        ("status", "status in ('draft', 'submitted', 'clarification', 'eligible', 'ineligible', 'in_review', "
                   "'reviewed', 'funded', 'reserve', 'rejected', 'not_funded', 'accepted', 'declined', 'contracted', "
                   "'terminated', 'closed', 'withdrawn', 'appealed')"),
        ("accepted_by_with_time", "(accepted_by is null) = (accepted_at is null)"),
        ("accepted_before_contract",
         "status not in ('accepted', 'contracted', 'terminated', 'closed') or accepted_at is not null"),
    ],
    "appeals": [
        ("prior_status", "prior_status in ('ineligible', 'rejected', 'reserve')"),
        ("outcome", "outcome in ('upheld', 'dismissed')"),
        ("decided_by_with_outcome", "(outcome is null) = (decided_by is null)"),
        ("reasons_with_outcome", "(outcome is null) = (decision_reasons is null)"),
    ],
    "assignments": [
        ("status", "status in ('assigned', 'accepted', 'submitted', 'recused', 'revoked', 'voided')"),
        ("declaration_with_time", "(declared_at is null) = (declaration_text is null)"),
    ],
    "reports": [
        ("status", "status in ('draft', 'submitted', 'changes_requested', 'approved')"),
        ("submitted_unless_draft", "(status = 'draft') = (submitted_at is null)"),
        ("approved_by_with_time", "(approved_by is null) = (approved_at is null)"),
    ],
    "payments": [
        ("status", "status in ('scheduled', 'paid', 'cancelled')"),
        ("bank_reference_when_paid", "(status = 'paid') = (bank_reference is not null)"),
    ],
    "recoveries": [
        ("status", "status in ('demanded', 'repaid', 'written_off')"),
        ("settled_with_state", "(status in ('repaid', 'written_off')) = (settled_at is not null)"),
        ("written_off_with_reason", "(status = 'written_off') = (write_off_reason is not null)"),
    ],
}

ONE_CURRENT = "uq_decisions_one_current"


def _keep_only_the_newest_current_decision():
    """Before the index: where an application has several current decisions (the old code could leave them),
    the newest stays current, which is the one `current_decision` has always read."""
    decisions = sa.table("decisions", sa.column("id", sa.Integer), sa.column("application_id", sa.Integer),
                         sa.column("current", sa.Boolean))
    newer = decisions.alias("newer")
    op.execute(
        decisions.update()
        .where(decisions.c.current, sa.exists().where(newer.c.application_id == decisions.c.application_id,
                                                      newer.c.current, newer.c.id > decisions.c.id))
        .values(current=False)
    )


def upgrade():
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table) as batch_op:
            for name, sql in checks:
                batch_op.create_check_constraint(op.f(f"ck_{table}_{name}"), sql)
    _keep_only_the_newest_current_decision()
    op.create_index(ONE_CURRENT, "decisions", ["application_id"], unique=True,
                    sqlite_where=sa.text("current"), postgresql_where=sa.text("current"))


def downgrade():
    op.drop_index(ONE_CURRENT, table_name="decisions")
    for table, checks in reversed(CHECKS.items()):
        with op.batch_alter_table(table) as batch_op:
            for name, _sql in checks:
                batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
