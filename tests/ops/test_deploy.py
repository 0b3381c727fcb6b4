"""deploy/ for real: Debian's nginx, started with a configuration rendered from deploy/nginx-site.conf, in front of
gunicorn started with deploy/gunicorn.conf.py, both on loopback; and the systemd units through
`systemd-analyze verify`.

The nginx here is a process of this test (its own pid, logs and temp folders in a tmp folder, a free port), never
the system's nginx service. The client connects from 127.0.0.2 (any 127/8 address is this machine), so the address
the app logs can only be right if nginx passed it through and the app trusted exactly one proxy: gunicorn itself
sees 127.0.0.1, and a client's own X-Forwarded-For must not win."""
from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CLIENT_ADDRESS = "127.0.0.2"
MiB = 1024 * 1024


def _tool(name: str) -> str:
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)),
                                       None)
    assert found, f"{name} is not installed: apt-get install -y {'systemd' if 'systemd' in name else name} " \
                  "(.ci/run and scripts/system-packages.sh test install it as root)"
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{what} exited: {log.read_text(errors='replace')[-3000:]}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{what} did not listen on {port} in {seconds} s: {log.read_text(errors='replace')[-3000:]}")


def _wait_for_workers(port: int, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    """The master listens before its workers have loaded the app: wait until one answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"gunicorn exited: {log.read_text(errors='replace')[-3000:]}"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=seconds)
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
        finally:
            connection.close()
    raise AssertionError(f"no gunicorn worker answered in {seconds} s: {log.read_text(errors='replace')[-3000:]}")


def render_site(site: str, *, listen_port: int, upstream_port: int, logs: Path) -> str:
    """deploy/nginx-site.conf with the test's paths: the checkout instead of /srv/pumpurs-grants, loopback ports."""
    rendered = site.replace("/srv/pumpurs-grants", str(ROOT))
    rendered = rendered.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};")
    rendered = rendered.replace("listen [::]:80;", "")
    rendered = rendered.replace("listen 80;", f"listen 127.0.0.1:{listen_port};")
    rendered = rendered.replace("/var/log/nginx/pumpurs-grants.", f"{logs}/site.")
    for expected in (f"127.0.0.1:{listen_port}", f"127.0.0.1:{upstream_port}", f"{ROOT}/app/static/"):
        assert expected in rendered, f"deploy/nginx-site.conf no longer has the lines this test renders: {expected}"
    return rendered


def nginx_conf(site: str, folder: Path) -> str:
    temp = "\n".join(f"    {kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                          "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # as root, workers would else be nobody (no tmp access)
    return f"""{user}worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
{temp}
{site}
}}
"""


class Stack:
    def __init__(self, port: int, app_log: Path, folder: Path):
        self.port, self.app_log, self.folder = port, app_log, folder

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                source: str = CLIENT_ADDRESS):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20, source_address=(source, 0))
        try:
            connection.request(method, path, body=body, headers={"Host": "grants.test", **(headers or {})})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def app_lines(self) -> list[dict]:
        lines = []
        for raw in self.app_log.read_text(errors="replace").splitlines():
            lines.append(json.loads(raw))  # every line gunicorn and the app write is one JSON object
        return lines

    def access_line(self, request_id: str, seconds: float = 5) -> dict | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [line for line in self.app_lines()
                     if line["logger"] == "app.access" and line.get("request_id") == request_id]
            if found:
                return found[0]
            time.sleep(0.05)
        return None


@pytest.fixture(scope="module")
def stack(tmp_path_factory, _sqlite_template):
    nginx = _tool("nginx")
    folder = tmp_path_factory.mktemp("deploy")
    folder.chmod(0o755)
    database = folder / "grants.sqlite"
    shutil.copyfile(_sqlite_template, database)  # migrated to head once per session (tests/conftest.py)
    app_port, site_port = _free_port(), _free_port()
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
           "DATABASE_URL": f"sqlite:///{database}", "ALLOW_SQLITE_IN_PRODUCTION": "1",
           "PUBLIC_BASE_URL": "https://grants.test", "UPLOAD_DIR": str(folder / "uploads"), "MAIL_SERVER": "",
           "GUNICORN_BIND": f"127.0.0.1:{app_port}", "GUNICORN_WORKERS": "1", "PROXIES_IN_FRONT": "1"}
    app_log = folder / "gunicorn.log"
    with open(app_log, "ab") as output:
        gunicorn = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config",
                                     str(DEPLOY / "gunicorn.conf.py")], cwd=ROOT, env=env, stdout=output,
                                    stderr=subprocess.STDOUT)
    conf = folder / "nginx.conf"
    conf.write_text(nginx_conf(render_site((DEPLOY / "nginx-site.conf").read_text(), listen_port=site_port,
                                           upstream_port=app_port, logs=folder), folder))
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / kind).mkdir()
    nginx_log = folder / "nginx.out"
    with open(nginx_log, "ab") as output:
        proxy = subprocess.Popen([nginx, "-e", str(folder / "error.log"), "-p", str(folder), "-c", str(conf)],
                                 stdout=output, stderr=subprocess.STDOUT)
    started = time.monotonic()
    try:
        _wait_for_port(app_port, gunicorn, "gunicorn", app_log)
        _wait_for_workers(app_port, gunicorn, app_log)
        _wait_for_port(site_port, proxy, "nginx", folder / "error.log")
        print(f"gunicorn and nginx listening after {time.monotonic() - started:.2f} s")
        yield Stack(site_port, app_log, folder)
    finally:
        stopping = time.monotonic()
        for process in (proxy, gunicorn):
            process.send_signal(signal.SIGQUIT if process is gunicorn else signal.SIGTERM)  # both: stop now
        for process in (proxy, gunicorn):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        print(f"stopped in {time.monotonic() - stopping:.2f} s")


