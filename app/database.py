"""The database connection's settings, and how a transaction says that it will write.

SQLite has one write lock for everybody. A transaction begun with a plain (deferred) BEGIN that later writes must
upgrade its read to a write, and SQLite cannot wait for that: it answers "database is locked" at once whenever
another connection wrote since the read began (busy_timeout does not help). So every transaction that may write
begins IMMEDIATE and waits its turn for the lock at the start. Only GET and HEAD requests begin deferred, because a
GET never writes; the few reads that must store something (a document rendered at its first download) say so with
`writing()`.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, has_request_context, request
from sqlalchemy import event

_writing: ContextVar[bool] = ContextVar("writing", default=False)


@contextmanager
def writing():
    """Transactions begun inside this block begin IMMEDIATE, even in a GET request."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def begins_deferred() -> bool:
    """A transaction begun now only reads: a GET or HEAD request outside `writing()`."""
    return (has_request_context() and request.method in ("GET", "HEAD")) and not _writing.get()


def configure_sqlite(app: Flask, engine) -> None:
    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # SQLite's lower() and LIKE fold ASCII letters only; the admin's list searches Latvian text with this one
        # (app/services/applications_list.py)
        dbapi_connection.create_function("lv_lower", 1, lambda value: value.lower() if isinstance(value, str)
                                         else value, deterministic=True)

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection):
        connection.exec_driver_sql("BEGIN" if begins_deferred() else "BEGIN IMMEDIATE")
