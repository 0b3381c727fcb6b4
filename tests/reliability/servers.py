"""Real processes for the reliability suite: gunicorn masters serving the production configuration, a throwaway
PostgreSQL cluster of our own, a small HTTP client that keeps its cookies, and the checks every scenario repeats.

Every process started here runs in a process group of its own and is stopped here, by that group, in a `finally`
(a context manager's exit), whatever the test did. Only 127.0.0.1 is ever contacted. The shared PostgreSQL on 5432
is never stopped or restarted: a scenario that restarts a database starts its own (`PrivatePostgres`).

`gunicorn "tests.reliability.servers:production_app()"` builds the app the way production does
(create_app("production")), with the database, secret and upload directory from RELIABILITY_* variables, and
CSRF on unless RELIABILITY_CSRF=0 (the burst's load generator posts no form tokens, as bench/surge.py).
"""
from __future__ import annotations

import http.client
import os
import pwd
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def _pg_bin() -> Path:
    """PG_BIN, or the newest /usr/lib/postgresql/<version>/bin that Debian's postgresql package installed."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
REQUEST_TIMEOUT = 30  # seconds, per request
CONFIRMED = b"confirmed=1"  # the submit confirmation page's own button


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def stop_group(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM the process group `process` leads, then SIGKILL whatever is left of it; always reaps `process`."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    try:  # the group may outlive its leader (a worker whose master died first)
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.wait(5)


def children_of(pid: int) -> list[int]:
    """The pids whose parent is `pid` (gunicorn's workers, for its master), read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return sorted(found)


# --- the app as gunicorn serves it -----------------------------------------------------------------------------

def production_app():
    """The gunicorn entry point: the production configuration on RELIABILITY_DATABASE_URL."""
    from app import create_app

    return create_app("production", SQLALCHEMY_DATABASE_URI=os.environ["RELIABILITY_DATABASE_URL"],
                      SECRET_KEY=os.environ["RELIABILITY_SECRET"], UPLOAD_DIR=os.environ["RELIABILITY_UPLOAD_DIR"],
                      WTF_CSRF_ENABLED=os.environ.get("RELIABILITY_CSRF", "1") == "1",
                      SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False, MAIL_SERVER="",
                      PUBLIC_BASE_URL="https://reliability.invalid")  # plain http on loopback: no https here


class Gunicorn:
    """`gunicorn -w N` of the production app on a free loopback port, in a process group of its own; a context
    manager that always stops the group. Its log is kept in `log_path` for the failure message."""

    def __init__(self, database_url: str, *, secret: str, upload_dir: str, workers: int = 2, csrf: bool = True,
                 log_dir: str | None = None):
        self.port = free_port()
        self.secret = secret
        self.log_path = Path(log_dir or upload_dir) / f"gunicorn-{self.port}.log"
        self.env = dict(os.environ, RELIABILITY_DATABASE_URL=database_url, RELIABILITY_SECRET=secret,
                        RELIABILITY_UPLOAD_DIR=upload_dir, RELIABILITY_CSRF="1" if csrf else "0",
                        PYTHONPATH=str(ROOT), APP_ENV="production")
        self.workers = workers
        self.process: subprocess.Popen | None = None

    def start(self) -> "Gunicorn":
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--bind", f"{HOST}:{self.port}",
                 "--worker-class", "sync", "--timeout", "30", "--graceful-timeout", "5", "--log-level", "warning",
                 "tests.reliability.servers:production_app()"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 120) -> "Gunicorn":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                # /login: a page that needs no database and no drawing (/workflows runs Graphviz)
                if request(self.port, "GET", "/login").status == 200 and len(self.workers_pids()) >= self.workers:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log()}")

    def workers_pids(self) -> list[int]:
        return children_of(self.process.pid) if self.process else []

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)

    def __enter__(self):
        try:
            return self.start().wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc):
        self.stop()


# --- a PostgreSQL cluster of our own ----------------------------------------------------------------------------

