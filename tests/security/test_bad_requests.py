"""Odd but harmless requests to every route (DESIGN 6.2, bad input): never a 500, nothing written.

What a probe sends that no page of ours does, to every rule of `app.url_map`:
- an id past the database's integer range in each `<int:…>` segment: 2**31 overflows PostgreSQL's integer, 2**63
  SQLite's → 404, as for any id that names nothing;
- a NUL in each string segment (PostgreSQL refuses NUL in text, even to compare) → 404;
- to each POST route, with a valid CSRF token in the header: JSON bodies (objects, lists, numbers where text goes)
  → 400, the page that says nothing was changed;
- to each POST route, with the CSRF token: a form whose every field is a file, or is sent twice → never a 500;
  a file in a text field is 400;
- `?page=` past the end of every list → that list's last page.
Each request comes from the visitor the authorization matrix lets furthest into the route (the one whose request
reaches the database), on the matrix's world (SQLite, and PostgreSQL when TEST_DATABASE_URL is set), with CSRF on
as outside tests. The database is compared, every table and row, before and after each request.

Rules, subjects and the world come from tests/security/test_authorization_matrix.py: a route it has rows for is
probed here too; `test_every_route_is_probed` fails for one that is not.
"""
from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass

import pytest
from flask import url_for
from sqlalchemy import event
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter
from wtforms.fields.core import UnboundField

from app import create_app
from app.extensions import db
from app.forms import FlaskForm
from tests.conftest import BACKENDS, STUB_PDF, IsolatedClient
from tests.security.test_authorization_matrix import (EXPECTED, SESSION_POSTS, SUBJECTS, World, become, build_world,
                                                      changed_tables, database, snapshot, target_of)

TRACEBACK = "Traceback (most recent call last)"
HUGE_IDS = (2**31, 2**63)
NULS = ("\x00", "a\x00b")


@pytest.fixture(autouse=True)
def _no_diagrams(monkeypatch):
    """The process diagrams are drawn on many pages and depend on nothing a probe sends."""
    from workflows import diagram

    monkeypatch.setattr(diagram, "to_svg", lambda *args, **kwargs: "<svg></svg>")


# --- the site: the matrix's world, with CSRF on --------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    body: str
    changed: list[str]


class Site:
    def __init__(self, flask_app, world: World):
        self.app, self.world = flask_app, world
        self.clients, self.tokens = {}, {}
        for subject in (*SUBJECTS, "programme"):
            self.clients[subject] = flask_app.test_client()
            self.log_in(subject)

    def log_in(self, subject: str) -> None:
        """The subject's browser, logged in afresh, with the CSRF token a page of ours gives it."""
        client = self.clients[subject]
        become(client, self.world.users.get(subject))
        found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True))
        assert found, "the home page has no CSRF token"
        self.tokens[subject] = found.group(1)

    def ask(self, subject: str, method: str, url: str, endpoint: str, **kwargs) -> Answer:
        before = snapshot()
        response = self.clients[subject].open(url, method=method, **kwargs)
        if endpoint in SESSION_POSTS:  # a logout, a login or a language switch: the browser as it was
            self.log_in(subject)
        return Answer(response.status_code, response.get_data(as_text=True), changed_tables(before, snapshot()))

    def url(self, endpoint: str, target: str = "main", **values) -> str:
        rule = self.rule(endpoint)
        params = self.world.params
        values = {name: values.get(name, params[target].get(name, params["main"].get(name)))
                  for name in rule.arguments}
        with self.app.test_request_context():
            return url_for(endpoint, **values)

    def rule(self, endpoint: str):
        return next(r for r in self.app.url_map.iter_rules() if r.endpoint == endpoint)


@pytest.fixture(scope="module", params=BACKENDS)
def site(request, tmp_path_factory):
    from app import documents

    with database(request.param, tmp_path_factory) as url, pytest.MonkeyPatch.context() as patch:
        patch.setattr(documents, "render", lambda kind, context, language: STUB_PDF)
        flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, MAIL_SERVER="", MAIL_PORT=25,
                               UPLOAD_DIR=str(tmp_path_factory.mktemp("odd-uploads")), WTF_CSRF_ENABLED=True)
        flask_app.test_client_class = IsolatedClient
        context = flask_app.app_context()
        context.push()
        try:
            if url.startswith("sqlite"):
                event.listen(db.engine, "connect", lambda connection, _record: connection.execute(
                    "PRAGMA synchronous=OFF"))
            yield Site(flask_app, build_world())
        finally:
            db.session.remove()
            db.engine.dispose()
            context.pop()


# --- who asks: the visitor the matrix lets furthest in --------------------------------------------------------------

