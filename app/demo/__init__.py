"""The demo (DESIGN 7): four calls of Jelgavas novada pašvaldība, replayed through the real services.

Nothing here sets a state by hand. Every move goes through `fire` (or a service that calls it), with the clock
moved by `app.clock.travel_to` to the moment the step happened, so each state change has its audit event at the
time it would have been recorded:

1. PMP-2022, the 2022 competition, replayed from the announcement to completion: funded, reserve, rejected,
   ineligible and declined applications, a clarification, an appeal, a promotion from the reserve list,
   agreements, payments, interim and final reports, closed grants.
2. PMP-<year>, the same competition this year, open now, with drafts and two submissions.
3. PMP-<year>-R, a second round that closed last week: checked and in evaluation, reviews partly done, one
   divergence flagged and a third evaluator assigned by the `flag_divergence` effect.
4. JIB-<year>, a budgeted call open now: cost categories (two capped), one application submitted with its budget
   table and one draft with a budget (app/demo/budgeted.py).

`load_demo()` is idempotent: a call whose code already exists is left alone, people are found by e-mail.
Documents and e-mails are only queued here; the worker renders and sends them later. The one exception is the
agreement of an offer accepted here: it is rendered just before (as the worker would have done), since only a
fixed PDF can be accepted and its SHA-256 recorded.
"""
from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.demo.budgeted import budgeted_call
from app.demo.competition_2022 import competition_2022
from app.demo.current_year import open_call, second_round
from app.demo.people import PASSWORD, gather_people, logins
from app.extensions import db
from app.models import Call
from app.services import audit

__all__ = ["PASSWORD", "load_demo"]


def call_exists(code: str) -> bool:
    return db.session.scalar(select(Call.id).where(Call.code == code)) is not None


def load_demo() -> list[tuple[str, str, str]]:
    """Load the demo calls (each only if its code is not there yet) and return the logins."""
    today = clock.to_riga(clock.now()).date()
    year = today.year
    # The second round runs before this year's main call because it began earlier (seven weeks ago).
    scenarios = (("PMP-2022", competition_2022),
                 (f"PMP-{year}-R", lambda people: second_round(people, today, year)),
                 (f"PMP-{year}", lambda people: open_call(people, today, year)),
                 (f"JIB-{year}", lambda people: budgeted_call(people, today, year)))
    try:
        people = gather_people()
        for code, scenario in scenarios:
            if not call_exists(code):
                scenario(people)
                db.session.commit()
        clock.travel_to(None)
        audit.seal_checkpoint()  # as `tick` does; nothing is sealed when nothing happened since the last seal
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        clock.travel_to(None)
    return logins()
