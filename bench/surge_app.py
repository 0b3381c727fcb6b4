"""The app as gunicorn serves it for the deadline-surge benchmark, plus the bare endpoint it is compared with.

`gunicorn bench.surge_app:app` with BENCH_SURGE_DATABASE_URL, BENCH_SURGE_SECRET and BENCH_SURGE_UPLOAD_DIR set
(bench/surge.py starts it). The production configuration, except CSRF (the load generator posts no form tokens)
and the secret (the generator signs its session cookies with it).
"""
from __future__ import annotations

import os

from sqlalchemy import text

from app import create_app
from app.extensions import csrf, db

app = create_app("production", SQLALCHEMY_DATABASE_URI=os.environ["BENCH_SURGE_DATABASE_URL"],
                 SECRET_KEY=os.environ["BENCH_SURGE_SECRET"], UPLOAD_DIR=os.environ["BENCH_SURGE_UPLOAD_DIR"],
                 WTF_CSRF_ENABLED=False, SESSION_COOKIE_SECURE=False, MAIL_SERVER="",
                 PUBLIC_BASE_URL="https://bench.invalid")


@app.post("/bench/bare")
@csrf.exempt
def bare():
    """The floor to compare with: one request, one transaction, one inserted row."""
    db.session.execute(text("INSERT INTO bench_rows (note) VALUES (:note)"), {"note": "bare"})
    db.session.commit()
    return "", 204
