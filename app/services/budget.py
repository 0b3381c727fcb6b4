"""The budget table of an application to a budgeted call (DESIGN 3, funding modes).

A line is category × description × quantity × unit cost. The quantity is a whole number of units above zero: a
budget that needs part of a unit prices a smaller unit (hours instead of days), so every line total is an exact
number of cents with no rounding rule to argue about. The unit cost is euros as people type them ("1 200,50",
"1200.5", "35"): at most two decimals, never exponents ("1e9") or a third decimal ("12,345", which could be
twelve euros or twelve thousand). The server works out every line total and the grand total again, whatever the
browser showed; the application's amount is the grand total.

Two kinds of finding:
- input errors (a quantity of -1, a cost of "abc", no category): nothing is saved, and each is told on its line;
- rule problems (a category over its cap, a total outside the call's range, no lines): the draft is saved as
  typed, the page says what is wrong per category, and submission is refused until it is right
  (`submission_problems`, called by the `amount_allowed` guard).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import direction_controls, formatting
from app.errors import Refused
from app.extensions import db
from app.models import Application, BudgetLine, Call, CostCategory, User
from app.services import audit
from app.services.workflow import lock

MAX_LINES = 100
MAX_QUANTITY = 100_000
MAX_LINE_CENTS = 2_000_000_000  # inside a 32-bit integer column, as every amount here (app/forms/calls.py)
MAX_DESCRIPTION = 300



@dataclass
class LineInput:
    """One row of the table as typed (text, as the browser sent it)."""

    category: str = ""
    description: str = ""
    quantity: str = ""
    unit_cost: str = ""

    @property
    def blank(self) -> bool:
        return not (self.description.strip() or self.quantity.strip() or self.unit_cost.strip())


@dataclass
class Line:
    category: str
    description: str
    quantity: int
    unit_cost_cents: int

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_cost_cents


@dataclass
class Reading:
    """The rows read: the lines that are right, and each wrong row's messages by its index in the table."""

    lines: list[Line] = field(default_factory=list)
    errors: dict[int, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors and not self.general


class BudgetInvalid(Refused):
    """The table holds input errors: nothing was saved. `reading` has each row's messages."""

    status = 400

    def __init__(self, reading: Reading):
        super().__init__(_("Some budget lines need correcting; nothing was saved."))
        self.reading = reading


# --- the call's cost categories (while it is a draft) ---------------------------------------------------------

def add_category(call: Call, actor: User, *, label_lv: str, label_en: str, cap_percent: int | None) -> CostCategory:
    """A cost category of a budgeted draft call; its code (what budget lines store) comes from its label."""
    lock(call)
    _require_budgeted_draft(call)
    label_lv, label_en = label_lv.strip(), label_en.strip()
    if any(c.label_lv.casefold() == label_lv.casefold() or c.label_en.casefold() == label_en.casefold()
           for c in call.cost_categories):
        raise Refused(_("The call already has a cost category of this name."))
    category = CostCategory(call=call, position=max((c.position for c in call.cost_categories), default=-1) + 1,
                            code=_code_for(label_en or label_lv, {c.code for c in call.cost_categories}),
                            label_lv=label_lv, label_en=label_en, cap_percent=cap_percent)
    db.session.add(category)
    db.session.flush()
    audit.record("call", call.id, "edit", "draft", "draft", actor.id,
                 data={"cost_category_added": category.code, "cap_percent": cap_percent})
    return category


def remove_category(call: Call, actor: User, category: CostCategory) -> None:
    lock(call)
    _require_budgeted_draft(call, removing=True)
    code = category.code
    call.cost_categories.remove(category)
    db.session.flush()
    audit.record("call", call.id, "edit", "draft", "draft", actor.id, data={"cost_category_removed": code})


def update_category(category: CostCategory, actor: User, *, label_lv: str, label_en: str,
                    cap_percent: int | None) -> None:
    """New labels or cap of a category of a budgeted draft call; its code (what budget lines store) stays."""
    call = category.call
    lock(call)
    _require_budgeted_draft(call)
    label_lv, label_en = label_lv.strip(), label_en.strip()
    if any(c.id != category.id and (c.label_lv.casefold() == label_lv.casefold()
                                    or c.label_en.casefold() == label_en.casefold()) for c in call.cost_categories):
        raise Refused(_("The call already has a cost category of this name."))
    before = {"label_lv": category.label_lv, "label_en": category.label_en, "cap_percent": category.cap_percent}
    category.label_lv, category.label_en, category.cap_percent = label_lv, label_en, cap_percent
    db.session.flush()
    audit.record("call", call.id, "edit", "draft", "draft", actor.id,
                 data={"cost_category_changed": category.code, "before": before,
                       "after": {"label_lv": label_lv, "label_en": label_en, "cap_percent": cap_percent}})


def move_category(category: CostCategory, actor: User, offset: int) -> None:
    """Move a category up (-1) or down (+1) in the call's list (the order applicants see them in)."""
    call = category.call
    lock(call)
    _require_budgeted_draft(call, removing=True)
    ordered = list(call.cost_categories)
    index = ordered.index(category)
    target = index + offset
    if not 0 <= target < len(ordered):
        return
    ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, other in enumerate(ordered):
        other.position = position
    db.session.flush()
    db.session.expire(call, ["cost_categories"])  # the collection is read again in its new order
    audit.record("call", call.id, "edit", "draft", "draft", actor.id, data={"cost_category_moved": category.code})


def require_categories_editable(call: Call) -> None:
    """Refused, with why, unless the call's categories may be added or changed now (a budgeted draft)."""
    _require_budgeted_draft(call)


def _require_budgeted_draft(call: Call, removing: bool = False) -> None:
    if call.status != "draft":
        raise Refused(_("The call is announced; its definition is frozen."))
    if call.funding_mode != "budgeted" and not removing:
        raise Refused(_("Cost categories belong to budgeted calls. Choose the budgeted funding mode first."))


def _code_for(label: str, taken: set[str]) -> str:
    """A stable key from the label: 'Administrācija' → 'administracija' (then -2, -3 … when taken)."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:50] or "category"
    code, n = base, 2
    while code in taken:
        code, n = f"{base}-{n}", n + 1
    return code


# --- reading what was typed ---------------------------------------------------------------------------------------

def parse_unit_cost(text: str) -> int:
    """Euros as typed → integer cents. ValueError carries the message for the user."""
    try:
        cents = formatting.parse_money(text)
    except ValueError:
        raise ValueError(_("Enter the unit cost in euros with at most two decimals, e.g. 12,50.")) from None
    if cents > MAX_LINE_CENTS:
        raise ValueError(_("The unit cost is too large."))
    return cents


def parse_quantity(text: str) -> int:
    cleaned = (text or "").strip()
    if not re.fullmatch(r"\d{1,9}", cleaned) or int(cleaned) < 1:
        raise ValueError(_("The quantity is a whole number of units above zero, e.g. 3. For part of a unit, "
                           "price a smaller unit (hours instead of days)."))
    if int(cleaned) > MAX_QUANTITY:
        raise ValueError(_("The quantity is too large."))
    return int(cleaned)


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return _("The text contains an invisible control character (NUL) that cannot be saved. Type or paste it "
                 "again as plain text.")
    found = direction_controls.first_in(text)
    return str(direction_controls.refusal(found)) if found else None


def read(call: Call, rows: list[LineInput]) -> Reading:
    """Check every row; blank rows (no description, quantity or cost) are left out."""
    reading = Reading()
    codes = {c.code for c in call.cost_categories}
    filled = [(i, row) for i, row in enumerate(rows) if not row.blank]
    if len(filled) > MAX_LINES:
        reading.general.append(_("A budget has at most %(n)s lines.", n=MAX_LINES))
        return reading
    for index, row in filled:
        messages = []
        if row.category not in codes:
            messages.append(_("Choose the cost category."))
        description = row.description.strip()
        if not description:
            messages.append(_("Describe the cost."))
        elif len(description) > MAX_DESCRIPTION:
            messages.append(_("The description is too long: at most %(n)s characters.", n=MAX_DESCRIPTION))
        elif problem := _text_problem(description):
            messages.append(problem)
        quantity = unit_cost = None
        try:
            quantity = parse_quantity(row.quantity)
        except ValueError as error:
            messages.append(str(error))
        try:
            unit_cost = parse_unit_cost(row.unit_cost)
        except ValueError as error:
            messages.append(str(error))
        if quantity is not None and unit_cost is not None and quantity * unit_cost > MAX_LINE_CENTS:
            messages.append(_("The line total is too large."))
        if messages:
            reading.errors[index] = messages
        else:
            reading.lines.append(Line(row.category, description, quantity, unit_cost))
    if reading.valid and sum(line.amount_cents for line in reading.lines) > MAX_LINE_CENTS:
        reading.general.append(_("The budget's total is too large."))
    return reading


# --- the rules of the call --------------------------------------------------------------------------------------

@dataclass
class CategoryTotal:
    code: str
    label: str
    cap_percent: int | None
    amount_cents: int
    share: Decimal | None  # percent of the grand total, rounded up to 0.1 for display; None when the total is 0
    problem: str | None


@dataclass
class Summary:
    categories: list[CategoryTotal]
    total_cents: int
    problems: list[str]  # every rule problem, the categories' first


def summary(call: Call, lines, lang: str | None = None) -> Summary:
    """Totals per category and in all, and what the call's rules say of them (lines: Line or BudgetLine)."""
    lang = lang or formatting.current_lang()
    lines = list(lines)
    total = sum(line.amount_cents for line in lines)
    categories, problems = [], []
    for category in call.cost_categories:
        amount = sum(line.amount_cents for line in lines if line.category == category.code)
        share = (Decimal(amount * 100) / Decimal(total)).quantize(Decimal("0.1"), ROUND_CEILING) if total else None
        problem = None
        if category.cap_percent is not None and amount * 100 > category.cap_percent * total:
            problem = _("%(category)s: %(amount)s is %(share)s %% of the total; at most %(cap)s %% is allowed.",
                        category=category.label(lang), amount=formatting.money(amount, lang),
                        share=_percent(share, lang), cap=category.cap_percent)
            problems.append(problem)
        categories.append(CategoryTotal(category.code, category.label(lang), category.cap_percent, amount, share,
                                        problem))
    if not lines:
        problems.append(_("Add at least one budget line."))
    else:
        low, high = call.min_amount_cents or 0, call.max_amount_cents or call.budget_cents
        if not low <= total <= high:
            problems.append(_("The budget's total %(total)s is outside the call's range: %(low)s to %(high)s.",
                              total=formatting.money(total, lang), low=formatting.money(low, lang),
                              high=formatting.money(high, lang)))
    return Summary(categories, total, problems)


def _percent(value: Decimal | None, lang: str) -> str:
    text = f"{value:.1f}" if value is not None else "0.0"
    return text.replace(".", ",") if lang == "lv" else text


def submission_problems(application: Application) -> list[str]:
    """What keeps a budgeted application from being submitted (the `amount_allowed` guard's budgeted half)."""
    call, lines = application.call, application.budget_lines
    problems = []
    codes = {c.code for c in call.cost_categories}
    if any(line.category not in codes for line in lines):
        problems.append(_("A budget line names a cost category this call does not have."))
    if any(line.amount_cents != line.quantity * line.unit_cost_cents for line in lines):
        problems.append(_("A budget line's total is not its quantity times its unit cost."))
    problems += summary(call, lines).problems
    if lines and sum(line.amount_cents for line in lines) != application.amount_cents:
        problems.append(_("The budget lines must add up to the amount requested."))
    return problems


# --- saving -----------------------------------------------------------------------------------------------------

def save(application: Application, actor: User, rows: list[LineInput], version: int) -> Summary:
    """Replace the draft's budget with `rows`, all or nothing; the amount becomes the budget's total. `version`
    is the application's version the user loaded: a save on top of someone else's newer save is refused, so the
    first save is never overwritten unseen. Input errors raise BudgetInvalid (nothing saved); the call's rules are
    reported in the summary returned, and enforced at submission."""
    from app import clock

    lock(application)  # two members saving at once: the second waits here, then sees the first's version
    call = application.call
    if application.status != "draft":
        raise Refused(_("A submitted application can no longer be changed."))
    if call.funding_mode != "budgeted":
        raise Refused(_("This call funds a lump sum: there is no budget table to fill in."))
    if application.version != version:
        raise Refused(_("Someone else saved this application meanwhile. Reload the page and enter your changes "
                        "again."))
    if not call.accepting(clock.now()):
        raise Refused(_("The call is closed: drafts are read-only."))
    reading = read(call, rows)
    if not reading.valid:
        raise BudgetInvalid(reading)
    application.budget_lines = [
        BudgetLine(position=i, category=line.category, description=line.description, quantity=line.quantity,
                   unit_cost_cents=line.unit_cost_cents, amount_cents=line.amount_cents)
        for i, line in enumerate(reading.lines)]
    application.amount_cents = sum(line.amount_cents for line in reading.lines)
    application.updated_at = clock.now()  # the row changes even when only lines did: the version moves on
    return summary(call, reading.lines)


def step_status(application: Application) -> str:
    """The budget step for the guided form's task list: 'not_started' (no line yet), 'completed' (the budget
    passes every rule of the call) or 'in_progress'. A lump-sum call has nothing to fill in: 'completed'."""
    if application.call.funding_mode != "budgeted":
        return "completed"
    if not application.budget_lines:
        return "not_started"
    return "in_progress" if submission_problems(application) else "completed"


def rows_of(application: Application) -> list[LineInput]:
    """The stored lines as the table shows them (the unit cost in the page's language)."""
    lang = formatting.current_lang()
    return [LineInput(line.category, line.description, str(line.quantity), _euros(line.unit_cost_cents, lang))
            for line in application.budget_lines]


def _euros(cents: int, lang: str) -> str:
    euros, rest = divmod(cents, 100)
    return f"{euros}{',' if lang == 'lv' else '.'}{rest:02d}"


def receipt_rows(application: Application, lang: str) -> dict | None:
    """The budget table as the receipt PDF shows it, in `lang`; None for a lump-sum call."""
    call = application.call
    if call.funding_mode != "budgeted":
        return None
    labels = {c.code: c.label(lang) for c in call.cost_categories}
    return {"lines": [{"category": labels.get(line.category, line.category), "description": line.description,
                       "quantity": line.quantity, "unit_cost": formatting.money(line.unit_cost_cents, lang),
                       "amount": formatting.money(line.amount_cents, lang)} for line in application.budget_lines],
            "total": formatting.money(sum(line.amount_cents for line in application.budget_lines), lang)}


def csv_columns(call: Call, lang: str):
    """The budget columns of the applications CSV of a budgeted call: one per cost category (its label in `lang`,
    the sum of the application's lines in it) and the budget's total, in euros with a decimal point as the CSV's
    other amounts. Returns (headers, a function application id → values); a lump-sum call has none."""
    if call.funding_mode != "budgeted":
        return [], lambda application_id: ()
    codes = [c.code for c in call.cost_categories]
    headers = [f"{c.label(lang)} (EUR)" for c in call.cost_categories] + ["budget_total_eur"]
    sums: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(BudgetLine.application_id, BudgetLine.category, func.sum(BudgetLine.amount_cents))
        .join(Application, Application.id == BudgetLine.application_id).where(Application.call_id == call.id)
        .group_by(BudgetLine.application_id, BudgetLine.category))
    for application_id, category, cents in rows:
        sums.setdefault(application_id, {})[category] = int(cents)

    def euros(cents: int) -> str:
        return f"{cents // 100}.{cents % 100:02d}"

    def values(application_id: int) -> tuple:
        found = sums.get(application_id, {})
        return (*(euros(found.get(code, 0)) for code in codes), euros(sum(found.values())))

    return headers, values
