"""`flask --app wsgi check`: what is misconfigured, in words. Each check says what it found; any problem makes the
command exit 1.

secret (weak or the default), mail (unset or not answering), database (not answering, or not migrated to the
latest revision), fonts (the DejaVu files the PDFs name), Graphviz (`dot`, for the workflow diagrams), the upload
limit against the nginx site's client_max_body_size, and in production the site's https address (PUBLIC_BASE_URL,
and nginx's server_name for the same host) with the other start-up refusals of config.production_problems.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import smtplib
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_SITE = "/etc/nginx/sites-available/pumpurs-grants"
SIZE = re.compile(r"^\s*client_max_body_size\s+(\d+)([kKmMgG]?)\s*;", re.MULTILINE)
SERVER_NAME = re.compile(r"^\s*server_name\s+([^;]+);", re.MULTILINE)


@dataclass(frozen=True)
class Finding:
    area: str
    ok: bool
    text: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'PROBLEM':8} {self.area}: {self.text}"


def run(app: Flask) -> list[Finding]:
    checks = (secret, mail, database, fonts, graphviz, upload_limit, production_address)
    return [finding for check in checks for finding in check(app)]


def secret(app: Flask) -> list[Finding]:
    from config import secret_key_problem

    problem = secret_key_problem(app.config.get("SECRET_KEY"))
    if problem:
        return [Finding("secret", False, f"{problem}: anyone who knows it can sign a session cookie and log in as "
                                         "anyone. Set SECRET_KEY to python3 -c 'import secrets; "
                                         "print(secrets.token_hex(32))'.")]
    return [Finding("secret", True, "SECRET_KEY is long enough and not a known default.")]


def mail(app: Flask) -> list[Finding]:
    host, port = app.config.get("MAIL_SERVER") or "", int(app.config.get("MAIL_PORT") or 25)
    if not host:
        return [Finding("mail", False, "MAIL_SERVER is not set, so no e-mail leaves the system: messages stay in "
                                       "the recipients' in-app lists only.")]
    try:
        with smtplib.SMTP(host, port, timeout=5) as server:
            server.noop()
    except (OSError, smtplib.SMTPException) as error:
        return [Finding("mail", False, f"the mail server {host}:{port} does not answer ({_why(error)}): e-mails "
                                       "wait and are retried until it does.")]
    return [Finding("mail", True, f"the mail server {host}:{port} answers.")]


def database(app: Flask) -> list[Finding]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    from app.extensions import db

    shown = db.engine.url.render_as_string(hide_password=True)
    if db.engine.url.get_backend_name() == "sqlite" and not Path(db.engine.url.database or "").is_file():
        return [Finding("database", False, f"the database file {db.engine.url.database} does not exist: run "
                                           "flask --app wsgi db upgrade.")]  # connecting would create it empty
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its "Context impl …" lines say nothing here
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        return [Finding("database", False, f"the database {shown} does not answer ({_why(error)}).")]
    heads = set(ScriptDirectory(str(ROOT / "migrations")).get_heads())
    if current != heads:
        at = ", ".join(sorted(current)) or "no revision (an empty database)"
        return [Finding("database", False, f"the database {shown} is at {at}, not at the latest migration "
                                           f"{', '.join(sorted(heads))}: run flask --app wsgi db upgrade.")]
    return [Finding("database", True, f"the database {shown} answers and is migrated to {', '.join(heads)}.")]


def font_files() -> list[str]:
    """The font files the PDFs' @font-face rules name (templates/pdf/base.html), so this list never goes stale."""
    text = (ROOT / "templates" / "pdf" / "base.html").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"/([A-Za-z0-9_-]+\.ttf)", text)))


def fonts(app: Flask) -> list[Finding]:
    from app import documents

    folder = Path(documents.FONT_DIRS[0])
    missing = [name for name in font_files() if not (folder / name).is_file()]
    if missing:
        return [Finding("fonts", False, f"{', '.join(missing)} missing from {folder}: PDFs cannot be rendered with "
                                        "their Latvian letters. Install them: apt-get install fonts-dejavu-core.")]
    return [Finding("fonts", True, f"the DejaVu fonts the PDFs name are in {folder}.")]


def graphviz(app: Flask) -> list[Finding]:
    found = shutil.which("dot")
    if not found:
        return [Finding("graphviz", False, "Graphviz's dot is not on the PATH: the workflow diagrams cannot be "
                                           "drawn. Install it: apt-get install graphviz.")]
    return [Finding("graphviz", True, f"Graphviz's dot is {found}.")]


def nginx_site(app: Flask) -> Path:
    configured = app.config.get("NGINX_SITE") or os.environ.get("NGINX_SITE")
    if configured:
        return Path(configured)
    return Path(PRODUCTION_SITE) if _production(app) else ROOT / "deploy" / "nginx-site.conf"


def _bytes(number: str, unit: str) -> int:
    return int(number) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[unit.lower()]


def upload_limit(app: Flask) -> list[Finding]:
    limit = int(app.config.get("MAX_CONTENT_LENGTH") or 0)
    site = nginx_site(app)
    try:
        text = site.read_text(encoding="utf-8")
    except OSError:
        return [Finding("uploads", False, f"the nginx site {site} cannot be read, so the upload limit could not be "
                                          "compared with nginx's; set NGINX_SITE to its path.")]
    sizes = SIZE.findall(text)
    nginx = _bytes(*sizes[0]) if sizes else 1024 ** 2  # nginx's default is 1m
    said = f"nginx ({site}) takes bodies up to {_mib(nginx)}, the app up to {_mib(limit)}"
    if nginx < limit:
        return [Finding("uploads", False, f"{said}: files between the two are refused by nginx with its own page, "
                                          "not the app's message. Set client_max_body_size to the app's limit.")]
    if nginx > limit:
        return [Finding("uploads", True, f"{said}: the app refuses the larger ones with its own message.")]
    return [Finding("uploads", True, f"{said}.")]


def production_address(app: Flask) -> list[Finding]:
    if not _production(app):
        return []
    from config import production_problems

    findings = [Finding("production", False, problem) for problem in production_problems(app.config)
                if not problem.startswith("SECRET_KEY")]  # the secret has its own finding
    host = urlsplit(str(app.config.get("PUBLIC_BASE_URL") or "")).hostname or ""
    if host in ("localhost", "127.0.0.1", "::1") or host.endswith(".example.lv"):
        findings.append(Finding("production", False, f"PUBLIC_BASE_URL names {host!r}, not the site's public "
                                                     "name: links in e-mails and receipts would not open."))
    try:
        names = SERVER_NAME.findall(nginx_site(app).read_text(encoding="utf-8"))
    except OSError:
        names = None  # said by the upload check
    if names is not None and not any(host in name.split() for name in names):
        findings.append(Finding("production", False, f"the nginx site answers to {'; '.join(names) or 'no name'}, "
                                                     f"not to {host!r} of PUBLIC_BASE_URL."))
    return findings or [Finding("production", True, f"the site is https://{host}/ and nginx answers to it.")]


def _production(app: Flask) -> bool:
    return app.config.get("APP_ENV") == "production"


def _mib(size: int) -> str:
    return f"{size / 1024 ** 2:g} MiB"


def _why(error: Exception) -> str:
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "no answer in 5 s"
    original = getattr(error, "orig", None) or error
    return type(original).__name__
