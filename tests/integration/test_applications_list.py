"""The admin's list of a call's applications: filters, search with Latvian letters, sorting, keyset pages, the CSV,
and a bounded number of queries (DESIGN 6.2, issue 6)."""
from __future__ import annotations

import base64
import csv
import io
import json
import re
from html import unescape

import pytest

from app.extensions import db
from app.services import applications_list
from tests.factories import admin_of, login_as
from tests.integration.test_query_counts import counting

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]

# (title, summary, organisation, address): what each application of the call is, set after the real submissions
ROWS = [
    ("Āra spēles jauniešiem", "Pārgājieni un orientēšanās mežā.", "Biedrība Zaļā Ozols", "Skolas iela 1, Ādažu novads"),
    ("Bērnu teātris", "Šūšanas darbnīca un tērpi izrādei.", "Biedrība Alfa", "Lielā iela 3, Jelgavas novads"),
    ("Digitālās prasmes", "Programmēšana iesācējiem.", "Nodibinājums Bravo", "Rīgas iela 5, Ogres novads"),
    ("Kino klubs", "Filmu vakari un diskusijas.", "Biedrība Čaika", "Pasta iela 7, Jelgavas novads"),
]


@pytest.fixture
def listed(make_call, make_applications):
    """A call with four submitted applications (one in clarification, one withdrawn), each its own organisation."""
    call = make_call(state="announced", when="past")
    made = make_applications(call, ["submitted", "clarification", "submitted", "withdrawn"])
    for application, (title, summary, name, address) in zip(made, ROWS):
        application.title = title
        application.content = {**application.content, "summary": summary}
        application.organisation.name = name
        application.organisation.address = address
        application.organisation.municipality = address.split(", ")[1]  # as chosen from the list of 43
    db.session.commit()
    return call, made


def numbers(body: str) -> list[str]:
    """The application numbers of the list's rows, in the order shown."""
    return re.findall(r'<a href="/admin/applications/\d+">([^<]+)</a>', body)


