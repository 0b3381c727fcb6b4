"""One log format for every line: JSON, one object a line, and a request id for every request.

Each request gets an id: the X-Request-ID that nginx sends (deploy/nginx-site.conf passes its $request_id) when it
is a sane token, else a new one. It is in every line logged during the request, in the X-Request-ID response header
and, on an unexpected error, on the 500 page as the reference the user quotes (app/__init__.py). After each request
one access line says who asked what and how it went: the client's address (the real one behind nginx, through
ProxyFix), method, path, status, duration and the user's id. Gunicorn's own lines use the same formatter
(deploy/gunicorn.conf.py), so one parser reads the whole log.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, request

access_log = logging.getLogger("app.access")
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id", "remote_addr")


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """time (UTC, ISO 8601), level, logger, message; the request's id, method, path and user when logged inside
    a request; the fields an access line carries; the traceback, when there is one, as `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            line.update(request_id=g.get("request_id"), method=request.method, path=request.path,
                        user_id=_user_id())
        for name in FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def _user_id() -> int | None:
    """The logged-in user's id if the request loaded the user already (Flask-Login keeps it in g): a log line
    never queries the database, which may be the very thing that is down."""
    from sqlalchemy import inspect

    user = g.get("_login_user")
    if user is None or type(user).__name__ == "AnonymousUserMixin":
        return None
    identity = inspect(user).identity  # the key the session holds: no load, even after a commit expired the row
    return identity[0] if identity else None


def configure(stream=None) -> logging.Handler:
    """Send every logger's lines to `stream` (stderr) as JSON lines, replacing a handler this module put there
    before (create_app may run more than once in a process); none is added when the root logger has a JSON
    handler already (gunicorn, configured by deploy/gunicorn.conf.py)."""
    root = logging.getLogger()
    for handler in root.handlers[:]:
        if getattr(handler, "_pumpurs_json", False):
            root.removeHandler(handler)
        elif isinstance(handler.formatter, JsonFormatter):  # gunicorn's logconfig_dict put one there already
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._pumpurs_json = True
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def init_app(app: Flask) -> None:
    if app.config.get("LOG_JSON", not app.testing):
        configure()

    @app.before_request
    def _start():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        if g.get("request_id"):
            response.headers["X-Request-ID"] = g.request_id
            started = g.get("request_started")
            duration = round((time.perf_counter() - started) * 1000, 1) if started else None
            access_log.info("%s %s %s", request.method, request.path, response.status_code,
                            extra={"status": response.status_code, "duration_ms": duration,
                                   "remote_addr": request.remote_addr})
        return response
