"""Configuration classes; every setting can be overridden from the environment."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_SECRET = "dev-only-secret-change-me"
MIN_SECRET_BYTES = 32


def secret_key_problem(secret) -> str | None:
    """Why `secret` may not sign sessions in production (None when it may): missing, the default, or shorter than
    MIN_SECRET_BYTES bytes, each judged after stripping the whitespace a file or a shell line leaves around it."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    stripped = (secret or b"").strip()
    if stripped == DEFAULT_SECRET.encode():
        return "SECRET_KEY is the development default"
    if len(stripped) < MIN_SECRET_BYTES:
        return f"SECRET_KEY has {len(stripped)} bytes, fewer than {MIN_SECRET_BYTES}"
    if any(word in stripped.lower().decode("utf-8", "replace") for word in PLACEHOLDER_WORDS):
        return "SECRET_KEY is a placeholder from an example, not a secret"
    return None


# What the examples, tutorials and generated configuration files put where a secret goes: a secret that contains one
# of these was copied, not generated.
PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "change me", "replaceme", "replace-me", "replace_me",
                     "placeholder", "your-secret", "your_secret", "yoursecret", "dev-only", "insecure",
                     "not-a-secret", "notsecret", "secret-key-here", "secret_key_here", "xxxxxxxx")
HSTS_MAX_AGE = 2 * 365 * 24 * 3600  # two years, as the HSTS preload list asks


def production_problems(config) -> list[str]:
    """Why the production app may not start with `config` (a mapping), each reason one sentence; [] when it may."""
    problems = []
    if problem := secret_key_problem(config.get("SECRET_KEY")):
        problems.append(f"{problem}; set SECRET_KEY to at least {MIN_SECRET_BYTES} random bytes "
                        "(e.g. python -c 'import secrets; print(secrets.token_hex(32))').")
    if config.get("DEBUG"):
        problems.append("DEBUG is on, and its debugger would let any visitor run code on the server; "
                        "unset FLASK_DEBUG.")
    if config.get("TESTING"):
        problems.append("TESTING is on, which turns off checks meant for production; do not set it.")
    database = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    if database.startswith("sqlite") and not config.get("ALLOW_SQLITE_IN_PRODUCTION"):
        problems.append("DATABASE_URL names a SQLite database, which one server process at a time can write; "
                        "use PostgreSQL (postgresql+psycopg://…), or set ALLOW_SQLITE_IN_PRODUCTION=1 for a "
                        "single-process trial.")
    base = str(config.get("PUBLIC_BASE_URL") or "")
    if not base.startswith("https://") or len(base) <= len("https://"):
        problems.append(f"PUBLIC_BASE_URL is {base!r}, but the links in e-mails and receipts must be the site's "
                        "https:// address; set PUBLIC_BASE_URL=https://<the site's name>.")
    if config.get("PREFERRED_URL_SCHEME") != "https":
        problems.append("PREFERRED_URL_SCHEME is not https; leave it as the production configuration sets it.")
    if not config.get("HSTS_MAX_AGE"):
        problems.append("HSTS_MAX_AGE is not set, so browsers would not be told to use https only.")
    return problems


def _sqlite_default() -> str:
    return f"sqlite:///{BASE_DIR / 'instance' / 'grants.sqlite'}"


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET)
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", _sqlite_default())
    # a pooled connection is tested before each use, so after a database restart the next request reconnects
    # instead of failing on a dead connection (every configuration; app/__init__.py keeps it for SQLite)
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(BASE_DIR / "instance" / "uploads"))
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "pumpurs-grants@localhost")
    # where people report an accessibility barrier (the accessibility statement, /accessibility)
    ACCESSIBILITY_CONTACT_EMAIL = os.environ.get("ACCESSIBILITY_CONTACT_EMAIL", MAIL_SENDER)
    BABEL_DEFAULT_LOCALE = "lv"
    BABEL_DEFAULT_TIMEZONE = "Europe/Riga"
    LANGUAGES = ("lv", "en")
    BOOTSTRAP_SERVE_LOCAL = True
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    HSTS_MAX_AGE = 0  # seconds of Strict-Transport-Security; 0 sends no header (plain http in development)
    START_WORKER_THREAD = False
    WORKER_HEARTBEAT_MAX_AGE = int(os.environ.get("WORKER_HEARTBEAT_MAX_AGE", "120"))  # seconds, for /healthz
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # 360Giving grant ids are `<GRANT_ID_PREFIX>-<application number>` (app/services/exports.py); a publisher's
    # registered prefix starts with 360G-
    GRANT_ID_PREFIX = os.environ.get("GRANT_ID_PREFIX", "360G-pumpurs")


class DevelopmentConfig(Config):
    DEBUG = False
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    START_WORKER_THREAD = os.environ.get("START_WORKER_THREAD", "0") == "1"


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_ENABLED = False


class ProductionConfig(Config):
    """Checked when the app starts (config.production_problems): a weak secret, DEBUG, SQLite (unless allowed) or
    an address that is not https stop it with the reasons."""
    PREFERRED_URL_SCHEME = "https"
    HSTS_MAX_AGE = HSTS_MAX_AGE
    ALLOW_SQLITE_IN_PRODUCTION = os.environ.get("ALLOW_SQLITE_IN_PRODUCTION", "0") == "1"
    # reverse proxies in front of gunicorn whose X-Forwarded-For/Proto/Host are trusted (deploy/: one nginx)
    PROXIES_IN_FRONT = int(os.environ.get("PROXIES_IN_FRONT", "1"))


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