DEPTH = {400: 0, 200: 1, 302: 2}  # 400: the form was read and refused; 302: let in, then sent on


def reaching(key: tuple) -> str | None:
    """The visitor whose request gets furthest into the route (its form read, its objects loaded)."""
    statuses = EXPECTED.get(key) or {}
    if not any(statuses.get(s) in DEPTH for s in SUBJECTS):  # a route with rows only for named objects
        statuses = next((v for k, v in EXPECTED.items() if k[:2] == key and any(v.get(s) in DEPTH for s in SUBJECTS)),
                        statuses)
    reached = [s for s in SUBJECTS if statuses.get(s) in DEPTH]
    return min(reached, key=lambda s: DEPTH[statuses[s]]) if reached else None


# routes the matrix's nine visitors are all refused: only programme-level staff (the world's "programme" user)
PROGRAMME_LEVEL_ONLY = {"admin.programme_dashboard", "admin.programme_chart"}


def subject_for(endpoint: str, method: str) -> str:
    if endpoint in PROGRAMME_LEVEL_ONLY:
        return "programme"
    found = reaching((endpoint, method)) or reaching((endpoint, "POST")) or reaching((endpoint, "GET"))
    assert found, f"the matrix lets nobody reach {method} {endpoint}"
    return found


NUMBERS = (IntegerConverter,)
TEXTS = (UnicodeConverter, PathConverter)  # `<name>` and `<string:name>` are UnicodeConverter


def rules(site, kinds: tuple) -> list:
    """(rule, the names of its arguments of these converter kinds) for every rule with such an argument."""
    found = []
    for rule in site.app.url_map.iter_rules():
        names = [name for name, converter in rule._converters.items() if isinstance(converter, kinds)]
        if names:
            found.append((rule, names))
    return found


def _methods(rule) -> list[str]:
    return [m for m in ("GET", "POST") if m in rule.methods]


# What a refused request may still write: a login that fails is counted against its address and account, whatever
# was typed (issue 5, point 6).
MAY_WRITE = {"auth.login": {"login_attempts", "login_throttles"}}


def _checked(answer: Answer, what: str, endpoint: str = "") -> None:
    assert answer.status < 500 and TRACEBACK not in answer.body, f"{what}: {answer.status}\n{answer.body[:1500]}"
    written = set(answer.changed) - MAY_WRITE.get(endpoint, set())
    assert not written, f"{what} wrote to {sorted(written)}"


# --- ids and NULs in the address -------------------------------------------------------------------------------

def test_an_id_past_the_integer_range_names_nothing(site):
    """Every `<int:…>` segment of every rule, in turn, set to 2**31 and 2**63, the others naming real objects."""
    wrong, asked = [], 0
    for rule, names in rules(site, NUMBERS):
        for name in names:
            for huge in HUGE_IDS:
                url = site.url(rule.endpoint, **{name: huge})
                for method in _methods(rule):
                    subject = subject_for(rule.endpoint, method)
                    data = {"csrf_token": site.tokens[subject]} if method == "POST" else None
                    answer = site.ask(subject, method, url, rule.endpoint, data=data)
                    asked += 1
                    _checked(answer, f"{method} {url} as {subject}")
                    if answer.status != 404:
                        wrong.append(f"{method} {url} as {subject}: {answer.status}")
    assert asked > 40  # every rule with an id, both methods where it takes both
    assert not wrong, "\n".join(wrong)


def test_a_nul_in_the_address_names_nothing(site):
    """Every string (and path) segment of every rule, the static files' included."""
    wrong, asked = [], 0
    for rule, names in rules(site, TEXTS):
        for name in names:
            for nul in NULS:
                url = site.url(rule.endpoint, **{name: nul})
                assert "%00" in url
                for method in _methods(rule):
                    subject = "anonymous" if rule.endpoint.endswith("static") else subject_for(rule.endpoint, method)
                    data = {"csrf_token": site.tokens[subject]} if method == "POST" else None
                    answer = site.ask(subject, method, url, rule.endpoint, data=data)
                    asked += 1
                    _checked(answer, f"{method} {url} as {subject}")
                    if answer.status != 404:
                        wrong.append(f"{method} {url} as {subject}: {answer.status}")
    assert asked >= 10  # the calls' pages, starting an application, the static files
    assert not wrong, "\n".join(wrong)


# --- bodies no page sends ------------------------------------------------------------------------------------