def test_nginx_passes_a_page_through_to_the_app(stack):
    status, headers, body = stack.request("GET", "/login")
    assert status == 200
    assert "<h1>Pieslēgties</h1>" in body.decode("utf-8")
    assert headers["Server"].startswith("nginx")
    assert "script-src 'self'" in headers["Content-Security-Policy"]  # the app's own header came through
    line = stack.access_line(headers["X-Request-ID"])
    assert line and line["status"] == 200 and line["path"] == "/login" and line["method"] == "GET"


def test_static_files_come_from_nginx_not_the_app(stack):
    status, headers, body = stack.request("GET", "/static/site.css")
    assert status == 200
    assert body == (ROOT / "app" / "static" / "site.css").read_bytes()
    assert headers["Content-Type"].startswith("text/css")
    assert headers["Cache-Control"] == "public" and "Expires" in headers  # the site's location /static/
    assert "X-Request-ID" not in headers  # the app answers every request with one: this one never reached it
    stack.request("GET", "/login")  # a request that does reach the app, so its log is written up to here
    assert not [line for line in stack.app_lines() if line.get("path", "").startswith("/static/")]


def test_the_app_sees_the_client_address_nginx_saw_not_one_the_client_claims(stack):
    status, headers, _body = stack.request("GET", "/login", headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 200
    line = stack.access_line(headers["X-Request-ID"])
    assert line["remote_addr"] == CLIENT_ADDRESS  # gunicorn's peer is nginx, 127.0.0.1
    # nginx's own request id reached the app and came back
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])


def test_an_upload_over_the_limit_is_refused_by_nginx_with_413(stack):
    boundary = "----pumpurs"

    def multipart(size: int) -> bytes:
        return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
                f"Content-Type: application/pdf\r\n\r\n").encode() + b"%PDF" + b"0" * size + \
            f"\r\n--{boundary}--\r\n".encode()

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, answer_headers, body = stack.request("POST", "/login", multipart(11 * MiB), headers)
    assert status == 413
    assert b"413 Request Entity Too Large" in body and "X-Request-ID" not in answer_headers  # nginx's own answer
    # under the limit, the body reaches the app (which refuses the form without its CSRF token, not its size)
    status, answer_headers, _body = stack.request("POST", "/login", multipart(9 * MiB), headers)
    assert status == 400 and answer_headers["X-Request-ID"]
    assert stack.access_line(answer_headers["X-Request-ID"])["status"] == 400


def test_every_line_gunicorn_and_the_app_wrote_is_one_json_object(stack):
    lines = stack.app_lines()
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
        assert line["time"].endswith("+00:00")


# --- systemd ------------------------------------------------------------------------------------------------------

UNITS = sorted(p.name for p in DEPLOY.iterdir() if p.suffix in (".service", ".timer"))


def test_the_units_are_the_ones_the_readme_installs():
    assert UNITS == ["pumpurs-grants-backup.service", "pumpurs-grants-backup.timer", "pumpurs-grants-tick.service",
                     "pumpurs-grants-tick.timer", "pumpurs-grants-web.service", "pumpurs-grants-worker.service"]
    web = (DEPLOY / "pumpurs-grants-web.service").read_text()
    assert "ExecStart=/srv/pumpurs-grants/.venv/bin/gunicorn --config deploy/gunicorn.conf.py" in web
    worker = (DEPLOY / "pumpurs-grants-worker.service").read_text()
    assert "ExecStart=/srv/pumpurs-grants/.venv/bin/flask --app wsgi worker" in worker
    assert "ExecStart=/srv/pumpurs-grants/.venv/bin/flask --app wsgi tick" in \
        (DEPLOY / "pumpurs-grants-tick.service").read_text()


def test_the_units_pass_systemd_analyze_verify(tmp_path):
    """Rendered with this checkout's paths (verify checks that each ExecStart's program exists)."""
    analyze = _tool("systemd-analyze")
    venv = Path(sys.executable).parent.parent
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace("/srv/pumpurs-grants/.venv", str(venv))
        (tmp_path / name).write_text(text.replace("/srv/pumpurs-grants", str(ROOT)))
    result = subprocess.run([analyze, "verify", *UNITS], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr
    # and verify does refuse a unit whose program is missing: the check above is not vacuous
    (tmp_path / "broken.service").write_text((tmp_path / "pumpurs-grants-worker.service").read_text()
                                             .replace(f"{venv}/bin/flask", "/nonexistent/flask"))
    broken = subprocess.run([analyze, "verify", "broken.service"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert broken.returncode != 0 and "/nonexistent/flask" in broken.stderr
