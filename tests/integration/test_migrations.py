"""The Alembic migrations build the schema the models describe, and go down and up again cleanly."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db
from tests import factories
from tests.conftest import IsolatedCliRunner, postgres_schema
from workflows.engine import WORKFLOWS

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

    with engine.connect() as connection, warnings.catch_warnings():
        # The list's search index is PostgreSQL's only (GIN on an expression, `ddl_if(dialect="postgresql")` in the
        # model): PostgreSQL compares it; on SQLite the database has none and alembic, which cannot reflect
        # expression indexes there, skips it with this warning.
        warnings.filterwarnings("ignore", message="autogenerate skipping metadata-specified expression-based "
                                "index 'ix_applications_search'", category=UserWarning)
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "compare_server_default": True})
        differences = compare_metadata(context, db.metadata)

    assert differences == []


# --- check constraints: alembic's compare_metadata does not compare them, so these tests do ---------------------

# The table of every status column that follows a workflow, written out here (not derived from the models) so that
# a new stateful model without its check fails below. `jobs.status` is the worker's queue, not a workflow.
STATUS_WORKFLOW = {"calls": "call", "applications": "application", "assignments": "review", "reports": "report",
                   "payments": "payment", "recoveries": "recovery"}
NOT_A_WORKFLOW = {"jobs"}


@pytest.fixture
def models_engine(db_backend, tmp_path):
    """The schema exactly as the models describe it (`metadata.create_all`) on the test's backend. Each backend
    reports a constraint's SQL in its own words (PostgreSQL rewrites `status in (...)` as `(status)::text = ANY
    (ARRAY[...])`), so the migrated schema is compared with this one, never with the models' text."""
    if db_backend == "postgres":
        with postgres_schema("models") as url:
            engine = create_engine(url)
            try:
                db.metadata.create_all(engine)
                yield engine
            finally:
                engine.dispose()
    else:
        engine = create_engine(f"sqlite:///{tmp_path / 'models.sqlite'}")
        try:
            db.metadata.create_all(engine)
            yield engine
        finally:
            engine.dispose()


def check_constraints(engine) -> dict[str, dict[str, str]]:
    """{table: {constraint name: its SQL, whitespace collapsed}} as the database reports them."""
    found = {}
    inspector = inspect(engine)
    for table in sorted(MODEL_TABLES):
        found[table] = {c["name"]: " ".join(c["sqltext"].split()) for c in inspector.get_check_constraints(table)}
    return found


def test_the_migrated_check_constraints_match_the_models(empty, models_engine):
    runner, engine = empty
    flask_db(runner, "upgrade")

    migrated, described = check_constraints(engine), check_constraints(models_engine)

    assert {t: set(c) for t, c in migrated.items()} == {t: set(c) for t, c in described.items()}  # names first
    assert migrated == described


def test_each_status_check_lists_exactly_its_workflows_states(empty):
    """The migration writes its lists out (a migration must build the same schema forever); this compares them
    with the live definitions, so a state added to a workflow without a migration fails here."""
    runner, engine = empty
    flask_db(runner, "upgrade")
    stateful = {table.name for table in db.metadata.sorted_tables if "status" in table.c}
    assert stateful == set(STATUS_WORKFLOW) | NOT_A_WORKFLOW

    migrated = check_constraints(engine)
    for table, workflow in STATUS_WORKFLOW.items():
        listed = set(re.findall(r"'([^']*)'", migrated[table][f"ck_{table}_status"]))
        assert listed == {state.name for state in WORKFLOWS[workflow].states}, table
    appealable = {source for tr in WORKFLOWS["application"].transitions if tr.trigger == "appeal"
                  for source in tr.source}
    assert set(re.findall(r"'([^']*)'", migrated["appeals"]["ck_appeals_prior_status"])) == appealable


def test_a_populated_database_goes_down_and_up_again(empty):
    """On SQLite a constraint is added by rebuilding the table (batch mode); dropping a table that other rows point
    to fails while foreign keys are enforced, which an empty database never shows. And the older schema allowed a
    second current decision for one application: the upgrade keeps the newest, as `current_decision` reads it."""
    runner, engine = empty
    flask_db(runner, "upgrade")
    with runner.app.app_context():
        application_id = factories.make_application(state="funded").id
        db.session.remove()

    flask_db(runner, "downgrade", "a5e1c0de0001")
    columns = ("application_id, protocol_id, outcome, rank, total, weighted_total, tie_broken_by, failures, "
               "amount_cents, override_justification, decided_at, letter_document_id, current")
    with engine.begin() as connection:
        (first,) = connection.execute(text("SELECT id FROM decisions WHERE application_id = :a"),
                                      {"a": application_id}).scalars().all()
        connection.execute(text(f"INSERT INTO decisions ({columns}) SELECT {columns} FROM decisions WHERE id = :d"),
                           {"d": first})

    flask_db(runner, "upgrade")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, current FROM decisions WHERE application_id = :a ORDER BY id"),
                                  {"a": application_id}).all()
        applications = connection.execute(text("SELECT count(*) FROM applications")).scalar()
    assert [(id_, bool(current)) for id_, current in rows] == [(first, False), (first + 1, True)]
    assert applications >= 1  # the rebuilt tables kept their rows


def test_existing_protocols_are_numbered_within_their_call(empty):
    """Protocols stored before a6e1c0de0012 had only the table's id: the upgrade numbers them 1, 2, … per call."""
    runner, engine = empty
    flask_db(runner, "upgrade")
    with runner.app.app_context():
        calls = [factories.make_application(state="funded").call_id for _ in range(2)]
        db.session.remove()
    flask_db(runner, "downgrade", "a6e1c0de0011")
    with engine.begin() as connection:  # a second protocol of the first call, stored after the second call's
        connection.execute(text(
            "INSERT INTO ranking_protocols (call_id, confirmed_by, confirmed_at, inputs_sha256, ranking) "
            "SELECT call_id, confirmed_by, confirmed_at, inputs_sha256, ranking FROM ranking_protocols "
            "WHERE call_id = :c"), {"c": calls[0]})
    flask_db(runner, "upgrade")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT call_id, number FROM ranking_protocols ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(calls[0], 1), (calls[1], 1), (calls[0], 2)]