def page(client, call, **args) -> str:
    response = client.get(f"/admin/calls/{call.id}/applications", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def admin_client(client, listed):
    call, _made = listed
    login_as(client, admin_of(call))
    return client


# --- filters and search -------------------------------------------------------------------------------------------

def test_the_state_filter_lists_that_state_only(admin_client, listed):
    call, made = listed
    assert numbers(page(admin_client, call, status="submitted")) == [made[0].number, made[2].number]
    assert numbers(page(admin_client, call, status="withdrawn")) == [made[3].number]
    assert numbers(page(admin_client, call, status="nonsense")) == [a.number for a in made]  # no such state: all


@pytest.mark.parametrize(("chosen", "rows"), [("Jelgavas novads", [1, 3]), ("Ādažu novads", [0]), ("Liepāja", []),
                                              ("Jelgavas", [0, 1, 2, 3]), ("novads", [0, 1, 2, 3])])
def test_the_municipality_filter_matches_the_municipality_the_organisation_chose(admin_client, listed, chosen, rows):
    """One of the 43 municipalities, matched exactly; anything else (part of a name, an address word) is no filter."""
    call, made = listed
    assert numbers(page(admin_client, call, municipality=chosen)) == [made[i].number for i in rows]


def test_an_organisation_without_a_chosen_municipality_is_in_no_municipalitys_list(admin_client, listed):
    call, made = listed
    made[1].organisation.municipality = None  # its address still says "Jelgavas novads"
    db.session.commit()
    assert numbers(page(admin_client, call, municipality="Jelgavas novads")) == [made[3].number]


def test_the_filter_offers_the_municipalities_in_the_readers_language(admin_client, listed):
    call, _made = listed
    body = page(admin_client, call, municipality="Ādažu novads")
    assert '<option value="Ādažu novads" selected>Ādažu novads</option>' in body
    assert body.count("<option value=") == 44  # "any" and the 43 municipalities


@pytest.mark.parametrize(("typed", "rows"), [("bravo", [2]), ("biedrība", [0, 1, 3]), ("ČAIKA", [3]),
                                             ("zaļā", [0]), ("%", []), ("_", [])])
def test_the_organisation_filter_matches_part_of_the_name(admin_client, listed, typed, rows):
    call, made = listed
    assert numbers(page(admin_client, call, organisation=typed)) == [made[i].number for i in rows]


@pytest.mark.parametrize(("typed", "rows"), [
    ("āra", [0]), ("ĀRA SPĒLES", [0]), ("spēl", [0]),      # the title, any case, a word's beginning
    ("šūšanas", [1]), ("ŠŪŠANAS darbnīca", [1]),             # the summary
    ("programmēšana iesācējiem", [2]), ("kino filmu", [3]),  # every word, in the title or the summary
    ("teātris kino", []), ("zzz", []), ("& | ! :*", [0, 1, 2, 3]),  # tsquery operators are no words: no search
])
def test_the_search_finds_titles_and_summaries_with_latvian_letters(admin_client, listed, typed, rows):
    call, made = listed
    assert numbers(page(admin_client, call, q=typed)) == [made[i].number for i in rows]


def test_filters_combine_and_the_state_counts_follow_the_other_filters(admin_client, listed):
    call, made = listed
    body = page(admin_client, call, municipality="Jelgavas novads", status="clarification")
    assert numbers(body) == [made[1].number]
    pills = re.findall(r'<a class="nav-link[^"]*"[^>]*href="([^"]+)">[^<]+<span class="badge[^"]*">(\d+)</span>', body)
    # All (2: the Jelgava ones), then clarification 1 and withdrawn 1; the other states have no Jelgava row
    assert sorted(int(count) for _href, count in pills) == [1, 1, 2] and int(pills[0][1]) == 2
    assert all("municipality=Jelgavas+novads" in unescape(href) for href, _count in pills)  # the pills keep the filter


# --- sorting -------------------------------------------------------------------------------------------------------

# Text sorts in code-point order here (SQLite, and the C.UTF-8-collated test database): 'Ā' and 'Č' come after
# every ASCII letter. A database collated lv_LV would place them by the Latvian alphabet.
@pytest.mark.parametrize(("sort", "ascending"), [
    ("title", [1, 2, 3, 0]),          # Bērnu, Digitālās, Kino, Āra
    ("organisation", [1, 0, 3, 2]),   # Biedrība Alfa, Biedrība Zaļā Ozols, Biedrība Čaika, Nodibinājums Bravo
    ("number", [0, 1, 2, 3]),
    ("submitted", [0, 1, 2, 3]),
    ("amount", [0, 1, 2, 3]),         # every amount 4 600,00 €: ties broken by id
    ("state", [1, 0, 2, 3]),          # clarification, submitted, submitted, withdrawn
])
def test_sorting_both_ways(admin_client, listed, sort, ascending):
    call, made = listed
    expected = [made[i].number for i in ascending]
    assert numbers(page(admin_client, call, sort=sort)) == expected
    assert numbers(page(admin_client, call, sort=sort, dir="desc")) == list(reversed(expected))


def test_an_unknown_sort_is_the_default_order(admin_client, listed):
    call, made = listed
    assert numbers(page(admin_client, call, sort="password_hash")) == [a.number for a in made]


# --- keyset pages --------------------------------------------------------------------------------------------------

def link(body: str, rel: str) -> str | None:
    found = re.search(rf'<a class="page-link" rel="{rel}" href="([^"]+)"', body)
    return unescape(found.group(1)) if found else None


@pytest.fixture
def many(make_call, make_applications, client, monkeypatch):
    """A call of 11 submitted applications shown 3 to a page."""
    monkeypatch.setattr(applications_list, "PER_PAGE", 3)
    call = make_call(state="announced", when="past")
    made = make_applications(call, ["submitted"] * 11)
    for index, application in enumerate(made):  # titles whose order differs from the submission order
        application.title = f"Projekts {(index * 7) % 11:02d}"
    db.session.commit()
    login_as(client, admin_of(call))
    return call, made


@pytest.mark.parametrize(("args", "key"), [({}, None), ({"sort": "title", "dir": "desc"}, "title"),
                                           ({"sort": "organisation"}, "organisation")])
def test_walking_every_page_forward_and_back_shows_each_row_once_in_order(client, many, args, key):
    call, made = many
    if key == "title":
        expected = [a.number for a in sorted(made, key=lambda a: a.title, reverse=True)]
    elif key == "organisation":
        expected = [a.number for a in sorted(made, key=lambda a: (a.organisation.name.encode(), a.id))]
    else:
        expected = [a.number for a in made]

    body = page(client, call, **args)
    assert link(body, "prev") is None and link(body, "next")
    forward = numbers(body)
    while (following := link(body, "next")) is not None:
        body = client.get(following).get_data(as_text=True)
        forward += numbers(body)
    assert forward == expected

    body = client.get(link(page(client, call, **args), "last")).get_data(as_text=True)
    backward = [numbers(body)]
    assert link(body, "next") is None
    while (preceding := link(body, "prev")) is not None:
        body = client.get(preceding).get_data(as_text=True)
        backward.insert(0, numbers(body))
    assert [n for chunk in backward for n in chunk] == expected
    assert [len(chunk) for chunk in backward] == [2, 3, 3, 3]  # the last page is full, the first holds the rest


def _token(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "!!!not base64!!!", "eyJ", base64.urlsafe_b64encode(b"\xff\xfe").decode(), _token("submitted"),
    _token("submitted", False, "after", 12, 3),                      # a number where a time belongs
    _token("submitted", False, "after", "2026-01-01T00:00:00", 3),    # a time without its zone
    _token("submitted", False, "after", "2026-01-01T00:00:00+00:00", "3"),
    _token("submitted", False, "sideways", "2026-01-01T00:00:00+00:00", 3),
    _token("title", False, "after", "Projekts 05", 3),               # another sort's cursor
    _token("submitted", True, "after", "2026-01-01T00:00:00+00:00", 3),  # another direction's cursor
    "A" * 5000,
])
def test_a_tampered_cursor_shows_the_first_page(client, many, cursor):
    call, made = many
    response = client.get(f"/admin/calls/{call.id}/applications", query_string={"cursor": cursor})
    assert response.status_code == 200
    assert numbers(response.get_data(as_text=True)) == [a.number for a in made[:3]]


