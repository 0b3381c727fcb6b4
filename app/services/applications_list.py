"""The admin's list of a call's applications: filters, search, sorting, keyset pages and the CSV of the list.

The view parses the query string into a `ListFilter` and an optional `Cursor`; `list_page` returns one page of
rows with the cursors of the pages around it, `csv_rows` every filtered row. Neither reads `request`.

Keyset pagination: a page is "the rows after (or before) this row" in the chosen order, never "skip n rows", so
the last page of 10,000 costs what the first costs. A cursor names the sort it belongs to, a direction and the
boundary row's sort value and id; it travels in the URL as base64url JSON. A cursor that does not decode, names
another sort or carries a value of the wrong type is ignored (the first page), never a 500. It needs no signature:
it only positions the page; every filter and the call's scope are applied again on the server.

Search. PostgreSQL: each word of the query as a prefix (`jaun` finds "jauniešu") in a 'simple' tsvector of the
title and the summary, with a GIN index on the same expression (migration a6e1c0de0002). The 'simple'
configuration lowercases but does not stem, which suits Latvian (PostgreSQL has no Latvian stemmer); pg_trgm was
not used because an extension lives in one schema of the database, and the test suite gives every run a schema of
its own. SQLite: each word as a substring of lower(title || summary), with a Python `lv_lower` registered on each
connection (app/database.py), because SQLite's own lower() and LIKE fold ASCII letters only.

Municipality: the one the organisation chose at registration or on its profile (app/municipalities.py), matched
exactly; an organisation that has not chosen one is in no municipality's list.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, literal_column, select, tuple_
from sqlalchemy.orm import contains_eager

from app import clock, municipalities
from app.extensions import db
from app.models import Application, Call, Organisation
from app.models.applications import SEARCH_DOCUMENT_SQL

PER_PAGE = 50
MAX_WORDS = 8
MAX_TEXT = 200

# the sort keys an admin may choose, each with its column and the JSON type of its cursor value
SORTS: dict[str, tuple[Any, type]] = {
    "submitted": (Application.submitted_at, datetime),
    "number": (Application.number, str),
    "title": (Application.title, str),
    "organisation": (Organisation.name, str),
    "amount": (Application.amount_cents, int),
    "state": (Application.status, str),
}
DEFAULT_SORT = "submitted"



@dataclass(frozen=True)
class ListFilter:
    """What the admin asked for: every field already checked (a state outside the list is no state)."""

    state: str | None = None
    municipality: str = ""
    organisation: str = ""
    search: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = False

    @classmethod
    def parse(cls, args: Mapping[str, str], states: list[str]) -> ListFilter:
        def words(name: str) -> str:
            return " ".join(str(args.get(name, "")).split())[:MAX_TEXT]

        state = args.get("status")
        sort = args.get("sort")
        municipality = words("municipality")
        return cls(state=state if state in states else None,
                   municipality=municipality if municipality in municipalities.KEYS else "",
                   organisation=words("organisation"), search=words("q"),
                   sort=sort if sort in SORTS else DEFAULT_SORT, descending=args.get("dir") == "desc")

    def query_args(self, **changes) -> dict[str, str]:
        """The filter as URL arguments, defaults left out; `changes` replace fields first."""
        chosen = replace(self, **changes)
        found = {"status": chosen.state or "", "municipality": chosen.municipality,
                 "organisation": chosen.organisation, "q": chosen.search,
                 "sort": "" if chosen.sort == DEFAULT_SORT else chosen.sort, "dir": "desc" if chosen.descending else ""}
        return {key: value for key, value in found.items() if value}

    @property
    def narrowed(self) -> bool:
        return bool(self.municipality or self.organisation or self.search)


@dataclass(frozen=True)
class Cursor:
    """A page boundary: the rows `after` or `before` (sort value, id) in the filter's order, or the `last` page."""

    sort: str
    descending: bool
    direction: str  # after, before, last
    value: Any = None
    id: int | None = None

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        raw = json.dumps([self.sort, self.descending, self.direction, value, self.id], separators=(",", ":"),
                         ensure_ascii=False)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str | None, chosen: ListFilter) -> Cursor | None:
        """The cursor in `token` if it is well formed and belongs to `chosen`'s order; else None (the first page)."""
        if not token or len(token) > 1000:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            sort, descending, direction, value, row_id = json.loads(raw.decode())
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
            return None
        if sort != chosen.sort or descending is not chosen.descending:
            return None
        if direction == "last":
            return cls(sort, descending, "last")
        if direction not in ("after", "before") or type(row_id) is not int:
            return None
        value = _typed(value, SORTS[sort][1])
        return None if value is None else cls(sort, descending, direction, value, row_id)


def _typed(value: Any, kind: type) -> Any:
    if kind is datetime:
        if not isinstance(value, str):
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo is not None else None
    return value if type(value) is kind else None


@dataclass
class ListPage:
    rows: list[Application]
    by_state: dict[str, int]  # counts per state under the filter's other conditions (the state pills)
    total: int  # rows under the whole filter
    first: bool  # no rows before this page
    last: bool  # no rows after it
    next: Cursor | None
    previous: Cursor | None
    last_cursor: Cursor


def _lower(column):
    """lower() that folds Latvian letters on both backends (SQLite's own folds ASCII only)."""
    return func.lv_lower(column) if db.session.get_bind().dialect.name == "sqlite" else func.lower(column)


