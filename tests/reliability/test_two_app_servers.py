"""Two application servers on one database (issue 9, reliability suite): two gunicorn masters on two loopback
ports, the production configuration with the same SECRET_KEY, database and UPLOAD_DIR, behind a client that sends
each request to the other one (a round-robin balancer without sticky sessions). An NGO member logs in, uploads an
attachment, downloads it, submits, opens the receipt PDF, switches language and logs out, every step answered by
the server that did not answer the one before; then someone guesses passwords at both. Whatever lives in one
process or on one disk (sessions, the CSRF secret, files, rendered documents, the login throttle) breaks a step.
"""
from __future__ import annotations

import hashlib
import io
import os
import re

import pytest
from pypdf import PdfReader

from app.extensions import db
from tests import factories
from tests.reliability import servers

pytestmark = pytest.mark.postgres

# a real (tiny) PDF: recognised by its content, as the upload demands
ATTACHMENT = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
              b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _form_token(answer: servers.Answer) -> str:
    assert answer.status == 200, (answer.status, answer.text[:300])
    return servers.csrf_token(answer.text)


def test_a_member_works_through_two_servers_alternately(scenario_database, shared_uploads, app_on, tmp_path):
    app = app_on(scenario_database, shared_uploads)
    with app.app_context():
        call = factories.make_call(state="open")
        draft = factories.make_application(call, state="draft")
        member = factories.member_of(draft)
        draft_id, email, title = draft.id, member.email, draft.title
        db.session.commit()
        db.session.remove()

    secret = os.urandom(32).hex()  # production: the same SECRET_KEY on every server, from its environment
    one, two = (servers.Gunicorn(scenario_database, secret=secret, upload_dir=shared_uploads, log_dir=str(tmp_path),
                                 workers=2) for _ in range(2))
    try:
        one.start(), two.start()
        one.wait_ready(), two.wait_ready()
        browser = servers.Browser([one.port, two.port])

        # log in: the form from one server, posted to the other (the CSRF token and the session travel)
        token = _form_token(browser.get("/login"))
        logged_in = browser.post("/login", {"csrf_token": token, "email": email,
                                            "password": factories.TEST_PASSWORD})
        assert logged_in.status == 302 and "/login" not in logged_in.location, logged_in.text[:300]
        home = browser.get("/apply/")
        assert home.status == 200 and title in home.text
        cookie_while_logged_in = dict(browser.cookies)

        # upload on one, see it listed and download it from the other
        page = browser.get(f"/apply/applications/{draft_id}/attachments")
        uploaded = browser.post_file(f"/apply/applications/{draft_id}/attachments",
                                     {"csrf_token": _form_token(page), "type_id": "other"},
                                     "file", "Tāme.pdf", ATTACHMENT, "application/pdf")
        assert uploaded.status == 302, uploaded.text[:300]
        listed = browser.get(f"/apply/applications/{draft_id}/attachments")
        links = re.findall(r'class="attachment-name" href="(/attachments/\d+)">([^<]+)<', listed.text)
        assert [name for _link, name in links] == ["Tāme.pdf"], listed.text[:500]
        for port in (one.port, two.port):
            downloaded = browser.get(links[0][0], port=port)
            assert downloaded.status == 200 and downloaded.body == ATTACHMENT
            assert downloaded.headers["x-content-sha256"] == hashlib.sha256(ATTACHMENT).hexdigest()

        # submit on one (the form's token from the other), the receipt on the other
        check = browser.get(f"/apply/applications/{draft_id}/check")
        submitted = browser.post(f"/apply/applications/{draft_id}/submit",
                                 {"csrf_token": _form_token(check), "confirmed": "1"})
        assert submitted.status == 302 and submitted.location.endswith(f"/applications/{draft_id}/receipt"), (
            submitted.status, submitted.location)
        receipt = browser.get(f"/apply/applications/{draft_id}/receipt")
        assert receipt.status == 200
        number = re.search(r'class="application-number">([^<]+)<', receipt.text).group(1)
        document = re.search(r'href="(/documents/\d+)"', receipt.text).group(1)

        # the receipt PDF from both: rendered once (at the first download), the same bytes from either
        pdfs = [browser.get(document, port=port) for port in (one.port, two.port, one.port)]
        assert [p.status for p in pdfs] == [200, 200, 200]
        assert pdfs[0].body == pdfs[1].body == pdfs[2].body and pdfs[0].body.startswith(b"%PDF")
        assert len({p.headers["x-content-sha256"] for p in pdfs}) == 1
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdfs[0].body)).pages)
        assert number in text and "Tāme.pdf" in text

        # the language chosen on one server is the one the other speaks
        token = _form_token(browser.get("/apply/"))
        assert browser.post("/language", {"csrf_token": token, "lang": "en"}).status == 302
        assert "My applications" in browser.get("/apply/").text

        # logging out on one ends the session on the other, even for a copy of the old cookie
        token = _form_token(browser.get("/apply/"))
        assert browser.post("/logout", {"csrf_token": token}).status == 302
        after = browser.get("/apply/")
        assert after.status == 302 and "/login" in after.location
        browser.cookies = cookie_while_logged_in
        for port in (one.port, two.port):
            replayed = browser.get("/apply/", port=port)
            assert replayed.status == 302 and "/login" in replayed.location, replayed.status

        # the login throttle counts the failures both servers saw: 10 wrong passwords from one address, 5 on each,
        # and the right one is refused too (10 free failures per address; per server, 5 would be far from them)
        guesser = servers.Browser([one.port, two.port])
        token = _form_token(guesser.get("/login"))
        address = {"X-Forwarded-For": "203.0.113.7"}  # the one proxy hop the production configuration trusts
        for attempt in range(10):
            wrong = guesser.post("/login", {"csrf_token": token, "email": email, "password": f"nepareiza-{attempt}"},
                                 headers=address)
            assert wrong.status == 200, (attempt, wrong.status, wrong.location)  # the form again, told why
        right = guesser.post("/login", {"csrf_token": token, "email": email, "password": factories.TEST_PASSWORD},
                             headers=address)
        assert right.status == 200, (right.status, right.location)  # not the 302 into the account
        assert set(browser.served_by) == {one.port, two.port} and set(guesser.served_by) == {one.port, two.port}
    finally:
        one.stop()
        two.stop()
