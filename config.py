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
    return None


def _sqlite_default() -> str:
    return f"sqlite:///{BASE_DIR / 'instance' / 'grants.sqlite'}"


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET)
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", _sqlite_default())
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(BASE_DIR / "instance" / "uploads"))
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "pumpurs-grants@localhost")
    BABEL_DEFAULT_LOCALE = "lv"
    BABEL_DEFAULT_TIMEZONE = "Europe/Riga"
    LANGUAGES = ("lv", "en")
    BOOTSTRAP_SERVE_LOCAL = True
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    START_WORKER_THREAD = False
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
    pass


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
