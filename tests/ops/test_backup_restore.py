"""`flask --app wsgi backup` and `restore` on SQLite and PostgreSQL: the demo loaded, backed up, restored into an
empty database; every table has the rows it had, the files on disk came back, and `audit verify` passes on the
restored database. A target that holds data is refused unless --force."""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import create_app
from app.demo import load_demo
from app.extensions import db
from tests.conftest import POSTGRES_URL

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs", "fast_password_hashes")]


@pytest.fixture
def fast_password_hashes(monkeypatch):
    """The demo's 14 users hashed with a cheap KDF (scrypt costs ~0.1 s each): this test is about the rows."""
    from werkzeug import security

    from app.models import accounts

    monkeypatch.setattr(accounts, "generate_password_hash",
                        lambda password, method=None: security.generate_password_hash(password, "pbkdf2:sha256:1000"))


def counts_of(url: str) -> dict[str, int]:
    """Every table's rows, counted here with plain SQL (not with the code under test)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
                    for name in inspect(connection).get_table_names()}
    finally:
        engine.dispose()


@contextmanager
def empty_database(backend: str, tmp_path: Path, schema_url: str):
    """A new, empty database on the backend: a new SQLite file, or a new PostgreSQL database (the test's schema
    name in its search path, as the dump recreates that schema)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    name = f"restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(schema_url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:  # a plain DROP stops an autovacuum worker there by itself (WITH (FORCE) would need the privilege to)
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        finally:
            admin.dispose()


def test_backup_and_restore_into_an_empty_database(app, runner, db_backend, tmp_path):
    load_demo()
    db.session.commit()
    upload = Path(app.config["UPLOAD_DIR"]) / "2022" / "letter.pdf"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"%PDF-1.4 a file that lives on disk\n")
    source_url = app.config["SQLALCHEMY_DATABASE_URI"]
    before = counts_of(source_url)
    assert before["audit_events"] > 100 and before["applications"] > 10 and before["alembic_version"] == 1

    made = runner.invoke(args=["backup", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    folders = list((tmp_path / "backups").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("pumpurs-grants-")
    assert str(folders[0]) in made.output
    kept = {p.name for p in folders[0].iterdir()}
    assert kept == {"manifest.json", "uploads.tar.gz",
                    "database.sqlite" if db_backend == "sqlite" else "database.dump"}
    assert json.loads((folders[0] / "manifest.json").read_text())["tables"] == before

    with empty_database(db_backend, tmp_path, source_url) as target_url:
        restored_uploads = tmp_path / "restored-uploads"
        other = create_app("testing", SQLALCHEMY_DATABASE_URI=target_url, UPLOAD_DIR=str(restored_uploads),
                           MAIL_SERVER="")
        try:
            result = other.test_cli_runner().invoke(args=["restore", str(folders[0])])
            assert result.exit_code == 0, result.output
            assert "Will restore the database into" in result.output
            assert "Will restore 1 files into" in result.output
            assert counts_of(target_url) == before
            assert (restored_uploads / "2022" / "letter.pdf").read_bytes() == upload.read_bytes()

            verified = other.test_cli_runner().invoke(args=["audit", "verify"])
            assert verified.exit_code == 0, verified.output
            assert f"audit trail intact: {before['audit_events']} events" in verified.output

            # now the target holds data: refused, saying why, and nothing changes; --force replaces it
            again = other.test_cli_runner().invoke(args=["restore", str(folders[0])])
            assert again.exit_code == 1
            assert "Refusing to restore: the target database holds" in again.output
            assert "Run it again with --force to replace what is there." in again.output
            assert f"{restored_uploads} is not empty" in again.output
            with other.app_context():
                db.session.execute(text("DELETE FROM messages"))
                db.session.commit()
                db.engine.dispose()
            forced = other.test_cli_runner().invoke(args=["restore", "--force", str(folders[0])])
            assert forced.exit_code == 0, forced.output
            assert "--force: will replace what is there: the target database holds" in forced.output
            assert counts_of(target_url) == before
        finally:
            with other.app_context():
                db.engine.dispose()


def test_a_damaged_backup_is_refused(app, runner, db_backend, tmp_path):
    made = runner.invoke(args=["backup", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    folder = next((tmp_path / "backups").iterdir())
    database = next(p for p in folder.iterdir() if p.name.startswith("database."))
    database.write_bytes(database.read_bytes()[:-10])
    other = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'never.sqlite'}",
                       UPLOAD_DIR=str(tmp_path / "u"))
    result = other.test_cli_runner().invoke(args=["restore", str(folder)])
    assert result.exit_code == 1
    if db_backend == "sqlite":
        assert f"{database.name} in {folder} is missing or differs from the manifest" in result.output
    else:
        assert "the backup is of a postgresql database; the target is sqlite" in result.output
    assert not (tmp_path / "never.sqlite").exists()
