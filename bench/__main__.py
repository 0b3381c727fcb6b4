"""`make bench`: the figures of DESIGN 6.3 that this machine can measure, as a table. Median of 5 after a warm-up."""
from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timedelta, timezone
from fractions import Fraction


def median_of(function, runs: int = 5) -> float:
    function()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bench_ranking() -> tuple[str, str, str]:
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
               for i in range(10_000)]
    seconds = median_of(lambda: ranking.rank_and_allocate(entries, criteria, rules))
    return ("ranking and allocation: 10,000 × 3 reviews × 10 criteria", f"{seconds:.3f} s", "< 1 s")


def bench_engine() -> tuple[str, str, str]:
    from workflows.engine import Engine, WORKFLOWS

    guards = {g for w in WORKFLOWS.values() for t in w.transitions for g in t.guards}
    effects = {e for w in WORKFLOWS.values() for t in w.transitions for e in t.effects}
    selectors = {t.when for w in WORKFLOWS.values() for t in w.transitions if t.when}
    engine = Engine(guards, effects, selectors)
    n = 5000

    def moves():
        for _ in range(n):
            engine.select("application", "submit", "draft", {})
            engine.move("application", "draft", "submit", {})

    seconds = median_of(moves)
    return ("workflow fire overhead without the database", f"{seconds / n * 1e6:.1f} µs per trigger", "< 100 µs")


def main() -> None:
    rows = [bench_ranking(), bench_engine()]
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'measured':>22}  bar")
    for what, measured, bar in rows:
        print(f"{what:<{width}}  {measured:>22}  {bar}")
    print("\nNot yet measured here: the 10,000-application list page, submit with 10,000 rows, the deadline surge "
          "through gunicorn, 1,000 letters/s (see the issue notes).")


if __name__ == "__main__":
    main()
