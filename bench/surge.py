"""The deadline surge (DESIGN 6.3): 1,000 NGOs submit through gunicorn + PostgreSQL on loopback, against a bare
Flask endpoint that inserts one row, in the same run, with the same workers and the same concurrency.

Only 127.0.0.1 is ever contacted; the request loops are bounded in count and time; the gunicorn process started
here is stopped here, by its own pid.
"""
from __future__ import annotations

import http.client
import os
import queue
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 30  # seconds, per request
RUN_DEADLINE = 300  # seconds, per load run: the loop stops by itself


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, int(round(0.95 * len(ordered))) - 1)] * 1000 if ordered else float("nan")

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Gunicorn:
    """`gunicorn -w N bench.surge_app:app` on a free loopback port; a context manager that always stops it."""

    def __init__(self, database_url: str, workers: int, upload_dir: str):
        self.port = free_port()
        self.secret = secrets.token_hex(16)
        env = dict(os.environ, BENCH_SURGE_DATABASE_URL=database_url, BENCH_SURGE_SECRET=self.secret,
                   BENCH_SURGE_UPLOAD_DIR=upload_dir, PYTHONPATH=str(ROOT))
        self.log = open(Path(upload_dir) / "gunicorn.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{HOST}:{self.port}",
             "--worker-class", "sync", "--timeout", "60", "--log-level", "warning", "bench.surge_app:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log.name}")
            try:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
                connection.request("GET", "/workflows")
                connection.getresponse().read()
                connection.close()
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def __exit__(self, *_exc):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


CONFIRMED = b"confirmed=1"


def run_load(port: int, requests: list[tuple[str, dict, callable]], concurrency: int) -> LoadResult:
    """POST every (path, headers, check) from `concurrency` client threads, one connection per request (gunicorn's
    sync workers close it anyway). `check(status, headers)` returns an error text or None."""
    work: queue.Queue = queue.Queue()
    for item in requests:
        work.put(item)
    result = LoadResult()
    lock = threading.Lock()
    stop_at = time.monotonic() + RUN_DEADLINE

    def client():
        while time.monotonic() < stop_at:
            try:
                path, headers, check = work.get_nowait()
            except queue.Empty:
                return
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
                # confirmed=1: the confirmation page's own button (submitting cannot be undone)
                connection.request("POST", path, body=CONFIRMED, headers={
                    "Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(CONFIRMED)),
                    **headers})
                response = connection.getresponse()
                response.read()
                problem = check(response.status, dict(response.getheaders()))
                connection.close()
            except OSError as error:
                problem = f"{path}: {type(error).__name__}: {error}"
            elapsed = time.perf_counter() - started
            with lock:
                if problem:
                    result.errors.append(problem)
                else:
                    result.latencies.append(elapsed)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RUN_DEADLINE + REQUEST_TIMEOUT)
    result.seconds = time.perf_counter() - started
    unsent = work.qsize()
    if unsent:
        result.errors.append(f"{unsent} requests never sent (the run hit its {RUN_DEADLINE} s deadline)")
    return result


def session_cookie(secret: str, user_id: int) -> str:
    """The signed Flask session cookie of a logged-in user, as the login form would have set it (the seeded users
    never logged out: their session version is still the first)."""
    from flask import Flask

    from app.models.accounts import FIRST_SESSION_VERSION, session_id

    signer_app = Flask("cookie")
    signer_app.secret_key = secret
    signer = signer_app.session_interface.get_signing_serializer(signer_app)
    return "session=" + signer.dumps({"_user_id": session_id(user_id, FIRST_SESSION_VERSION), "_fresh": True})
