"""Two-factor sign-in in a real browser: an admin's first sign-in takes them to the enrolment (the QR code drawn,
with no CSP violation), then the recovery codes; the next sign-in asks the authenticator's code."""
from __future__ import annotations

from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import translator


def test_an_admin_enrols_at_the_first_sign_in_then_signs_in_with_the_code(live_server, visitor):
    server = live_server()
    with server.db() as session:
        email = factories.make_user("admin", language="lv").email
        session.commit()
    _ = translator("lv")
    person = visitor(server, "lv", "admin-two-factor")
    page = person.page
    person.goto("/login")
    person.switch_language()
    form = page.locator("main form")
    form.locator("[name=email]").fill(email)
    form.locator("[name=password]").fill(factories.TEST_PASSWORD)
    person.submit(form.locator("button"))

    # the enrolment, and nothing else until it is done
    assert page.url.endswith("/account/two-factor/setup")
    expect(page.locator("h1")).to_have_text(_("Set up two-factor sign-in"))
    qr = page.locator("svg.totp-qr")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 150
    person.shot("two-factor-setup")
    person.goto("/admin/")
    assert page.url.endswith("/account/two-factor/setup")
    person.pass_two_factor(email)  # the key read off the page, its code, past the ten recovery codes
    expect(page.locator("h1")).to_have_text(_("Calls"))

    # the next sign-in: the password, then the code
    person.submit(page.locator("nav form button.btn-light"))
    form = page.locator("main form")
    person.goto("/login")
    form.locator("[name=email]").fill(email)
    form.locator("[name=password]").fill(factories.TEST_PASSWORD)
    person.submit(form.locator("button"))
    assert page.url.endswith("/login/code")
    expect(page.locator("h1")).to_have_text(_("Two-factor sign-in"))
    person.shot("two-factor-code")
    person.pass_two_factor(email)
    expect(page.locator("h1")).to_have_text(_("Calls"))
    assert person.problems == [], person.problems
    server.assert_healthy()
