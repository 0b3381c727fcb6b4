"""The benchmark database: PostgreSQL (BENCH_DATABASE_URL, default the local grants_bench database) in a fresh schema
migrated by the real Alembic migration, or a SQLite file when PostgreSQL cannot be reached; and fast bulk seeding.

Seeding never fires the workflow for the 10,000 background applications: organisations, members, applications
and their audit events are bulk-inserted as the workflow would have left them (status 'submitted', submitted_at
and a gapless number together, as the check constraints demand; the call's counter at the last number; each
application's `create` and `submit` events hash-chained, so `audit verify` still passes). The call itself and its
admin are made by the tests' builders, through real fires.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import create_engine, insert, text, update
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://grants:grants@127.0.0.1:5432/grants_bench"
SCHEMA = "bench"
_next_registration: int | None = None  # from 1,000,000: the builders' own numbers are small, no collision


@contextmanager
def _quiet_logging():
    """Alembic's env.py reconfigures logging; put it back."""
    manager = logging.Logger.manager
    disabled = {n: lg.disabled for n, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
        for name, logger in manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.disabled = disabled.get(name, False)
        root.handlers[:] = handlers
        root.setLevel(level)


def _ensure_database(url: str) -> None:
    """Connect; if the database is missing, create it (the grants role may create databases)."""
    engine = create_engine(url)
    try:
        with engine.connect():
            return
    except Exception as error:  # noqa: BLE001
        if "does not exist" not in str(error):
            raise
    finally:
        engine.dispose()
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    finally:
        admin.dispose()


def fingerprint(*parts: str) -> str:
    """What a kept benchmark schema was built from: the migrations, this seeding code, and `parts` (the sizes)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted((root / "migrations" / "versions").glob("*.py")) + [Path(__file__).resolve()]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for part in parts:
        digest.update(part.encode())
    return digest.hexdigest()[:16]


def marker(url: str) -> dict:
    """The kept schema's marker ({} when there is none): what it was seeded from and the ids the bench needs."""
    if not url.startswith("postgresql"):
        return {}
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if connection.exec_driver_sql("SELECT to_regclass('bench_marker')").scalar() is None:
                return {}
            return {k: v for k, v in connection.exec_driver_sql("SELECT key, value FROM bench_marker")}
    finally:
        engine.dispose()


def set_marker(url: str, values: dict) -> None:
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS bench_marker (key text PRIMARY KEY, value text)")
        for key, value in values.items():
            connection.execute(text("INSERT INTO bench_marker VALUES (:k, :v) ON CONFLICT (key) DO UPDATE "
                                    "SET value = excluded.value"), {"k": key, "v": str(value)})
    engine.dispose()


def database(schema: str = SCHEMA, keep: str | None = None) -> tuple[str, str, str]:
    """(url of the schema, backend name, note). PostgreSQL if reachable, else a SQLite file. The schema is dropped
    and made afresh, unless `keep` is given and the schema's marker says it was seeded from that fingerprint
    (seeding 100,000 applications takes minutes; the benchmarks that write add rows of their own each run)."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if url.startswith("postgresql"):
        try:
            _ensure_database(url)
            fresh = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
            fresh = fresh.render_as_string(hide_password=False)
            if keep is not None and marker(fresh).get("fingerprint") == keep:
                return fresh, "postgresql", ""
            engine = create_engine(url, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            engine.dispose()
            return fresh, "postgresql", ""
        except Exception as error:  # noqa: BLE001
            note = f"PostgreSQL unreachable ({type(error).__name__}: {str(error).splitlines()[0][:120]}); "
    else:
        note = ""
    folder = tempfile.mkdtemp(prefix="pumpurs-bench-")
    return (f"sqlite:///{folder}/bench.sqlite", "sqlite",
            note + "measured on SQLite, NOT on PostgreSQL as DESIGN 6.3 asks")


def build_app(url: str, upload_dir: str):
    """The app in the testing configuration (CSRF off for the in-process client), migrated to head."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=upload_dir, MAIL_SERVER="")
    with app.app_context(), _quiet_logging():
        upgrade()
        db.session.remove()
    return app


def _event_rows(entity_id: int, events: list[tuple[str, str | None, str, int, object, dict]]):
    """Hash-chained audit rows for one application: (trigger, from, to, actor, time, data)."""
    from app.services.audit import canonical_json, event_hash

    rows, previous = [], ""
    for trigger, source, dest, actor, moment, data in events:
        row = {"entity_type": "application", "entity_id": entity_id, "trigger": trigger, "from_state": source,
               "to_state": dest, "actor_id": actor, "occurred_at": moment, "note": "", "data": canonical_json(data),
               "caused_by_id": None, "prev_hash": previous}
        row["hash"] = previous = event_hash(SimpleNamespace(**row))
        rows.append(row)
    return rows


def reserve_ids(table, count: int) -> list[int]:
    """`count` fresh primary keys for `table`, so that bulk inserts need no RETURNING (PostgreSQL: from the
    table's own sequence; SQLite: after the largest id, the bench being the only writer)."""
    from app.extensions import db

    if db.session.get_bind().dialect.name == "postgresql":
        return list(db.session.scalars(text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                                            "FROM generate_series(1, :n)"), {"n": count}))
    start = db.session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table.name}")) + 1
    return list(range(start, start + count))


