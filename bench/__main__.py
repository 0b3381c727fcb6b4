"""`make bench`: the figures of DESIGN 6.3 as one table with their bars. Median of 5 after a warm-up.

`python -m bench [ranking assignment engine list page submit pages letters surge]` runs a subset (default: all);
the figures a subset does not measure stay in bench/results.json as they were.
Database rows run on PostgreSQL: BENCH_DATABASE_URL (default postgresql+psycopg://grants:grants@127.0.0.1:5432/
grants_bench, created if missing). The call of 100,000 applications lives in the schema `bench`, seeded once and
kept while its marker matches the migrations and the seeding code (BENCH_RESEED=1 seeds afresh); the demo lives in
the schema `bench_demo`, kept the same way. When PostgreSQL cannot be reached they fall back to a SQLite file and
say so. Knobs: BENCH_LETTERS (letters rendered, default 1000), BENCH_SURGE (submissions, default 1000),
BENCH_WORKERS (gunicorn workers, default 3), BENCH_CONCURRENCY (load-generator clients, default 24).
"""
from __future__ import annotations

import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from fractions import Fraction


Row = tuple[str, str, str, bool]  # what, measured, DESIGN 6.3 bar, bar met


def median_of(function, runs: int = 5) -> float:
    function()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


RANKED = 100_000


def bench_ranking() -> Row:
    from app import ranking

    codes = [f"{i}.{j}" for i in range(1, 4) for j in range(1, 5)][:10]
    criteria = tuple(ranking.Criterion(code, 10, 6 if k < 3 else None, Fraction(1)) for k, code in enumerate(codes))
    rules = ranking.Rules(pass_mark_half_points=60, tie_break_keys=(codes[0], "submitted_at"),
                          budget_cents=460000 * 300)
    rng = random.Random(7)
    start = datetime(2022, 3, 1, tzinfo=timezone.utc)
    entries = [ranking.Entry(i, 460000, start + timedelta(seconds=i),
                             tuple(ranking.Review(i * 10 + r, {c: rng.randint(0, 10) for c in codes})
                                   for r in range(3)))
               for i in range(RANKED)]
    cpu = []

    def run():
        started = time.process_time()
        ranking.rank_and_allocate(entries, criteria, rules)
        cpu.append(time.process_time() - started)

    seconds = median_of(run)
    return (f"ranking and allocation: {RANKED:,} × 3 reviews × 10 criteria", f"{seconds:.2f} s "
            f"(CPU {statistics.median(cpu[1:]):.2f} s)", "< 3 s", seconds < 3)


def bench_assignment() -> Row:
    """The whole-call solver alone (app/assignment.py): 1,000 applications × 2 evaluators among 30, each
    application conflicted with 2 evaluators drawn at random, no maximum; the load spread of its plan."""
    from app import assignment

    rng = random.Random(7)
    needs = [assignment.Need(i, 2) for i in range(1000)]
    people = [assignment.Evaluator(10_000 + j) for j in range(30)]
    forbidden = {(i, 10_000 + j) for i in range(1000) for j in rng.sample(range(30), 2)}
    plans = []
    seconds = median_of(lambda: plans.append(assignment.solve(needs, people, forbidden)))
    plan = plans[-1]
    complete = plan.complete and len(plan.pairs) == 2000
    return ("assigning 1,000 applications × 2 to 30 evaluators, optimal (2 conflicts each)",
            f"{seconds:.2f} s, load spread {plan.spread} ({min(plan.loads.values())}–{max(plan.loads.values())})",
            "< 5 s", seconds < 5 and complete)


def bench_engine() -> Row:
    from workflows.engine import Engine, WORKFLOWS

    guards = {g for w in WORKFLOWS.values() for t in w.transitions for g in t.guards}
    effects = {e for w in WORKFLOWS.values() for t in w.transitions for e in t.effects}
    selectors = {t.when for w in WORKFLOWS.values() for t in w.transitions if t.when}
    engine = Engine(guards, effects, selectors)
    n = 5000

    def moves():
        for _ in range(n):
            engine.move("application", "draft", "submit", {})  # fire's one machine run: selector, roles, 6 guards

    seconds = median_of(moves)
    return ("workflow fire overhead without the database", f"{seconds / n * 1e6:.1f} µs per trigger", "< 100 µs",
            seconds / n < 100e-6)


# --- measured on the database (PostgreSQL; SQLite only as a fallback, said so) ---------------------------------

ROWS_IN_CALL = int(os.environ.get("BENCH_ROWS", "100000"))