def _conditions(call_id: int, chosen: ListFilter, *, with_state: bool = True) -> list:
    conditions = [Application.call_id == call_id, Application.status != "draft"]
    if with_state and chosen.state:
        conditions.append(Application.status == chosen.state)
    if chosen.municipality:
        conditions.append(Organisation.municipality == chosen.municipality)
    if chosen.organisation:
        conditions.append(_lower(Organisation.name).contains(chosen.organisation.lower(), autoescape=True))
    words = re.findall(r"\w+", chosen.search.lower())[:MAX_WORDS]
    if words and db.session.get_bind().dialect.name == "postgresql":
        query = " & ".join(f"{word}:*" for word in words)  # \w+ only: no tsquery operator can come in
        conditions.append(literal_column(SEARCH_DOCUMENT_SQL).op("@@")(
            func.to_tsquery(literal_column("'simple'::regconfig"), query)))
    elif words:
        document = _lower(Application.title + " " + func.coalesce(func.json_extract(Application.content,
                                                                                    "$.summary"), ""))
        conditions.extend(document.contains(word, autoescape=True) for word in words)
    return conditions


def _ordered(query: Select, chosen: ListFilter, reverse: bool) -> Select:
    column = SORTS[chosen.sort][0]
    descending = chosen.descending != reverse
    return query.order_by(*(c.desc() if descending else c.asc() for c in (column, Application.id)))


def _boundary(chosen: ListFilter, cursor: Cursor):
    """Rows strictly beyond the cursor in the direction of travel, as a row-value comparison the index can use."""
    column = SORTS[chosen.sort][0]
    key, bound = tuple_(column, Application.id), tuple_(bindparam(None, cursor.value, type_=column.type), cursor.id)
    forwards = (cursor.direction == "after") != chosen.descending
    return key > bound if forwards else key < bound


def list_page(call: Call, chosen: ListFilter, cursor: Cursor | None = None, per_page: int | None = None) -> ListPage:
    """One page of the call's submitted applications under `chosen`, with its organisations loaded: two queries
    (the page, the counts per state)."""
    per_page = per_page or PER_PAGE
    base = (select(Application).join(Application.organisation).options(contains_eager(Application.organisation))
            .where(*_conditions(call.id, chosen)))
    backwards = cursor is not None and cursor.direction in ("before", "last")
    query = _ordered(base, chosen, reverse=backwards).limit(per_page + 1)
    if cursor is not None and cursor.direction != "last":
        query = query.where(_boundary(chosen, cursor))
    rows = list(db.session.scalars(query).unique())
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    if cursor is None:
        first, last = True, not more
    elif cursor.direction == "after":
        first, last = False, not more
    elif cursor.direction == "before":
        first, last = not more, False
    else:
        first, last = not more, True

    counted = select(Application.status, func.count(Application.id))
    if chosen.municipality or chosen.organisation:  # the join only when a condition needs it (10,000 rows)
        counted = counted.join(Application.organisation)
    counts = dict(db.session.execute(
        counted.where(*_conditions(call.id, chosen, with_state=False)).group_by(Application.status)).all())
    total = counts.get(chosen.state, 0) if chosen.state else sum(counts.values())

    def at(row: Application, direction: str) -> Cursor:
        value = row.organisation.name if chosen.sort == "organisation" else getattr(
            row, SORTS[chosen.sort][0].key)
        return Cursor(chosen.sort, chosen.descending, direction, value, row.id)

    return ListPage(rows=rows, by_state=counts, total=total, first=first or not rows, last=last or not rows,
                    next=at(rows[-1], "after") if rows and not last else None,
                    previous=at(rows[0], "before") if rows and not first else None,
                    last_cursor=Cursor(chosen.sort, chosen.descending, "last"))


# --- the CSV of the list -----------------------------------------------------------------------------------------

CSV_COLUMNS = ("number", "organisation", "registration_number", "address", "title", "state", "state_label",
               "submitted_at_riga", "amount_eur")


def csv_rows(call_id: int, chosen: ListFilter, state_label, answers=lambda content: (),
             budget=lambda application_id: ()) -> Iterator[tuple]:
    """Every row of the call `call_id` under `chosen` in its order (an id, not the call: a streamed response reads
    this after the request's session has committed and let its objects go), fetched in batches (a server-side cursor on PostgreSQL), as plain
    values: the state's key and its label in the reader's language, the submission time in Riga with its offset
    (ISO 8601), the amount in euros with a decimal point, so that a program reads it as it stands; then
    `answers(content)`, the answers to the call's own questions; then `budget(application_id)`, the budget
    columns of a budgeted call (app/services/budget.py `csv_columns`)."""
    query = _ordered(
        select(Application.number, Organisation.name, Organisation.registration_number, Organisation.address,
               Application.title, Application.status, Application.submitted_at, Application.amount_cents,
               Application.id, Application.content)
        .join(Application.organisation).where(*_conditions(call_id, chosen)), chosen, reverse=False)
    result = db.session.execute(query.execution_options(yield_per=500))
    for number, name, registration, address, title, status, submitted_at, cents, _id, content in result:
        yield (number, name, registration, address, title, status, state_label(status),
               clock.to_riga(submitted_at).isoformat(timespec="seconds"), f"{cents // 100}.{cents % 100:02d}",
               *answers(content), *budget(_id))

