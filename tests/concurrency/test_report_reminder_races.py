"""Two `tick`s at once over a report that is due soon (issue 8): the NGO is reminded once, not twice. Without the
unique ReportReminder row both ticks read "not reminded yet" and both write a message."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Message, ReportReminder
from app.services.clockwork import tick
from tests import factories as f
from tests.factories import member_of, riga

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def test_two_ticks_at_once_remind_of_a_report_once(app, clock, race):
    report = f.make_report("draft")
    member_id, report_id, due = member_of(report.application).id, report.id, report.due_on
    clock.travel_to(riga(due.year, due.month, due.day) - timedelta(days=3))

    outcome = race(*[lambda: tick().report_reminders] * 4)

    assert sorted(len(o.value) for o in outcome.outcomes) == [0, 0, 0, 1]
    assert db.session.scalar(select(func.count(Message.id)).where(
        Message.user_id == member_id, Message.entity_type == "report", Message.entity_id == report_id)) == 1
    assert db.session.execute(select(ReportReminder.kind).where(
        ReportReminder.report_id == report_id)).scalars().all() == ["before"]