class Queries:
    """Counts the SQL statements the app's engine sends (a `before_cursor_execute` listener)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        self._engine = engine
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, *_args):
        self.count += 1

    def close(self):
        from sqlalchemy import event

        event.remove(self._engine, "before_cursor_execute", self._record)


def _login(client, user_id: int) -> None:
    """Log in the way the tests do (tests/factories.login_as knows what the session must hold)."""
    from app.extensions import db
    from app.models import User
    from tests.factories import login_as

    login_as(client, db.session.get(User, user_id))


class Bench:
    """One benchmark database for the in-process rows and the surge: the schema `bench`, holding the call of
    ROWS_IN_CALL applications, kept between runs (its marker names what it was seeded from and the call's ids)."""

    def __init__(self):
        import itertools

        from bench import seed
        from tests import factories

        self.fingerprint = seed.fingerprint(str(ROWS_IN_CALL))
        keep = None if os.environ.get("BENCH_RESEED") else self.fingerprint
        self.url, self.backend, self.note = seed.database(keep=keep)
        self.upload_dir = tempfile.mkdtemp(prefix="pumpurs-bench-uploads-")
        self.app = seed.build_app(self.url, self.upload_dir)
        with self.app.app_context():
            from app.extensions import db

            self.engine = db.engine
        marker = seed.marker(self.url)
        run = int(marker.get("runs", 0)) + 1  # the builders' numbers (e-mails, codes) of this run are its own
        factories._numbers = itertools.count(run * 1_000_000)
        seed.set_marker(self.url, {"runs": run})
        self.call_id = int(marker["call_id"]) if "call_id" in marker else None
        self.admin_id = int(marker["admin_id"]) if "admin_id" in marker else None
        self.seeded_now = False

    def big_call(self) -> int:
        """A call, open now, with ROWS_IN_CALL submitted applications (bulk-seeded once, then kept)."""
        if self.call_id is None:
            from bench import seed
            from tests import factories

            started = time.perf_counter()
            with self.app.app_context():
                call = factories.make_call(state="open", projects=100)
                self.admin_id = factories.admin_of(call).id
                call_id = call.id
                for first in range(0, ROWS_IN_CALL, 10_000):
                    from app.extensions import db
                    from app.models import Call

                    seed.applications(db.session.get(Call, call_id), min(10_000, ROWS_IN_CALL - first),
                                      submitted=True, tag="big", start=first)
                self.call_id = call_id
            seed.analyse(self.url)
            _vacuum(self)
            seed.set_marker(self.url, {"fingerprint": self.fingerprint, "call_id": self.call_id,
                                       "admin_id": self.admin_id})
            self.seeded_now = time.perf_counter() - started
        return self.call_id

    def close(self):
        import shutil

        with self.app.app_context():
            from app.extensions import db

            db.engine.dispose()
        shutil.rmtree(self.upload_dir, ignore_errors=True)
        if self.url.startswith("sqlite:///"):
            shutil.rmtree(os.path.dirname(self.url.removeprefix("sqlite:///")), ignore_errors=True)


def _label(backend: str) -> str:
    return "" if backend == "postgresql" else " [SQLite!]"


def bench_admin_list(bench: Bench) -> Row:
    """The admin's list of the big call: the first page, the last page (the list's own "last" link: keyset,
    no offset), a state filter and a text search, each the median of 5 after a warm-up, and its queries. The seeded
    rows are all submitted, so the state filter keeps them all (its count is the worst case); the search asks
    for one project by its words ("Projekts big 4242": each word a prefix, so "big" and "4242" narrow it)."""
    import re
    from html import unescape

    call_id = bench.big_call()
    client = bench.app.test_client()
    with bench.app.app_context():
        _login(client, bench.admin_id)
    base = f"/admin/calls/{call_id}/applications"
    first_body = client.get(base).get_data(as_text=True)
    last = re.search(r'<a class="page-link" rel="last" href="([^"]+)"', first_body)
    assert last, "the list has no 'last' link"
    cases = {  # name: (url, text the page must show)
        "first": (base, "Projekts big 0<"),
        "last": (unescape(last.group(1)), f"Projekts big {ROWS_IN_CALL - 1}<"),
        "state": (f"{base}?status=submitted", "Projekts big 0<"),
        "search": (f"{base}?q=Projekts+big+4242", "Projekts big 4242<"),
    }
    figures = {}
    for name, (url, shown) in cases.items():
        def get(url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response

        seconds = median_of(get)
        counter = Queries(bench.engine)
        body = get().get_data(as_text=True)
        counter.close()
        assert shown in body, (name, shown)
        figures[name] = (seconds, counter.count)
    measured = ", ".join(f"{name} {s * 1000:.0f} ms {q} q." for name, (s, q) in figures.items())
    met = all(s < 0.05 and q <= 8 for s, q in figures.values())
    return (f"admin list, one call of {ROWS_IN_CALL:,} applications, page of 50{_label(bench.backend)}", measured,
            "each < 50 ms, ≤ 8 queries", met)


def _vacuum(bench: Bench) -> None:
    """What autovacuum soon does to a real database after the bulk load: merge the search index's pending list
    (a GIN index takes bulk inserts into an unsorted list that every search reads through: 15 ms instead of 0.4
    here) and mark the pages all-visible (so that counting per state reads the index alone)."""
    if bench.backend == "postgresql":
        from sqlalchemy import create_engine

        engine = create_engine(bench.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql("VACUUM ANALYZE applications")
        engine.dispose()


def bench_submit(bench: Bench) -> Row:
    """POST submit of a complete draft by a fresh NGO, ROWS_IN_CALL applications already in the call; median of 5
    after one warm-up submission (each sample submits a different draft); the queries of the slowest sample."""
    from bench import seed

    call_id = bench.big_call()
    with bench.app.app_context():
        from app.extensions import db
        from app.models import Call

        drafts = seed.applications(db.session.get(Call, call_id), 6, submitted=False, tag=f"submit-{seed.unique_tag()}")
    samples, queries, cpu = [], [], []
    for index, (application_id, user_id) in enumerate(drafts):
        client = bench.app.test_client()
        with bench.app.app_context():
            _login(client, user_id)
        counter = Queries(bench.engine)
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.post(f"/apply/applications/{application_id}/submit", data={"confirmed": "1"})
        elapsed, used = time.perf_counter() - started, time.process_time() - started_cpu
        counter.close()
        assert response.status_code == 302 and response.headers["Location"].endswith("/receipt"), (
            response.status_code, response.headers.get("Location"))
        if index:  # the first one is the warm-up
            samples.append(elapsed)
            queries.append(counter.count)
            cpu.append(used)
    median = statistics.median(samples)
    return (f"submit one application, {ROWS_IN_CALL:,} in the database{_label(bench.backend)}",
            f"{median * 1000:.0f} ms (CPU {statistics.median(cpu) * 1000:.0f} ms), {max(queries)} queries",
            "≤ 15 ms, ≤ 12 queries", median <= 0.015 and max(queries) <= 12)


def bench_application_page(bench: Bench) -> Row:
    """The admin's page of one application (checks, assignments, scores, the diagram) in the big call."""
    call_id = bench.big_call()
    with bench.app.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.models import Application

        application_id = db.session.scalar(select(Application.id).where(Application.call_id == call_id)
                                           .order_by(Application.id.desc()).limit(1))
    client = bench.app.test_client()
    with bench.app.app_context():
        _login(client, bench.admin_id)
    url = f"/admin/applications/{application_id}"

    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    seconds = median_of(get)
    counter = Queries(bench.engine)
    get()
    counter.close()
    return (f"admin application page, call of {ROWS_IN_CALL:,}{_label(bench.backend)}",
            f"{seconds * 1000:.1f} ms, {counter.count} queries", "< 100 ms", seconds < 0.1)


# --- every GET page as every role ------------------------------------------------------------------------------

def bench_pages(bench: Bench | None) -> list[Row]:
    """The demo crawled as every role (bench/pages.py); then, with the call of ROWS_IN_CALL loaded, its admin's
    pages and an applicant's of that call."""
    from bench import pages

    app, backend, _note = pages.demo_app()
    timed = {}
    for label, user_id in pages.visitors(app):
        for url, figures in pages.time_as(app, user_id, ["/"]).items():
            timed[f"{label} {url}"] = figures
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    values = [s for _e, s, _c in timed.values()]
    cpu = [c for _e, _s, c in timed.values()]
    slowest = sorted(timed.items(), key=lambda item: -item[1][1])[:6]
    p95 = pages.p95(values)
    notes = [f"demo pages: {len(timed)} (role, page) pairs; CPU of the app p95 {pages.p95(cpu) * 1000:.0f} ms, "
             f"max {max(cpu) * 1000:.0f} ms; slowest: "
             + ", ".join(f"{k} {s * 1000:.0f} ms (CPU {c * 1000:.0f})" for k, (_e, s, c) in slowest)]
    rows = [(f"every GET page of the demo as every role ({len(timed)}){_label(backend)}",
             f"p95 {p95 * 1000:.0f} ms, max {max(values) * 1000:.0f} ms ({slowest[0][0]}); "
             f"CPU p95 {pages.p95(cpu) * 1000:.0f} ms", "p95 < 25 ms, max < 50 ms", p95 < 0.025 and max(values) < 0.05)]
    if bench is not None:
        call_id = bench.big_call()
        with bench.app.app_context():
            from sqlalchemy import select

            from app.extensions import db
            from app.models import Application

            member = db.session.scalar(select(Application.created_by).where(Application.call_id == call_id)
                                       .order_by(Application.id).limit(1))
            application_id = db.session.scalar(select(Application.id).where(Application.created_by == member))
        loaded = {}
        starts = ["/", f"/admin/calls/{call_id}", f"/admin/calls/{call_id}/applications",
                  f"/admin/applications/{application_id}"]
        for label, user_id, where in (("admin", bench.admin_id, starts),
                                      ("applicant", member, ["/", f"/apply/applications/{application_id}"])):
            for url, figures in pages.time_as(bench.app, user_id, where).items():
                loaded[f"{label} {url}"] = figures
        slow = sorted(loaded.items(), key=lambda item: -item[1][1])[:6]
        worst = slow[0]
        notes.append(f"pages with {ROWS_IN_CALL:,} loaded: {len(loaded)}; slowest: "
                     + ", ".join(f"{k} {s * 1000:.0f} ms (CPU {c * 1000:.0f})" for k, (_e, s, c) in slow))
        rows.append((f"every page with a call of {ROWS_IN_CALL:,} loaded, as its admin and an applicant "
                     f"({len(loaded)}){_label(bench.backend)}",
                     f"max {worst[1][1] * 1000:.0f} ms ({worst[0]}); CPU max "
                     f"{max(c for _e, _s, c in loaded.values()) * 1000:.0f} ms", "every page < 100 ms",
                     worst[1][1] < 0.1))
        bench.page_notes = notes
    return rows


# --- decision letters: WeasyPrint on both cores -----------------------------------------------------------------

def bench_letters() -> Row:
    """`app.documents.render('letter', …)` in a pool of 2 processes: BENCH_LETTERS letters (default 1,000) in 5
    batches, the median batch's rate (after each process rendered one letter to warm up); the processes' resident
    memory after the warm-up and at the end (memory flat: it grows by less than a tenth)."""
    import multiprocessing
    import shutil

    from bench.letters import render_letter, resident_kib, worker_start

    total = int(os.environ.get("BENCH_LETTERS", "1000"))
    batch = max(2, total // 5)
    upload_dir = tempfile.mkdtemp(prefix="pumpurs-bench-letters-")
    context = multiprocessing.get_context("spawn")
    rates = []
    with context.Pool(2, initializer=worker_start, initargs=(upload_dir,)) as pool:
        pool.map_async(render_letter, range(2), chunksize=1).get(600)  # both processes are up and warm
        start_kib = _pool_memory(pool, resident_kib)
        for b in range(5):
            started = time.perf_counter()
            sizes = pool.map_async(render_letter, range(b * batch, (b + 1) * batch), chunksize=1).get(1200)
            rates.append(len(sizes) / (time.perf_counter() - started))
        end_kib = _pool_memory(pool, resident_kib)
    shutil.rmtree(upload_dir, ignore_errors=True)
    rate = statistics.median(rates)
    flat = end_kib <= start_kib * 1.1
    memory = f"RSS {start_kib / 1024:.0f} → {end_kib / 1024:.0f} MiB"
    return (f"decision letters, {5 * batch:,} rendered, 2 processes", f"{rate:.1f} letters/s, {memory}",
            "≥ 16/s, memory flat", rate >= 16 and flat)


def _pool_memory(pool, resident_kib) -> int:
    """The two workers' resident memory summed (each asked until both answered)."""
    seen: dict[int, int] = {}
    for _ in range(20):
        for pid, kib in pool.map(resident_kib, range(4), chunksize=1):
            seen[pid] = kib
        if len(seen) >= 2:
            break
    return sum(seen.values())


# --- the deadline surge through gunicorn ------------------------------------------------------------------------

SURGE = int(os.environ.get("BENCH_SURGE", "1000"))
SURGE_WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
SURGE_CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "24"))


def bench_surge(bench: Bench) -> Row:
    """1,000 NGOs, each with a complete draft, POST submit at once through gunicorn; then the same number of POSTs
    to a bare endpoint that inserts one row, on the same server. Every submission must be answered with its
    receipt (0 errors) and be in the database, numbered gaplessly, with one audit event each (0 lost)."""
    from sqlalchemy import func, select, text

    from bench import seed
    from bench.surge import Gunicorn, run_load, session_cookie
    from tests import factories

    warm = 2 * SURGE_WORKERS
    with bench.app.app_context():
        from app.extensions import db
        from app.models import Application, AuditEvent, NumberCounter

        call = factories.make_call(state="open", projects=100)
        call_id, prefix = call.id, call.number_prefix
        drafts = seed.applications(call, SURGE + warm, submitted=False, tag=f"surge-{seed.unique_tag()}")
        db.session.execute(text("CREATE TABLE IF NOT EXISTS bench_rows (id serial PRIMARY KEY, "
                                "at timestamptz DEFAULT now(), note text)") if bench.backend == "postgresql" else
                           text("CREATE TABLE IF NOT EXISTS bench_rows (id integer PRIMARY KEY, at text, note text)"))
        db.session.commit()
    seed.analyse(bench.url)

    with Gunicorn(bench.url, SURGE_WORKERS, bench.upload_dir) as server:
        def submission(application_id, user_id):
            def check(status, headers):
                location = headers.get("Location", "")
                if status != 302 or not location.endswith(f"/applications/{application_id}/receipt"):
                    return f"application {application_id}: HTTP {status} → {location or '(no redirect)'}"
                return None
            return (f"/apply/applications/{application_id}/submit",
                    {"Cookie": session_cookie(server.secret, user_id)}, check)

        def bare_check(status, _headers):
            return None if status == 204 else f"bare: HTTP {status}"

        bare = [("/bench/bare", {}, bare_check)] * SURGE
        run_load(server.port, bare[:warm] + [submission(*d) for d in drafts[:warm]], SURGE_CONCURRENCY)
        floor = run_load(server.port, bare, SURGE_CONCURRENCY)
        surge = run_load(server.port, [submission(*d) for d in drafts[warm:]], SURGE_CONCURRENCY)

    with bench.app.app_context():
        ids = [a for a, _u in drafts]
        numbers = db.session.scalars(select(Application.number).where(Application.id.in_(ids),
                                                                      Application.status == "submitted")).all()
        events = db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.entity_type == "application", AuditEvent.trigger == "submit", AuditEvent.entity_id.in_(ids)))
        counter = db.session.get(NumberCounter, call_id).last_number
    expected = sorted(f"{prefix}-{n:03d}" for n in range(1, SURGE + warm + 1))
    answered = len(surge.latencies)
    lost = answered + warm - len(numbers)
    gapless = sorted(numbers) == expected[:len(numbers)] and counter == len(numbers)
    ratio = surge.rate / floor.rate if floor.rate else 0.0
    problems = surge.errors[:3] + floor.errors[:3]
    bench.surge_notes = [f"surge: {SURGE_WORKERS} gunicorn sync workers, {SURGE_CONCURRENCY} concurrent clients, "
                         f"{answered} submissions in {surge.seconds:.1f} s (median {surge.median_ms:.0f} ms); "
                         f"bare endpoint {floor.rate:.0f} req/s, p95 {floor.p95_ms:.0f} ms",
                         f"surge check: {len(numbers)} submitted of {SURGE + warm} (incl. {warm} warm-up), "
                         f"numbers gapless: {gapless}, submit events: {events}"] + [f"error: {p}" for p in problems]
    return (f"deadline surge: {SURGE:,} submissions, gunicorn ×{SURGE_WORKERS}{_label(bench.backend)}",
            f"{surge.rate:.0f}/s, p95 {surge.p95_ms:.0f} ms, {len(surge.errors)} errors, {max(lost, 0)} lost, "
            f"ratio {ratio:.2f}",
            "0 errors, 0 lost; ratio ≥ 0.5", not surge.errors and lost <= 0 and gapless and ratio >= 0.5)