def field_names(world: World) -> list[str]:
    """The name of every field of every form of the app, those built per call included."""
    names, classes = set(), [FlaskForm]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        names.update(name for name, value in vars(cls).items() if isinstance(value, UnboundField))
    for criterion_id in world.criteria_of_a:
        names.update({f"score_{criterion_id}", f"comment_{criterion_id}"})
    names.update({f"passed_{world.params['main']['check_id']}", f"reason_{world.params['main']['check_id']}"})
    return sorted(names - {"csrf_token"})


def post_keys(site) -> list[tuple]:
    """Every POST row of the matrix for a route the app has, each object it names."""
    posting = {rule.endpoint for rule in site.app.url_map.iter_rules() if "POST" in rule.methods}
    return sorted(key for key in EXPECTED if key[1] == "POST" and key[0] in posting)


def _lv(msgid: str) -> str:
    from tests.security.test_bad_input import _lv as latvian

    return latvian(msgid)


JSON_BODIES = {
    "objects": lambda names: {name: {"text": "x"} for name in names},
    "lists": lambda names: {name: ["1", 2] for name in names},
    "numbers": lambda names: {name: 1 for name in names},
    "a list": lambda names: [1, 2],
    "strings": lambda names: {name: "" for name in names},  # the values a form would have: JSON all the same
}


@pytest.mark.parametrize("shape", JSON_BODIES)
def test_a_json_body_is_refused_on_every_post_route(site, shape):
    """With a valid CSRF token (the header Flask-WTF reads), so the refusal is the body's."""
    names, wrong = field_names(site.world), []
    for key in post_keys(site):
        subject = reaching(key)
        if subject is None:
            continue
        url = site.url(key[0], target_of(key))
        answer = site.ask(subject, "POST", url, key[0], json=JSON_BODIES[shape](names),
                          headers={"X-CSRFToken": site.tokens[subject]})
        _checked(answer, f"POST {url} ({key[0]}) as {subject}")
        if answer.status != 400 or _lv("Nothing was changed. Go back, reload the page and try again.") not in \
                html.unescape(answer.body):
            wrong.append(f"POST {url} ({key[0]}) as {subject}: {answer.status}")
    assert not wrong, "\n".join(wrong)


def _files(names: list[str], token: str) -> dict:
    return {"csrf_token": token, **{name: (io.BytesIO(b"4600"), f"{name}.txt") for name in names}}


def _twice(names: list[str], token: str) -> MultiDict:
    return MultiDict([("csrf_token", token)] + [(name, value) for name in names for value in ("[]", "{}")])


@pytest.mark.parametrize("shape", ["files", "twice"])
def test_odd_form_values_on_every_post_route(site, shape):
    """Every field of every form sent as a file (a multipart upload), or sent twice. A form never takes a file in
    a text field: 400. Either way never a 500, and nothing written."""
    names, wrong = field_names(site.world), []
    for key in post_keys(site):
        subject = reaching(key)
        if subject is None:
            continue
        url = site.url(key[0], target_of(key))
        token = site.tokens[subject]
        body = _files(names, token) if shape == "files" else _twice(names, token)
        answer = site.ask(subject, "POST", url, key[0], data=body, content_type="multipart/form-data")
        _checked(answer, f"POST {url} ({key[0]}) as {subject}", key[0])
        if answer.status not in (200, 302, 400):
            wrong.append(f"POST {url} ({key[0]}) as {subject}: {answer.status}")
        elif shape == "files" and EXPECTED[key][subject] in (200, 400) and answer.status != 400:
            wrong.append(f"POST {url} ({key[0]}) as {subject}: {answer.status}, the form took the files")
    assert not wrong, "\n".join(wrong)


# --- pages past the end -------------------------------------------------------------------------------------------

PAGES = ("99999999999999999999", str(2**63), str(2**31), "4", "9" * 5000)
LISTS = [  # every paginated list: who reads it, and what its last (and only) page shows
    pytest.param("applicant.home", "applicant", lambda w: w.x_title, id="applicant.home"),
    pytest.param("evaluator.queue", "evaluator", lambda w: w.x_number, id="evaluator.queue"),
    pytest.param("admin.calls", "admin", lambda w: w.params["main"]["code"], id="admin.calls"),
    pytest.param("admin.call_applications", "admin", lambda w: w.x_number,
                 id="admin.call_applications"),
    pytest.param("admin.call", "admin", lambda w: 'class="table table-sm events"',
                 id="admin.call-events"),
]


@pytest.mark.parametrize(("endpoint", "subject", "shown"), LISTS)
def test_a_page_past_the_end_shows_the_last_page(site, endpoint, subject, shown):
    for page in PAGES:
        url = site.url(endpoint) + f"?page={page}"
        answer = site.ask(subject, "GET", url, endpoint)
        _checked(answer, f"GET {url[:80]} as {subject}")
        assert answer.status == 200, (url[:80], answer.status)
        assert shown(site.world) in answer.body, f"{url[:80]}: the last page does not show {shown(site.world)!r}"


