"""The Alembic migrations build the schema the models describe, and go down and up again cleanly."""
from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app import create_app
from app.extensions import db
from tests.conftest import IsolatedCliRunner

pytestmark = pytest.mark.postgres

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
MODEL_TABLES = {table.name for table in db.metadata.sorted_tables}


@pytest.fixture
def empty(empty_database_url, tmp_path):
    """An app on an empty database, its `flask` runner, and an engine to look at the database with."""
    flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=empty_database_url, UPLOAD_DIR=str(tmp_path / "up"))
    engine = create_engine(empty_database_url)
    try:
        yield IsolatedCliRunner(flask_app), engine
    finally:
        engine.dispose()
        with flask_app.app_context():
            db.engine.dispose()


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def flask_db(runner, *args):
    result = runner.invoke(args=["db", *args])
    assert result.exit_code == 0, f"flask db {' '.join(args)} failed:\n{result.output}"
    return result


def test_upgrade_downgrade_and_upgrade_again(empty):
    runner, engine = empty
    assert tables(engine) == set()

    flask_db(runner, "upgrade")
    assert tables(engine) == MODEL_TABLES | {"alembic_version"}

    flask_db(runner, "downgrade", "base")
    assert tables(engine) == {"alembic_version"}

    flask_db(runner, "upgrade")
    assert tables(engine) == MODEL_TABLES | {"alembic_version"}
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_heads() == heads()


def heads() -> tuple[str, ...]:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return tuple(ScriptDirectory.from_config(config).get_heads())


def test_the_migrated_schema_matches_the_models(empty):
    runner, engine = empty
    flask_db(runner, "upgrade")

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "compare_server_default": True})
        differences = compare_metadata(context, db.metadata)

    assert differences == []