def main() -> None:
    wanted = set(sys.argv[1:]) or {"ranking", "assignment", "engine", "list", "page", "submit", "pages", "letters",
                                   "surge"}
    rows, notes = [], []
    if "ranking" in wanted:
        rows.append(bench_ranking())
    if "assignment" in wanted:
        rows.append(bench_assignment())
    if "engine" in wanted:
        rows.append(bench_engine())
    bench = None
    if wanted & {"list", "page", "submit", "pages", "surge"}:
        bench = Bench()
        if bench.note:
            notes.append(bench.note)
        else:
            notes.append("database: PostgreSQL " + bench.url.split("@")[-1].split("?")[0] + f" (schema {'bench'})")
    try:
        if "list" in wanted:
            rows.append(bench_admin_list(bench))
        if "page" in wanted:
            rows.append(bench_application_page(bench))
        if "submit" in wanted:
            rows.append(bench_submit(bench))
        if "pages" in wanted:
            rows.extend(bench_pages(bench))
            notes.extend(bench.page_notes)
        if "letters" in wanted:
            rows.append(bench_letters())
        if "surge" in wanted:
            rows.append(bench_surge(bench))
            notes.extend(bench.surge_notes)
        if bench is not None and bench.seeded_now:
            notes.append(f"seeded the call of {ROWS_IN_CALL:,} in {bench.seeded_now:.0f} s (kept for the next runs)")
    finally:
        if bench is not None:
            bench.close()
    width = max(len(r[0]) for r in rows)
    measured_width = max(len(r[1]) for r in rows)
    bar_width = max(len(r[2]) for r in rows)
    print(f"{'what':<{width}}  {'measured':<{measured_width}}  {'bar (DESIGN 6.3)':<{bar_width}}  met")
    for what, measured, bar, met in rows:
        print(f"{what:<{width}}  {measured:<{measured_width}}  {bar:<{bar_width}}  {'yes' if met else 'NO'}")
    if notes:
        print()
        for note in notes:
            print(note)
    write_results(rows, notes)


