"""Scoring one application loads that application's reviews, not every application of its call."""
from __future__ import annotations

from contextlib import contextmanager
from fractions import Fraction

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Application
from app.services import scoring
from tests import factories

pytestmark = pytest.mark.postgres


@contextmanager
def applications_loaded():
    """Counts the Application rows the ORM builds from query results while the block runs."""
    loaded: list[int] = []

    def on_load(target, _context):
        loaded.append(target.id)

    event.listen(Application, "load", on_load)
    try:
        yield loaded
    finally:
        event.remove(Application, "load", on_load)


def test_aggregate_and_divergence_of_one_application_load_only_it(app, db_backend):
    applications = factories.make_applications(None, ["reviewed"] * 6,
                                               scores=[8, 6, 7, 5, 9, 10])
    target = applications[2]
    db.session.commit()
    target_id = target.id
    db.session.expunge_all()
    target = db.session.get(Application, target_id)

    with applications_loaded() as loaded:
        aggregate = scoring.aggregate_for(target)
        divergent = scoring.is_divergent(target)

    assert set(loaded) <= {target_id}
    # every review of this application gave 7 half-points on each of the call's five criteria
    assert aggregate.per_criterion == {c.code: Fraction(7) for c in target.call.criteria}
    assert aggregate.total == Fraction(35)
    assert divergent is False