def bulk_insert(table, rows: list[dict]) -> None:
    """Insert `rows` into `table` in the session's transaction: PostgreSQL's COPY (ten times an INSERT's speed for
    the 100,000-row call), else one executemany INSERT."""
    from app.extensions import db

    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        db.session.execute(insert(table), rows)
        return
    import json

    columns = list(rows[0])
    defaults = {}  # what an INSERT would have filled in from the model's Python-side defaults
    for column in table.columns:
        if column.name not in columns and column.default is not None and not column.default.is_sequence:
            arg = column.default.arg
            defaults[column.name] = arg(None) if column.default.is_callable else arg
    if defaults:
        rows = [{**row, **defaults} for row in rows]
        columns += list(defaults)
    json_columns = {c.name for c in table.columns if c.type.__class__.__name__ in ("JSON", "JSONB")}
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f'COPY {table.name} ({", ".join(columns)}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c], ensure_ascii=False) if c in json_columns else row[c]
                            for c in columns])


_WEIGHTS = (9, 1, 4, 8, 3, 10, 2, 5, 7, 6)


def _registration_numbers(count: int) -> list[str]:
    """Valid, distinct Latvian legal-entity numbers (weighted sum mod 11 == 3, the last weight 1), far from the
    builders' own."""
    global _next_registration
    if _next_registration is None:  # after the largest one a kept schema holds already
        from app.extensions import db

        largest = db.session.scalar(text("SELECT max(substr(registration_number, 2, 9)) FROM organisations "
                                         "WHERE registration_number LIKE '4%' AND length(registration_number) = 11 "
                                         "AND substr(registration_number, 2, 9) BETWEEN '001000000' AND '008999999'"))
        _next_registration = max(1_000_000, int(largest) + 1 if largest else 0)
    numbers = []
    while len(numbers) < count:
        head = f"4{_next_registration:09d}"
        _next_registration += 1
        digit = (3 - sum(int(c) * w for c, w in zip(head, _WEIGHTS))) % 11
        if digit < 10:
            numbers.append(f"{head}{digit}")
    return numbers


def organisations_with_members(count: int, tag: str) -> list[tuple[int, int]]:
    """`count` NGOs with one applicant each, bulk-inserted; returns [(organisation id, user id)]."""
    from app.models import Organisation, User
    from tests.factories import _FAST_HASH, IBAN

    numbers = _registration_numbers(count)
    organisations, users = Organisation.__table__, User.__table__
    org_ids, user_ids = reserve_ids(organisations, count), reserve_ids(users, count)
    bulk_insert(organisations, [
        {"id": org_id, "name": f"Biedrība „Jaunieši {tag}-{i}”", "registration_number": number,
         "legal_form": "biedriba", "iban": IBAN, "email": f"info@{tag}-{i}.example.lv", "address": f"Rīgas iela {i}"}
        for i, (org_id, number) in enumerate(zip(org_ids, numbers))])
    bulk_insert(users, [
        {"id": user_id, "email": f"biedrs@{tag}-{i}.example.lv", "name": f"Biedrs {i}", "password_hash": _FAST_HASH,
         "role": "applicant", "language": "lv", "organisation_id": org_id, "programme_level": False, "active": True}
        for i, (org_id, user_id) in enumerate(zip(org_ids, user_ids))])
    return list(zip(org_ids, user_ids))


def _content(call) -> dict:
    return {"summary": "Radošās darbnīcas jauniešiem ar mācību grūtībām.", "objectives": "Mazināt kavējumus.",
            "activities": "Darbnīcas, mentorings, izbraukumi.", "target_group": "13–18 gadus veci jaunieši.",
            "participants": 16, "participants_at_risk": 9, "start_on": call.implementation_start.isoformat(),
            "end_on": call.implementation_end.isoformat(), "declared_conflicts": ""}


def applications(call, count: int, *, submitted: bool, tag: str, start: int = 0) -> list[tuple[int, int]]:
    """`count` applications to `call`, each of a new NGO: submitted (numbered start+1..start+count after the
    counter, which is moved on) or complete drafts ready to submit. `start`: where this batch's titles and numbers
    begin (a call seeded in batches). Returns [(application id, member user id)]."""
    from app.extensions import db
    from app.models import Application, AuditEvent, NumberCounter

    members = organisations_with_members(count, f"{tag}-{start}" if start else tag)
    content = _content(call)
    base = call.opens_at + timedelta(hours=1)
    rows = []
    for i, (org_id, user_id) in enumerate(members, start=start):
        row = {"call_id": call.id, "organisation_id": org_id, "created_by": user_id,
               "title": f"Projekts {tag} {i}", "content": content, "amount_cents": call.amount_cents or 0,
               "declarations_accepted": True, "version": 1, "created_at": base, "updated_at": base}
        if submitted:
            at = base + timedelta(seconds=i)
            row.update(status="submitted", submitted_at=at, number=f"{call.number_prefix}-{i + 1:03d}",
                       content_sha256=hashlib.sha256(f"{tag}-{i}".encode()).hexdigest(), version=2, updated_at=at)
        else:
            row.update(status="draft", submitted_at=None, number=None)
        rows.append(row)
    table = Application.__table__
    ids = reserve_ids(table, count)
    for application_id, row in zip(ids, rows):
        row["id"] = application_id
    bulk_insert(table, rows)
    events = []
    for application_id, row in zip(ids, rows):
        chain = [("create", None, "draft", row["created_by"], base, {"call": call.code})]
        if submitted:
            chain.append(("submit", "draft", "submitted", row["created_by"], row["submitted_at"], {}))
        events.extend(_event_rows(application_id, chain))
    bulk_insert(AuditEvent.__table__, events)
    if submitted:
        db.session.execute(update(NumberCounter).where(NumberCounter.call_id == call.id)
                           .values(last_number=NumberCounter.last_number + count))
    db.session.commit()
    return [(application_id, user_id) for application_id, (_org, user_id) in zip(ids, members)]


def analyse(url: str) -> None:
    """Fresh planner statistics after bulk loading, as autovacuum would soon give a real database."""
    if url.startswith("postgresql"):
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
        engine.dispose()


def unique_tag() -> str:
    return uuid.uuid4().hex[:6]
