"""Every GET page as every role (DESIGN 6.3): the demo loaded in a schema of its own, each role's visitor follows
every same-site link from its home page, and each HTML page it reaches is timed (the in-process client's server
time, median of 5 after a warm-up). A page is an endpoint: at most PER_ENDPOINT distinct addresses of each are
timed (the 50 application pages a list links to are one page, asked twice), so the crawl stays bounded.
"""
from __future__ import annotations

import re
import statistics
import time
from html import unescape
from urllib.parse import urlsplit

SKIP = ("/static/", "/logout", "/language")
NOT_PAGES = re.compile(r"\.(pdf|csv|xlsx|zip|xml|json|txt|png|svg)$|/download|/documents/|/files/")
PER_ENDPOINT = 2
MAX_PAGES = 200


def crawl_timed(app, client, starts: list[str], runs: int = 5) -> dict[str, tuple[str, float, float]]:
    """{url: (endpoint, median seconds, median CPU seconds of this process)} for every HTML page reachable from
    `starts` by GET links (the CPU time is the app's own share, apart from the database's and other processes')."""
    adapter = app.url_map.bind("localhost")
    timed: dict[str, tuple[str, float, float]] = {}
    per_endpoint: dict[str, int] = {}
    queue, seen = list(starts), set(starts)
    while queue and len(timed) < MAX_PAGES:
        url = queue.pop(0)
        try:
            endpoint = adapter.match(urlsplit(url).path, method="GET")[0]
        except Exception:  # noqa: BLE001  a link to something that is not a route: not a page
            continue
        if per_endpoint.get(endpoint, 0) >= PER_ENDPOINT:
            continue
        response = client.get(url)  # the warm-up, and what the page links to
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
        body = response.get_data(as_text=True)
        samples, cpu = [], []
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            client.get(url)
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        timed[url] = (endpoint, statistics.median(samples), statistics.median(cpu))
        for link in re.findall(r'href="([^"]+)"', body):
            link = unescape(link)
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or not link.startswith("/") or link.startswith(SKIP):
                continue
            if NOT_PAGES.search(parts.path):
                continue
            link = parts.path + (f"?{parts.query}" if parts.query else "")
            if link not in seen:
                seen.add(link)
                queue.append(link)
    return timed


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)] if ordered else float("nan")


def demo_app():
    """The app on the schema `bench_demo` holding the demo (`flask demo`'s load_demo), loaded once and kept while
    the migrations, the seeding code and the demo's code are unchanged."""
    from pathlib import Path

    from bench import seed

    demo_code = "".join(p.read_text(encoding="utf-8")
                        for p in sorted((Path(__file__).resolve().parent.parent / "app" / "demo").glob("*.py")))
    fingerprint = seed.fingerprint("demo", demo_code)
    url, backend, note = seed.database(schema="bench_demo", keep=fingerprint)
    import tempfile

    app = seed.build_app(url, tempfile.mkdtemp(prefix="pumpurs-bench-demo-"))
    if seed.marker(url).get("fingerprint") != fingerprint:
        from app.demo import load_demo

        with app.app_context():
            load_demo()
        seed.analyse(url)
        seed.set_marker(url, {"fingerprint": fingerprint})
    return app, backend, note


def visitors(app) -> list[tuple[str, int | None]]:
    """(label, user id) of one demo user per role and level, and the anonymous visitor (None)."""
    from sqlalchemy import select

    from app.demo import logins
    from app.extensions import db
    from app.models import User

    found, seen = [("anonymous", None)], set()
    with app.app_context():
        for role, email, _password in logins():
            user = db.session.scalar(select(User).where(User.email == email))
            if user is None:
                continue
            label = f"{user.role}{' (programme)' if user.programme_level else ''}"
            if label in seen:
                continue
            seen.add(label)
            found.append((label, user.id))
    return found


def time_as(app, user_id: int | None, starts: list[str]) -> dict[str, tuple[str, float, float]]:
    client = app.test_client()
    if user_id is not None:
        from app.extensions import db
        from app.models import User
        from tests.factories import login_as

        with app.app_context():
            login_as(client, db.session.get(User, user_id))
    return crawl_timed(app, client, starts)
