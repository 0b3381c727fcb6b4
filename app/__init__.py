"""create_app(): configuration, extensions, blueprints, CLI, error pages."""
from __future__ import annotations

import logging
import os
import secrets

from flask import Flask, g, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user

from app.extensions import babel, csrf, db, login_manager, migrate

log = logging.getLogger("app")


def create_app(config_name: str | None = None, **overrides) -> Flask:
    from config import CONFIGS, DEFAULT_SECRET

    config_name = config_name or os.environ.get("APP_ENV", "development")
    app = Flask(__name__, template_folder="../templates", instance_relative_config=False)
    app.config.from_object(CONFIGS[config_name])
    app.config.update(overrides)
    if config_name == "production" and app.config["SECRET_KEY"] == DEFAULT_SECRET:
        raise RuntimeError("Refusing to start in production with the default SECRET_KEY; set SECRET_KEY.")
    os.makedirs(app.config["UPLOAD_DIR"], exist_ok=True)

    _init_database(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: "Europe/Riga")

    from flask_bootstrap import Bootstrap5

    Bootstrap5(app)
    _register_template_helpers(app)
    _register_blueprints(app)
    _register_errors(app)
    _register_security_headers(app)

    from app import cli

    cli.register(app)
    if app.config.get("START_WORKER_THREAD"):
        from app.worker import start_thread

        start_thread(app)
    return app


def _select_locale() -> str:
    chosen = session.get("lang") if request else None
    if chosen in ("lv", "en"):
        return chosen
    if current_user and current_user.is_authenticated:
        return current_user.language
    return "lv"


def _init_database(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    db.init_app(app)
    if uri.startswith("sqlite"):
        from sqlalchemy import event

        with app.app_context():
            engine = db.engine

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_connection, _record):
                dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

            @event.listens_for(engine, "begin")
            def _sqlite_begin(connection):
                # A write transaction takes the write lock at its start, so two writers never deadlock on upgrade.
                reading = request and request.method in ("GET", "HEAD") if _in_request() else False
                connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def _in_request() -> bool:
    from flask import has_request_context

    return has_request_context()


def _register_template_helpers(app: Flask) -> None:
    from app import formatting
    from app.services.workflow import engine

    def lang() -> str:
        return str(get_locale() or "lv")

    from fractions import Fraction

    app.jinja_env.filters["fraction"] = lambda text: Fraction(text) if text else None
    app.jinja_env.globals.update(
        lang=lang,
        money=lambda cents: formatting.money(cents, lang()),
        day=lambda value: formatting.day(value, lang()),
        moment=lambda value: formatting.moment(value, lang()),
        deadline=lambda value: formatting.deadline(value, lang()),
        points=lambda value: formatting.points(value, lang()),
        state_label=lambda workflow, state: engine().workflow(workflow).label(state, lang()),
        trigger_label=lambda workflow, trigger: engine().workflow(workflow).trigger_label(trigger, lang()),
    )


def _register_blueprints(app: Flask) -> None:
    from app.views import admin, applicant, auth, evaluator, public

    for module in (public, auth, applicant, evaluator, admin):
        app.register_blueprint(module.bp)


def _register_errors(app: Flask) -> None:
    from app.errors import NotAllowed, NotFound, Refused
    from workflows.engine import NotAvailable

    @app.errorhandler(400)  # a form no page of ours sends (or an expired CSRF token): say so in the user's language
    def bad_request(_error):
        return render_template("errors/400.html"), 400

    @app.errorhandler(NotFound)
    @app.errorhandler(404)
    def not_found(_error):
        return render_template("errors/404.html"), 404

    @app.errorhandler(NotAllowed)
    @app.errorhandler(403)
    def forbidden(_error):
        return render_template("errors/403.html"), 403

    @app.errorhandler(NotAvailable)
    @app.errorhandler(Refused)
    def conflict(error):
        from app.services.workflow import refused_message

        db.session.rollback()
        return render_template("errors/409.html", message=refused_message(error)), 409

    @app.errorhandler(413)
    def too_large(_error):
        return render_template("errors/413.html"), 413

    @app.errorhandler(500)
    def server_error(error):
        reference = getattr(g, "error_reference", None) or secrets.token_hex(4)
        log.error("unexpected error, reference %s: %r", reference, getattr(error, "original_exception", error))
        db.session.rollback()
        return render_template("errors/500.html", reference=reference), 500

    @app.teardown_request
    def _rollback_unfinished(_exc):
        if db.session.is_active:
            db.session.rollback()


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response