# --- the CSV -------------------------------------------------------------------------------------------------------

def test_the_csv_holds_every_filtered_row_with_latvian_letters(admin_client, listed):
    call, made = listed
    response = admin_client.get(f"/admin/calls/{call.id}/applications.csv",
                                query_string={"sort": "title", "dir": "desc"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM, so that Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["number", "organisation", "registration_number", "address", "title", "state", "state_label",
                       "submitted_at_riga", "amount_eur"]
    by_title_desc = [made[0], made[3], made[2], made[1]]  # Āra…, Kino…, Digitālās…, Bērnu… (byte order)
    assert [r[0] for r in rows[1:]] == [a.number for a in by_title_desc]
    first = rows[1]
    assert first[1:5] == ["Biedrība Zaļā Ozols", made[0].organisation.registration_number,
                          "Skolas iela 1, Ādažu novads", "Āra spēles jauniešiem"]
    assert first[5] == "submitted"
    assert first[8] == "4600.00"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[23]:00", first[7])  # Riga time with its offset
    withdrawn = next(r for r in rows if r[0] == made[3].number)
    assert withdrawn[5] == "withdrawn"


def test_the_csv_follows_the_search_and_the_state(admin_client, listed):
    call, made = listed
    body = admin_client.get(f"/admin/calls/{call.id}/applications.csv",
                            query_string={"q": "ŠŪŠANAS", "status": "clarification"}).get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert [r[0] for r in rows[1:]] == [made[1].number]
    assert rows[1][4] == "Bērnu teātris"


def test_the_csv_of_another_organisers_call_is_not_found(client, listed, make_call):
    call, _made = listed
    stranger = make_call(state="announced", when="past")  # another organiser's call
    login_as(client, admin_of(stranger))
    assert client.get(f"/admin/calls/{call.id}/applications.csv").status_code == 404


# --- queries -------------------------------------------------------------------------------------------------------

QUERY_ARGS = [{}, {"status": "submitted"}, {"q": "projekts"}, {"organisation": "biedrība", "municipality": "Jelgavas novads"},
              {"sort": "organisation", "dir": "desc"}]


def test_the_page_issues_the_same_few_queries_for_3_rows_and_30(client, make_call, make_applications):
    few = make_call(state="announced", when="past")
    admin = admin_of(few)
    many = make_call(state="announced", when="past", organiser=few.organiser, admin=admin)
    for call, size in ((few, 3), (many, 30)):
        for application in make_applications(call, ["submitted"] * size):
            assert "Projekts" in application.title
    login_as(client, admin)
    for args in QUERY_ARGS:
        counts = []
        for call, size in ((few, 3), (many, 30)):
            url = f"/admin/calls/{call.id}/applications"
            client.get(url, query_string=args)  # warm-up
            with counting() as statements:
                body = client.get(url, query_string=args).get_data(as_text=True)
            assert len(numbers(body)) == size, args
            counts.append(len(statements))
        assert counts[0] == counts[1], (args, counts)
        assert counts[1] <= 8, (args, counts)