# --- the walk covers the app --------------------------------------------------------------------------------------

def test_every_route_is_probed(site):
    """Every POST rule is posted to by someone it lets in, and every rule with an argument is probed."""
    from tests.security.test_authorization_matrix import assert_every_route_has_its_rows, registered_routes

    assert_every_route_has_its_rows(registered_routes(site.app))  # the probes and the CSRF walk read those rows
    posting = {rule.endpoint for rule in site.app.url_map.iter_rules() if "POST" in rule.methods}
    unreached = sorted(e for e in posting if not any(reaching(k) for k in EXPECTED if k[:2] == (e, "POST")))
    assert not unreached, ("POST routes nobody reaches in the EXPECTED table of "
                           "tests/security/test_authorization_matrix.py (no visitor gets 200, 302 or 400, so no "
                           f"probe and no CSRF check would reach the view): {unreached}")
    with_arguments = {rule.endpoint for rule in site.app.url_map.iter_rules() if rule.arguments}
    probed = {rule.endpoint for rule, _names in rules(site, NUMBERS + TEXTS)}
    assert with_arguments <= probed, f"arguments of a kind no probe sends: {sorted(with_arguments - probed)}"


# --- CSRF on every POST route -------------------------------------------------------------------------------------

# Views taken out of Flask-WTF's app-wide check, each because it checks the token itself (the test below proves it)
CHECKS_ITS_OWN_TOKEN = {"app.views.applicant.step_page"}  # keeps a post sent after the session ended


def test_every_post_route_refuses_a_post_without_its_csrf_token(site, monkeypatch):
    """Every POST row of the matrix, by the visitor it lets furthest in, with the body that would do harm (the
    matrix's ATTACKS, else an empty form): without a token, and with a token of another browser's session (what a
    forging site has), Flask-WTF refuses it (400, its CSRFError seen raised for that route) and nothing is written."""
    from flask import request
    from flask_wtf.csrf import CSRFError

    from app.extensions import csrf
    from tests.security.test_authorization_matrix import ATTACKS

    assert csrf._exempt_views <= CHECKS_ITS_OWN_TOKEN, (
        f"views exempt from CSRF: {sorted(csrf._exempt_views - CHECKS_ITS_OWN_TOKEN)}; a view that checks the token "
        "itself goes into CHECKS_ITS_OWN_TOKEN in tests/security/test_bad_requests.py")
    refused_by_csrf: list[str] = []
    protect = csrf.protect

    def watched(*args, **kwargs):
        try:
            return protect(*args, **kwargs)
        except CSRFError:
            refused_by_csrf.append(request.endpoint)
            raise

    monkeypatch.setattr(csrf, "protect", watched)
    views = {rule.endpoint: site.app.view_functions[rule.endpoint] for rule in site.app.url_map.iter_rules()}

    def own_check(endpoint: str) -> bool:
        return f"{views[endpoint].__module__}.{views[endpoint].__name__}" in CHECKS_ITS_OWN_TOKEN
    wrong, asked = [], 0
    before = snapshot()  # once for the whole walk: a refusal by the token runs no view
    for key in post_keys(site):
        subject = reaching(key) or "anonymous"
        stranger = "other_applicant" if subject != "other_applicant" else "applicant"
        url = site.url(key[0], target_of(key))
        for token in (None, site.tokens[stranger]):
            body = dict(ATTACKS[key](site.world)) if key in ATTACKS else {}
            body.pop("csrf_token", None)
            if token:
                body["csrf_token"] = token
            refused_by_csrf.clear()
            response = site.clients[subject].post(url, data=body, content_type="multipart/form-data")
            if key[0] in SESSION_POSTS:
                site.log_in(subject)
            answer = Answer(response.status_code, "", [])
            asked += 1
            what = f"POST {url} ({key[0]}) as {subject}, {'another session' + chr(39) + 's' if token else 'no'} token"
            # a view that checks the token itself may send a post it will not read on (X is submitted: to its
            # read-only page) before it looks at the token; wherever it reads the form, the token is checked
            sent_on = own_check(key[0]) and EXPECTED[key][subject] == 302 and answer.status == 302
            if not sent_on and (answer.status != 400 or refused_by_csrf != [key[0]]):
                wrong.append(f"{what}: {answer.status}, CSRF refusals {refused_by_csrf}")
    assert asked >= 2 * 100
    assert not wrong, "\n".join(wrong)
    assert changed_tables(before, snapshot()) == [], "posts without a valid token wrote"