def write_results(rows: list[Row], notes: list[str]) -> None:
    """bench/results.json: the machine, the date, every figure with its bar and whether it was met."""
    import json
    import platform
    from pathlib import Path

    with open("/proc/meminfo") as meminfo:
        memory_kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    results = {
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "memory_gib": round(memory_kib / 1024 / 1024, 1),
                    "python": platform.python_version()},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "figures": [{"what": what, "measured": measured, "bar": bar, "met": met} for what, measured, bar, met in rows],
        "notes": notes,
    }
    path = Path(__file__).resolve().parent / "results.json"
    if set(sys.argv[1:]) and path.exists():  # a subset was run: the figures it did not measure stay as they were
        earlier = json.loads(path.read_text(encoding="utf-8"))
        results["figures"] = latest(earlier.get("figures", []) + results["figures"], lambda f: _key(f["what"]))
        results["notes"] = latest(earlier.get("notes", []) + notes, lambda n: n.split(":")[0])
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    write_readme_table(results, path.parent.parent / "README.md")


def _key(what: str) -> str:
    """A figure's benchmark, whatever its size or count in the name ('every GET page of the demo', 'submit one')."""
    return re.sub(r"[\d,()]+", "", what.split(":")[0]).replace(" rendered", "").strip()[:26]


def latest(items: list, key) -> list:
    """The last item of each key, in the order the keys first came."""
    chosen: dict = {}
    for item in items:
        chosen.pop(key(item), None)
        chosen[key(item)] = item
    return list(chosen.values())


