"""search and keyset pagination of the applications list

Revision ID: a6e1c0de0002
Revises: a6e1c0de0001
Create Date: 2026-12-01 10:20:00

"""
from alembic import op
import sqlalchemy as sa  # noqa: F401

revision = "a6e1c0de0002"
down_revision = "a6e1c0de0001"
branch_labels = None
depends_on = None

# Written out (not imported from the model): a migration builds the same schema forever. The model's
# SEARCH_DOCUMENT_SQL (app/models/applications.py) must stay this text, or the list's search stops using the index.
SEARCH_DOCUMENT_SQL = ("to_tsvector('simple'::regconfig, (COALESCE(title, ''::character varying)::text || ' '::text) "
                       "|| COALESCE(content ->> 'summary'::text, ''::text))")


def upgrade():
    # the admin list filtered by one state, in its default order (submission time, id)
    op.create_index("ix_applications_call_status_submitted", "applications",
                    ["call_id", "status", "submitted_at", "id"])
    # its search of titles and summaries; SQLite has no GIN index and scans the call's rows
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_applications_search ON applications USING gin ({SEARCH_DOCUMENT_SQL})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_applications_search")
    op.drop_index("ix_applications_call_status_submitted", table_name="applications")
