"""Decision letters for the benchmark, in worker processes of their own (spawned: the functions must live in an
importable module, not in `bench.__main__`)."""
from __future__ import annotations

_APP = None


def letter_context(i: int) -> dict:
    outcome = ("funded", "reserve", "rejected")[i % 3]
    return {"outcome": outcome, "number": f"PMP-2022-{i + 1:03d}",
            "title": f"Jauniešu iniciatīva „Pumpurs {i}” — ā č ē ģ ī ķ ļ ņ š ū ž",
            "organisation": f"Biedrība „Jauniešu centrs {i}”", "call_title": "Priekšlaicīgas mācību pārtraukšanas "
            "riska jauniešu iesaiste jaunatnes iniciatīvu projektos 2022", "organiser": "Jelgavas novada pašvaldība",
            "call_code": "PMP-2022", "date": "06.05.2022", "amount": "4 600,00 €" if outcome == "funded" else "0,00 €",
            "rank": i % 40 + 1, "total": f"{30 + i % 20}", "appeal_days": 30}


def worker_start(upload_dir: str) -> None:
    global _APP
    from app import create_app

    _APP = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", UPLOAD_DIR=upload_dir)
    _APP.app_context().push()
    render_letter(0)  # warm-up: fonts, templates, WeasyPrint's caches


def render_letter(i: int) -> int:
    from app import documents

    pdf = documents.render("letter", letter_context(i), "lv" if i % 2 == 0 else "en")
    assert pdf.startswith(b"%PDF")
    return len(pdf)


def resident_kib(_i: int = 0) -> tuple[int, int]:
    """(pid, resident memory in KiB) of this worker process."""
    import os
    import time

    time.sleep(0.05)  # let the other worker take the next item: each answers for itself
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return os.getpid(), kib
