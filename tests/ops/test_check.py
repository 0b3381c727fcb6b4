"""`flask --app wsgi check`: each misconfiguration is named in words and makes it exit 1; a good configuration
exits 0 with "all is well"."""
from __future__ import annotations

import secrets
import socket

import pytest
from sqlalchemy import create_engine, text

from app import create_app, documents

GOOD_SECRET = secrets.token_hex(32)


@pytest.fixture
def well_configured(app, smtp_server):
    """The test app as it should be: a real secret, a mail server that answers, migrated, fonts, dot, the
    deploy/ nginx site with the app's upload limit."""
    app.config.update(SECRET_KEY=GOOD_SECRET)
    return app


def check(app) -> tuple[int, list[str]]:
    result = app.test_cli_runner().invoke(args=["check"])
    return result.exit_code, result.output.splitlines()


def problems(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("PROBLEM")]


def test_all_is_well(well_configured):
    code, lines = check(well_configured)
    assert problems(lines) == [] and lines[-1] == "all is well" and code == 0, lines
    assert [line.split(":")[0].split()[-1] for line in lines[:-1]] == [
        "secret", "mail", "database", "fonts", "graphviz", "uploads"]


@pytest.mark.parametrize("secret, said", [
    ("dev-only-secret-change-me", "SECRET_KEY is the development default"),
    ("short-secret", "SECRET_KEY has 12 bytes, fewer than 32"),
])
def test_a_weak_or_default_secret(well_configured, secret, said):
    well_configured.config.update(SECRET_KEY=secret)
    code, lines = check(well_configured)
    assert code == 1
    assert problems(lines) == [f"PROBLEM  secret: {said}: anyone who knows it can sign a session cookie and log in "
                               "as anyone. Set SECRET_KEY to python3 -c 'import secrets; "
                               "print(secrets.token_hex(32))'."]


def test_mail_unset(well_configured):
    well_configured.config.update(MAIL_SERVER="")
    code, lines = check(well_configured)
    assert code == 1 and problems(lines) == [
        "PROBLEM  mail: MAIL_SERVER is not set, so no e-mail leaves the system: messages stay in the recipients' "
        "in-app lists only."]


def test_mail_server_unreachable(well_configured):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    well_configured.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    code, lines = check(well_configured)
    assert code == 1 and problems(lines) == [
        f"PROBLEM  mail: the mail server 127.0.0.1:{port} does not answer (ConnectionRefusedError): e-mails wait "
        "and are retried until it does."]


def test_database_unreachable(tmp_path):
    own = create_app("testing", SECRET_KEY=GOOD_SECRET, UPLOAD_DIR=str(tmp_path / "u"),
                     SQLALCHEMY_DATABASE_URI="postgresql+psycopg://grants:pw@127.0.0.1:1/grants")
    code, lines = check(own)
    assert code == 1
    assert "PROBLEM  database: the database postgresql+psycopg://grants:***@127.0.0.1:1/grants does not answer " \
           "(OperationalError)." in lines


def test_database_missing_or_not_migrated(tmp_path):
    path = tmp_path / "old.sqlite"
    own = create_app("testing", SECRET_KEY=GOOD_SECRET, UPLOAD_DIR=str(tmp_path / "u"),
                     SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    code, lines = check(own)
    assert code == 1 and f"PROBLEM  database: the database file {path} does not exist: run flask --app wsgi db " \
                         "upgrade." in lines
    assert not path.exists()  # the check did not create it
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:  # a database left at the first migration
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('a5e1c0de0001')"))
    engine.dispose()
    code, lines = check(own)
    assert code == 1
    said = [line for line in lines if line.startswith("PROBLEM  database")]
    assert len(said) == 1 and "is at a5e1c0de0001, not at the latest migration a6e1c0de00" in said[0]
    assert said[0].endswith(": run flask --app wsgi db upgrade.")


def test_fonts_missing(well_configured, tmp_path, monkeypatch):
    (tmp_path / "DejaVuSans.ttf").write_bytes(b"only this one")
    monkeypatch.setattr(documents, "FONT_DIRS", (tmp_path,))
    code, lines = check(well_configured)
    assert code == 1 and problems(lines) == [
        f"PROBLEM  fonts: DejaVuSans-Bold.ttf, DejaVuSans-Oblique.ttf, DejaVuSansMono.ttf missing from {tmp_path}: "
        "PDFs cannot be rendered with their Latvian letters. Install them: apt-get install fonts-dejavu-core."]


def test_graphviz_missing(well_configured, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, lines = check(well_configured)
    assert code == 1 and problems(lines) == [
        "PROBLEM  graphviz: Graphviz's dot is not on the PATH: the workflow diagrams cannot be drawn. Install it: "
        "apt-get install graphviz."]


def test_nginx_takes_less_than_the_app(well_configured, tmp_path):
    site = tmp_path / "site.conf"
    site.write_text("server {\n    client_max_body_size 2m;\n}\n")
    well_configured.config.update(NGINX_SITE=str(site))
    code, lines = check(well_configured)
    assert code == 1 and problems(lines) == [
        f"PROBLEM  uploads: nginx ({site}) takes bodies up to 2 MiB, the app up to 10 MiB: files between the two "
        "are refused by nginx with its own page, not the app's message. Set client_max_body_size to the app's "
        "limit."]
    site.write_text("server {\n    listen 80;\n}\n")  # no client_max_body_size: nginx's default, 1 MiB
    assert "takes bodies up to 1 MiB" in problems(check(well_configured)[1])[0]
    site.unlink()
    code, lines = check(well_configured)
    assert code == 1 and problems(lines) == [
        f"PROBLEM  uploads: the nginx site {site} cannot be read, so the upload limit could not be compared with "
        "nginx's; set NGINX_SITE to its path."]


def test_production_needs_its_https_name_in_the_base_url_and_in_nginx(well_configured, tmp_path):
    site = tmp_path / "site.conf"
    site.write_text("server {\n    server_name grants.jelgava.lv;\n    client_max_body_size 10m;\n}\n")
    well_configured.config.update(APP_ENV="production", NGINX_SITE=str(site), PREFERRED_URL_SCHEME="https",
                                  HSTS_MAX_AGE=63072000, PUBLIC_BASE_URL="https://grants.jelgava.lv",
                                  TESTING=False, ALLOW_SQLITE_IN_PRODUCTION=True)
    code, lines = check(well_configured)
    assert code == 0, lines
    assert "ok       production: the site is https://grants.jelgava.lv/ and nginx answers to it." in lines
    well_configured.config.update(PUBLIC_BASE_URL="http://grants.ogre.lv")
    code, lines = check(well_configured)
    found = problems(lines)
    assert code == 1 and len(found) == 2
    assert found[0].startswith("PROBLEM  production: PUBLIC_BASE_URL is 'http://grants.ogre.lv', but the links")
    assert found[1] == ("PROBLEM  production: the nginx site answers to grants.jelgava.lv, not to 'grants.ogre.lv' "
                        "of PUBLIC_BASE_URL.")
    well_configured.config.update(PUBLIC_BASE_URL="https://grants.example.lv")  # env.example's, copied as it is
    assert "PROBLEM  production: PUBLIC_BASE_URL names 'grants.example.lv', not the site's public name: links in " \
           "e-mails and receipts would not open." in check(well_configured)[1]