README_START, README_END = "<!-- bench:start (written by make bench) -->", "<!-- bench:end -->"


def write_readme_table(results: dict, readme) -> None:
    """The README's table between its two markers (nothing else in the file is touched): every figure, its bar,
    whether it was met, and the machine and date of the run."""
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return
    machine = results["machine"]
    lines = [README_START,
             f"Measured {results['date'][:10]} on {machine['cpus']} CPUs ({machine['processor']}), "
             f"{machine['memory_gib']} GiB, Python {machine['python']}, {machine['platform']}; load average at the "
             f"end {', '.join(str(x) for x in results.get('load_average_at_end', []))} "
             "(the cores were shared with other work: wall times then include waiting for a core, the CPU times "
             "do not).", "", "| what | measured | bar | met |", "|---|---|---|---|"]
    for figure in results["figures"]:
        lines.append(f"| {figure['what']} | {figure['measured']} | {figure['bar']} | "
                     f"{'yes' if figure['met'] else '**no**'} |")
    lines += ["", *[f"- {note}" for note in results.get("notes", [])], README_END]
    before, rest = text.split(README_START, 1)
    after = rest.split(README_END, 1)[1]
    readme.write_text(before + "\n".join(lines) + after, encoding="utf-8")


if __name__ == "__main__":
    main()
