"""`flask --app wsgi backup` and `restore`: the database with its own tools, and the files on disk.

A backup is a folder `pumpurs-grants-<UTC time>/` holding
- `database.dump` (PostgreSQL: pg_dump's custom format) or `database.sqlite` (SQLite: a copy made through SQLite's
  backup API, page by page under SQLite's own locks, so it is consistent while the app goes on writing);
- `uploads.tar.gz` when UPLOAD_DIR holds files (uploads and documents are stored in the database by default, so
  usually there is none);
- `manifest.json`: when, which database kind, the migration revision, every table's row count (counted in the same
  snapshot that was dumped) and each file's SHA-256.
`restore` checks the files against the manifest, refuses a target database (or UPLOAD_DIR) that holds anything
unless forced, says what it will do, restores, and compares every table's row count with the manifest.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import URL, make_url

from app import clock
from app.errors import UserError
from app.extensions import db

MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(UserError):
    """A backup or restore that cannot be done; `message` says why (the CLI prints it and exits 1)."""


# --- where the database is ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    url: URL

    @property
    def kind(self) -> str:
        return "sqlite" if self.url.get_backend_name() == "sqlite" else "postgresql"

    @property
    def shown(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.database or "")

    @property
    def schema(self) -> str | None:
        """The schema named by `options=-csearch_path=…` (the tests' own schemas); None for the default one."""
        options = str(self.url.query.get("options", ""))
        for option in options.split():
            if option.startswith("-csearch_path="):
                return option.split("=", 1)[1].split(",")[0].strip('"')
        return None

    def libpq(self) -> tuple[str, dict[str, str]]:
        """pg_dump's --dbname (a libpq URI without the password) and the environment that carries the password."""
        plain = URL.create("postgresql", username=self.url.username, host=self.url.host, port=self.url.port,
                           database=self.url.database,
                           query={k: v for k, v in self.url.query.items() if k in ("host", "sslmode", "options")})
        env = {**os.environ}
        if self.url.password:
            env["PGPASSWORD"] = str(self.url.password)
        return plain.render_as_string(hide_password=False), env


def current_target() -> Target:
    return Target(make_url(str(db.engine.url.render_as_string(hide_password=False))))


def table_counts(engine) -> dict[str, int]:
    """Every table's row count (the tables that exist in the database, Alembic's own among them)."""
    with engine.connect() as connection:
        return _counts(connection)


def _counts(connection) -> dict[str, int]:
    names = sorted(inspect(connection).get_table_names())
    return {name: connection.execute(select(func.count()).select_from(text(f'"{name}"'))).scalar_one()
            for name in names}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")


# --- backup ------------------------------------------------------------------------------------------------------

@dataclass
class Made:
    folder: Path
    tables: dict[str, int]
    uploads: int


def backup(into: str | os.PathLike, upload_dir: str | os.PathLike) -> Made:
    target = current_target()
    stamp = clock.now().astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = Path(into) / f"pumpurs-grants-{stamp}"
    if folder.exists():
        raise BackupError(f"{folder} exists already; wait a second and try again")
    folder.mkdir(parents=True)
    os.chmod(folder, 0o700)  # it holds everyone's personal data
    if target.kind == "sqlite":
        database, tables = _backup_sqlite(target, folder / "database.sqlite")
    else:
        database, tables = _backup_postgresql(target, folder / "database.dump")
    uploads = _pack_uploads(Path(upload_dir), folder / "uploads.tar.gz")
    files = {path.name: _sha256(path) for path in (database, folder / "uploads.tar.gz") if path.exists()}
    manifest = {"format": FORMAT, "made_at": clock.now().isoformat(), "database": target.kind,
                "revision": tables.pop("__revision__", None), "tables": tables, "uploads": uploads, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return Made(folder, tables, uploads)


def _revision(connection) -> str | None:
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _backup_sqlite(target: Target, copy: Path) -> tuple[Path, dict]:
    if not target.sqlite_path.is_file():  # connecting would create an empty one
        raise BackupError(f"there is no database file {target.sqlite_path} to back up")
    source = sqlite3.connect(target.sqlite_path, timeout=30)
    try:
        destination = sqlite3.connect(copy)
        try:
            source.backup(destination)  # consistent: SQLite restarts a pass that a writer interrupted
        finally:
            destination.close()
    finally:
        source.close()
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as connection:  # counted in the copy itself: exactly what was saved
            tables = _counts(connection)
            tables["__revision__"] = _revision(connection)
    finally:
        engine.dispose()
    return copy, tables


def _backup_postgresql(target: Target, dump: Path) -> tuple[Path, dict]:
    """pg_dump in the snapshot of a transaction that counts the rows first: the counts are the dump's."""
    dbname, env = target.libpq()
    command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}",
               f"--dbname={dbname}"]
    if target.schema:
        command.append(f"--schema={target.schema}")
    engine = create_engine(target.url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection:
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            tables = _counts(connection)
            tables["__revision__"] = _revision(connection)
            _run(command + [f"--snapshot={snapshot}"], env)
            connection.rollback()
    finally:
        engine.dispose()
    return dump, tables


def _pack_uploads(upload_dir: Path, archive: Path) -> int:
    files = [p for p in sorted(upload_dir.rglob("*")) if p.is_file()] if upload_dir.is_dir() else []
    if files:
        with tarfile.open(archive, "w:gz") as tar:
            for path in files:
                tar.add(path, arcname=str(path.relative_to(upload_dir)))
    return len(files)


# --- restore -----------------------------------------------------------------------------------------------------

@dataclass
class Plan:
    folder: Path
    manifest: dict
    target: Target
    upload_dir: Path
    problems: list[str] = field(default_factory=list)  # what stops the restore (without --force)

    def lines(self) -> list[str]:
        manifest = self.manifest
        rows = sum(manifest["tables"].values())
        said = [f"Backup {self.folder.name}: made {manifest['made_at']}, {manifest['database']}, "
                f"migration {manifest['revision']}, {len(manifest['tables'])} tables, {rows} rows, "
                f"{manifest['uploads']} files on disk.",
                f"Will restore the database into {self.target.shown}"
                + (f" (schema {self.target.schema})" if self.target.schema else "") + "."]
        if manifest["uploads"]:
            said.append(f"Will restore {manifest['uploads']} files into {self.upload_dir}.")
        return said


def plan(folder: str | os.PathLike, target_url: str, upload_dir: str | os.PathLike) -> Plan:
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BackupError(f"{folder} is not a backup made by `flask backup`: {error}") from None
    target = Target(make_url(target_url))
    if manifest.get("database") != target.kind:
        raise BackupError(f"the backup is of a {manifest.get('database')} database; the target is {target.kind}")
    for name, digest in manifest["files"].items():
        if not (folder / name).exists() or _sha256(folder / name) != digest:
            raise BackupError(f"{name} in {folder} is missing or differs from the manifest: the backup is damaged")
    found = Plan(folder, manifest, target, Path(upload_dir))
    occupied = _tables_in(target)
    if occupied:
        found.problems.append(f"the target database holds {len(occupied)} tables already "
                              f"({', '.join(occupied[:5])}{', …' if len(occupied) > 5 else ''})")
    if manifest["uploads"] and found.upload_dir.is_dir() and any(found.upload_dir.iterdir()):
        found.problems.append(f"{found.upload_dir} is not empty (the backup's files would be written over it)")
    return found


def _tables_in(target: Target) -> list[str]:
    if target.kind == "sqlite":
        if not target.sqlite_path.exists() or target.sqlite_path.stat().st_size == 0:
            return []
    engine = create_engine(target.url)
    try:
        with engine.connect() as connection:
            if target.kind == "postgresql":
                schema = target.schema or "public"
                return connection.execute(text("SELECT table_name FROM information_schema.tables WHERE "
                                               "table_schema = :schema ORDER BY table_name"),
                                          {"schema": schema}).scalars().all()
            return sorted(inspect(connection).get_table_names())
    finally:
        engine.dispose()


@dataclass
class Restored:
    tables: dict[str, int]
    differences: list[str]


def restore(found: Plan, force: bool = False) -> Restored:
    if found.problems and not force:
        raise BackupError("Refusing to restore: " + "; ".join(found.problems) + ". Run it again with --force to "
                          "replace what is there.")
    if found.target.kind == "sqlite":
        _restore_sqlite(found)
    else:
        _restore_postgresql(found, clean=bool(found.problems))
    if found.manifest["uploads"]:
        found.upload_dir.mkdir(parents=True, exist_ok=True)
        with tarfile.open(found.folder / "uploads.tar.gz", "r:gz") as tar:
            tar.extractall(found.upload_dir, filter="data")  # no absolute paths, no .., no devices
    engine = create_engine(found.target.url)
    try:
        tables = table_counts(engine)
    finally:
        engine.dispose()
    expected = found.manifest["tables"]
    differences = [f"{name}: {tables.get(name)} rows, the backup had {count}"
                   for name, count in sorted(expected.items()) if tables.get(name) != count]
    differences += [f"{name}: not in the backup" for name in sorted(set(tables) - set(expected))]
    return Restored(tables, differences)


def _restore_sqlite(found: Plan) -> None:
    path = found.target.sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(found.folder / "database.sqlite")
    try:
        destination = sqlite3.connect(path, timeout=30)
        try:
            source.backup(destination)  # page by page under the target's lock: it replaces the whole database
        finally:
            destination.close()
    finally:
        source.close()


def _restore_postgresql(found: Plan, clean: bool) -> None:
    dbname, env = found.target.libpq()
    command = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
               f"--dbname={dbname}"]
    if clean:
        command += ["--clean", "--if-exists"]
    _run(command + [str(found.folder / "database.dump")], env)
