"""The score sheet in a real browser (app/static/score_sheet.js): the slider bound to the number, "not applicable",
the running total and the pass state as the evaluator types, with no CSP violation; then the server's own figures
after saving agree with what the page showed.

The call: criteria 2.1–2.3 of 0–5 points in steps of 0,5 (2.1 needs at least 3), pass mark 9 points.
"""
from __future__ import annotations

from tests import factories
from tests.e2e.conftest import SHOTS  # noqa: F401  (screenshots land there)


def _world(server):
    with server.db() as session:
        call = factories.make_call("announced", when="past", criteria=3)
        application = factories.make_application(call, "in_review")
        evaluator = factories.make_user("evaluator", language="lv")
        assignment = factories.make_assignment("accepted", application=application, evaluator=evaluator)
        ids = {c.code: c.id for c in call.criteria}
        session.commit()
        return assignment.id, evaluator.email, ids


def test_the_total_and_pass_state_follow_the_typing(live_server, visitor):
    server = live_server()
    assignment_id, email, ids = _world(server)
    person = visitor(server, "lv", "evaluator")
    person.login(email, factories.TEST_PASSWORD)
    person.goto(f"/evaluate/assignments/{assignment_id}")
    page = person.page
    total, verdict = page.locator("#sheet-total"), page.locator("#sheet-pass")
    assert total.inner_text() == "0"

    page.fill(f"#score_{ids['2.1']}", "2.5")
    page.fill(f"#score_{ids['2.2']}", "4")
    page.fill(f"#score_{ids['2.3']}", "3.5")
    assert total.inner_text() == "10"  # 2,5 + 4 + 3,5
    assert "2.1" in verdict.inner_text() and verdict.inner_text().startswith("Neatbilst")  # below 2.1's minimum

    slider = page.locator("fieldset[data-code='2.1'] input.score-slider")
    slider.fill("3")  # the slider moves the number with it
    assert page.input_value(f"#score_{ids['2.1']}") == "3"
    assert total.inner_text() == "10,5" and verdict.inner_text().startswith("Atbilst")

    page.check(f"#na_{ids['2.3']}")  # not applicable: the number is out of the total, and 2.1 still passes
    assert page.is_disabled(f"#score_{ids['2.3']}")
    assert total.inner_text() == "7" and "9" in verdict.inner_text()  # 3 + 4 = 7 < pass mark 9
    person.shot("score-sheet-typing")

    person.submit(page.locator("#score-sheet button.btn-primary"))  # save: the server works it out again
    assert page.locator("#sheet-total").inner_text() == "7"
    assert page.locator(f"#na_{ids['2.3']}").is_checked()
    person.shot("score-sheet-saved")
    assert person.problems == []
    server.assert_healthy()
