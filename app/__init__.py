"""create_app(): configuration, extensions, blueprints, CLI, error pages."""
from __future__ import annotations

import logging
import os
import secrets

from flask import Flask, g, render_template, request, session
from flask_login import current_user

from app.extensions import babel, csrf, db, login_manager, migrate

log = logging.getLogger("app")


def create_app(config_name: str | None = None, **overrides) -> Flask:
    from config import CONFIGS, production_problems

    config_name = config_name or os.environ.get("APP_ENV", "development")
    app = Flask(__name__, template_folder="../templates", instance_relative_config=False)
    app.config.from_object(CONFIGS[config_name])
    app.config.update(overrides)
    app.config.setdefault("APP_ENV", config_name)  # `flask check` asks which configuration it runs under
    if config_name == "production" and (problems := production_problems(app.config)):
        raise RuntimeError("Refusing to start in production: " + " ".join(problems))
    os.makedirs(app.config["UPLOAD_DIR"], exist_ok=True)
    if config_name == "production" and app.config.get("PROXIES_IN_FRONT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        # nginx in front (deploy/nginx-site.conf): the client's address, scheme and host are the ones nginx saw;
        # exactly PROXIES_IN_FRONT hops are trusted, so a client's own X-Forwarded-For changes nothing
        hops = int(app.config["PROXIES_IN_FRONT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    from app import logging_setup

    logging_setup.init_app(app)  # first of the request hooks: every later line and error page has the request id

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
    from app import routing

    routing.register(app)  # before the blueprints: ids within the database's range, no NUL, only forms posted
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
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                                                   "connect_args": {"timeout": 30, "check_same_thread": False}}
    db.init_app(app)
    if uri.startswith("sqlite"):
        from app.database import configure_sqlite

        with app.app_context():
            configure_sqlite(app, db.engine)


def _register_template_helpers(app: Flask) -> None:
    from app import formatting, municipalities
    from app.formatting import current_lang as lang
    from app.services import attachments, grants, questions, reporting
    from app.models.questions import KIND_LABELS, STEP_LABELS
    from app.services.workflow import engine

    from fractions import Fraction

    app.jinja_env.filters["fraction"] = lambda text: Fraction(text) if text else None
    app.jinja_env.globals.update(
        lang=lang,
        municipality_choices=municipalities.choices,
        municipality=lambda key: municipalities.name(key, lang()),
        money=lambda cents: formatting.money(cents, lang()),
        day=lambda value: formatting.day(value, lang()),
        moment=lambda value: formatting.moment(value, lang()),
        deadline=lambda value: formatting.deadline(value, lang()),
        until_day=lambda value: formatting.until_day(value, lang()),
        duration=lambda delta: formatting.duration(delta, lang()),
        points=lambda value: formatting.points(value, lang()),
        report_overdue=lambda report: reporting.is_overdue(report),  # the one rule (app/services/reporting.py)
        state_label=lambda workflow, state: engine().workflow(workflow).label(state, lang()),
        trigger_label=lambda workflow, trigger: engine().workflow(workflow).trigger_label(trigger, lang()),
        question_answers=lambda application: questions.shown(application, lang()),  # the call's own, answered
        application_files=lambda application: attachments.shown(application, lang()),  # with download links
        tranche_when=lambda item: grants.tranche_when(item, lang()),  # a tranche's date or event, in words
        question_kind_labels=KIND_LABELS, question_step_labels=STEP_LABELS,  # lazy: in the page's language
    )


def _register_blueprints(app: Flask) -> None:
    from app.views import account, admin, applicant, auth, evaluator, health, public, two_factor

    for module in (public, auth, two_factor, applicant, account, evaluator, admin, health):
        app.register_blueprint(module.bp)


def _register_errors(app: Flask) -> None:
    from app.errors import UserError
    from workflows.engine import NotAvailable

    @app.errorhandler(400)  # a form no page of ours sends (or an expired CSRF token): say so in the user's language
    def bad_request(_error):
        return render_template("errors/400.html"), 400

    @app.errorhandler(404)
    def not_found(_error):
        return render_template("errors/404.html"), 404

    @app.errorhandler(403)
    def forbidden(_error):
        return render_template("errors/403.html"), 403

    @app.errorhandler(UserError)
    @app.errorhandler(NotAvailable)  # the engine's own, should one escape without passing through `fire`
    def user_error(error):
        """An error carrying a user's message that no view turned into a flash: undo the attempt, answer with its
        status (NotPossible and NotAvailable: 409), and show the message where the page has room for one."""
        from app.services.workflow import refused_message

        db.session.rollback()
        status = getattr(error, "status", 409)
        if status == 404:
            return not_found(error)
        if status == 403:
            return forbidden(error)
        return render_template("errors/409.html", message=refused_message(error)), status

    @app.errorhandler(413)
    def too_large(_error):
        return render_template("errors/413.html"), 413

    from sqlalchemy.exc import DBAPIError

    from app.errors import database_unavailable

    app.register_error_handler(DBAPIError, database_unavailable)  # 503 when the database is out of reach

    @app.errorhandler(500)
    def server_error(error):
        # the request's id (app/logging_setup.py): in the X-Request-ID header and in every log line of the request
        reference = getattr(g, "error_reference", None) or getattr(g, "request_id", None) or secrets.token_hex(4)
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
        if app.config.get("HSTS_MAX_AGE"):  # production: browsers come back over https only
            response.headers.setdefault("Strict-Transport-Security", f"max-age={int(app.config['HSTS_MAX_AGE'])}")
        return response