class PrivatePostgres:
    """A throwaway PostgreSQL 15 cluster in a temporary directory, on a free loopback port, trust authentication,
    fsync off; `restart()` is `pg_ctl restart -m fast`. initdb refuses to run as root: as root, every pg tool runs
    as the `postgres` user, in a directory it owns. A context manager that always stops and deletes it."""

    def __init__(self):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pumpurs-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.started = False

    def _pg(self, tool: str, *args: str, timeout: float = 60) -> None:
        done = subprocess.run([*self.as_user, str(PG_BIN / tool), *args], capture_output=True, text=True,
                              timeout=timeout, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stdout}{done.stderr}\n{self.log()}")

    def log(self) -> str:
        try:
            return self.logfile.read_text()[-3000:]
        except OSError:
            return ""

    def start(self) -> "PrivatePostgres":
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync",
                 "--locale=C")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses={HOST} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-o", options, "-w", "-t", "30", "start")
        self.started = True
        return self

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every session is ended (in-flight statements fail), then the server is back."""
        # -l again: without it the new server writes to pg_ctl's stdout, our pipe, which would then never close
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-m", "fast", "-w", "-t", "30", "restart")

    def stop(self) -> None:
        try:
            if self.started and (self.data / "postmaster.pid").exists():
                self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "20", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/{database}"

    def create_database(self, name: str = "grants") -> str:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc):
        self.stop()


# --- the database a scenario runs on ----------------------------------------------------------------------------

def fresh_schema_url(base_url: str) -> tuple[str, str]:
    """A new schema on `base_url` (the shared test database): (its url, its name). Drop it with drop_schema."""
    schema = f"rel_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def drop_schema(base_url: str, schema: str) -> None:
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SET lock_timeout = '10s'"))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


def audit_verify(database_url: str, upload_dir: str) -> subprocess.CompletedProcess:
    """`flask --app wsgi audit verify` as an operator types it, on `database_url`."""
    env = dict(os.environ, DATABASE_URL=database_url, UPLOAD_DIR=upload_dir, APP_ENV="development",
               PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "audit", "verify"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


# --- HTTP ----------------------------------------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes
    set_cookies: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


def request(port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None,
            timeout: float = REQUEST_TIMEOUT) -> Answer:
    """One request on a connection of its own (gunicorn's sync workers close it anyway). Raises OSError when the
    connection breaks (a worker killed under it)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body or None, headers={
            **({"Content-Type": "application/x-www-form-urlencoded"} if body else {}), **(headers or {})})
        response = connection.getresponse()
        data = response.read()
        pairs = response.getheaders()
        return Answer(response.status, {k.lower(): v for k, v in pairs}, data,
                      [v for k, v in pairs if k.lower() == "set-cookie"])
    except http.client.HTTPException as broken:  # RemoteDisconnected, IncompleteRead, BadStatusLine
        raise ConnectionError(f"{type(broken).__name__}: {broken}") from broken
    finally:
        connection.close()


class Browser:
    """A client that keeps its cookies (one jar for 127.0.0.1, as a browser has, whatever the port) and sends each
    request to the next of `ports` in turn: two servers behind a round-robin balancer without sticky sessions."""

    def __init__(self, ports: list[int]):
        self.ports = ports
        self.turn = 0
        self.cookies: dict[str, str] = {}
        self.served_by: list[int] = []

    def send(self, method: str, path: str, body: bytes = b"", headers: dict | None = None,
             port: int | None = None) -> Answer:
        if port is None:
            port = self.ports[self.turn % len(self.ports)]
            self.turn += 1
        jar = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        answer = request(port, method, path, body, {**({"Cookie": jar} if jar else {}), **(headers or {})})
        self.served_by.append(port)
        for line in answer.set_cookies:
            for name, morsel in SimpleCookie(line).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return answer

    def get(self, path: str, **options) -> Answer:
        return self.send("GET", path, **options)

    def post(self, path: str, fields: dict[str, str], **options) -> Answer:
        from urllib.parse import urlencode

        return self.send("POST", path, urlencode(fields).encode(), **options)

    def post_file(self, path: str, fields: dict[str, str], file_field: str, filename: str, content: bytes,
                  content_type: str, **options) -> Answer:
        boundary = secrets.token_hex(12)
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"'
                     f"\r\nContent-Type: {content_type}\r\n\r\n".encode("utf-8") + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.send("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"},
                         **options)


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def session_cookie(secret: str, user_id: int) -> str:
    """The signed session cookie of a logged-in user, as bench/surge.py makes it (see its note)."""
    from bench.surge import session_cookie as signed

    return signed(secret, user_id)


# --- a burst of submits --------------------------------------------------------------------------------------------

@dataclass
class Burst:
    """What the client saw for each application: acknowledged (302 to its receipt), refused with another answer,
    or broken (the connection died)."""

    acknowledged: set[int] = field(default_factory=set)
    answered: dict[int, Answer] = field(default_factory=dict)  # every non-acknowledging answer
    broken: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> set[int]:
        return set(self.answered) | set(self.broken)


def submit_burst(port: int, drafts: list[tuple[int, int]], secret: str, concurrency: int,
                 on_progress=None, deadline: float = 120) -> Burst:
    """Each (application id, member user id) POSTs its submit from one of `concurrency` client threads, logged in
    by its session cookie. `on_progress(n)` is called (from a client thread) after each answer, n answers so far."""
    work: queue.Queue = queue.Queue()
    for item in drafts:
        work.put(item)
    burst = Burst()
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline
    count = [0]

    def client():
        while time.monotonic() < stop_at:
            try:
                application_id, user_id = work.get_nowait()
            except queue.Empty:
                return
            path = f"/apply/applications/{application_id}/submit"
            try:
                answer = request(port, "POST", path, CONFIRMED, {"Cookie": session_cookie(secret, user_id)})
                problem = None
            except OSError as error:
                answer, problem = None, f"{type(error).__name__}: {error}"
            with lock:
                if problem:
                    burst.broken[application_id] = problem
                elif answer.status == 302 and answer.location.endswith(f"/applications/{application_id}/receipt"):
                    burst.acknowledged.add(application_id)
                else:
                    burst.answered[application_id] = answer
                count[0] += 1
                seen = count[0]
            if on_progress:
                on_progress(seen)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(deadline + REQUEST_TIMEOUT)
    burst.seconds = time.perf_counter() - started
    return burst
