"""Drawings of a workflow definition (DESIGN 4.2): mermaid text and a self-contained inline SVG.

Both are drawn from the same list of edges: one edge per (source, dest) pair, so a transition with several sources
gives one edge per source, and several triggers between the same pair share one edge whose label lists them all.
A trigger that the clock also makes from that source is marked "(⏱)".

The mermaid text is written by hand rather than through `transitions.extensions.diagrams.GraphMachine(graph_engine=
"mermaid")` (which works offline and without graphviz): that needs a model and a machine per drawing, styles only the
state a transition last entered (not a given current state), never marks final states (`--> [*]`) on a flat machine,
and writes its title as a bare front-matter line instead of `title:`. The text here parses and renders in mermaid 11.

The SVG is laid out here, in plain Python, in the manner of dot (Sugiyama): states in rows by their BFS distance from
the initial state (unreachable ones in a last row); each edge's label is a box of its own in the half-row next to its
source (a trigger that leads from several sources into one state shares one label next to that state, the lines from
its sources meeting there), so no two labels overlap; long edges bend through placeholder points; rows are ordered
to cut crossings, and positions settled by averaging over neighbours under a minimum separation. No script, no
`<style>`, no `style=` attribute: colours and fonts are SVG presentation attributes, which the site's CSP allows.
"""
from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from workflows.definition import Workflow

CLOCK_MARK = "(⏱)"

# colours (Bootstrap 5 palette, so the drawing sits well in the site)
CURRENT_FILL = "#0d6efd"
CURRENT_STROKE = "#0a58ca"
STATE_FILL = "#f8f9fa"
STATE_STROKE = "#495057"
TEXT = "#212529"
EDGE = "#6c757d"
FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', 'Noto Sans', 'Liberation Sans', " \
              "Arial, sans-serif"

STATE_FONT = 13.0
STATE_LINE = 16.0
LABEL_FONT = 11.0
LABEL_LINE = 13.0
STATE_PAD_X = 14.0
STATE_PAD_Y = 11.0
STATE_MIN_WIDTH = 96.0
LABEL_PAD_X = 5.0
LABEL_PAD_Y = 3.0
ROW_GAP = 30.0
MARGIN = 16.0
START_SPACE = 30.0
LOOP_REACH = 26.0
CLOCK_ICON = 10.0
STATE_WRAP = 22
LABEL_WRAP = 18
TRIGGER_GAP = 5.0  # between the triggers of one label, with a thin rule

_WORDS = {
    "lv": ("Stāvokļu diagramma", "pašreizējais stāvoklis", "sākums", "beigu stāvoklis"),
    "en": ("State diagram", "current state", "start", "final state"),
}


# --- the edges both drawings share -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Edge:
    source: str
    dest: str
    triggers: tuple[str, ...]
    labels: tuple[str, ...]  # one per trigger, in the drawing's language, with the clock mark where it applies


def edges(workflow: Workflow, lang: str = "lv") -> list[Edge]:
    """One edge per (source, dest) pair, in definition order; its triggers in definition order."""
    clock = {(move.trigger, move.source) for move in workflow.clock}
    pairs: dict[tuple[str, str], list[str]] = {}
    for transition in workflow.transitions:
        for source in transition.source:
            triggers = pairs.setdefault((source, transition.dest), [])
            if transition.trigger not in triggers:
                triggers.append(transition.trigger)
    result = []
    for (source, dest), triggers in pairs.items():
        labels = tuple(
            workflow.trigger_label(trigger, lang) + (f" {CLOCK_MARK}" if (trigger, source) in clock else "")
            for trigger in triggers)
        result.append(Edge(source, dest, tuple(triggers), labels))
    return result


def layers(workflow: Workflow) -> dict[str, int]:
    """BFS distance of every state from the initial one; unreachable states one layer past the deepest."""
    following: dict[str, list[str]] = {state.name: [] for state in workflow.states}
    for edge in edges(workflow):
        if edge.dest not in following[edge.source]:
            following[edge.source].append(edge.dest)
    depth = {workflow.initial: 0}
    queue = deque([workflow.initial])
    while queue:
        name = queue.popleft()
        for nxt in following[name]:
            if nxt not in depth:
                depth[nxt] = depth[name] + 1
                queue.append(nxt)
    last = max(depth.values()) + 1
    return {state.name: depth.get(state.name, last) for state in workflow.states}


def _check(workflow: Workflow, current: str | None) -> None:
    workflow.state(workflow.initial)
    if current is not None:
        workflow.state(current)  # KeyError for a state the workflow does not have
    for transition in workflow.transitions:
        for name in (*transition.source, transition.dest):
            workflow.state(name)


def _title(workflow: Workflow, current: str | None, lang: str) -> str:
    words = _WORDS.get(lang, _WORDS["en"])
    title = f"{words[0]}: {workflow.name}"
    if current is not None:
        title += f"; {words[1]}: {workflow.label(current, lang)}"
    return title


# --- mermaid -----------------------------------------------------------------------------------------------------

_MERMAID_CODES = {"#": "#35;", '"': "#quot;", ";": "#59;", ":": "#58;", "<": "#lt;", ">": "#gt;", "{": "#123;",
                  "}": "#125;"}


def _mermaid_text(text: str) -> str:
    """Mermaid entity codes for the characters its grammar would read as syntax (in one pass: codes hold # and ;)."""
    return re.sub(r'[#";:<>{}]', lambda m: _MERMAID_CODES[m.group()], " ".join(text.split()))


def _mermaid_ids(workflow: Workflow) -> dict[str, str]:
    ids: dict[str, str] = {}
    for state in workflow.states:
        base = re.sub(r"\W", "_", state.name, flags=re.ASCII) or "state"
        if base[0].isdigit() or base.lower() in {"state", "note", "class", "classdef", "direction", "end", "as"}:
            base = "s_" + base
        candidate, n = base, 2
        while candidate in ids.values():
            candidate, n = f"{base}_{n}", n + 1
        ids[state.name] = candidate
    return ids


def to_mermaid(workflow: Workflow, current: str | None = None, lang: str = "lv") -> str:
    """A mermaid `stateDiagram-v2` of the workflow, the current state styled with `classDef current`."""
    _check(workflow, current)
    ids = _mermaid_ids(workflow)
    lines = [
        "---",
        f"title: {json.dumps(_title(workflow, current, lang), ensure_ascii=False)}",
        "---",
        "stateDiagram-v2",
        f"  classDef current fill:{CURRENT_FILL},stroke:{CURRENT_STROKE},color:#fff,font-weight:bold",
    ]
    for state in workflow.states:
        lines.append(f'  state "{_mermaid_text(workflow.label(state.name, lang))}" as {ids[state.name]}')
    lines.append(f"  [*] --> {ids[workflow.initial]}")
    for edge in edges(workflow, lang):
        lines.append(f"  {ids[edge.source]} --> {ids[edge.dest]}: {_mermaid_text(' / '.join(edge.labels))}")
    for state in workflow.states:
        if state.final:
            lines.append(f"  {ids[state.name]} --> [*]")
    if current is not None:
        lines.append(f"  class {ids[current]} current")
    return "\n".join(lines) + "\n"


# --- text measures -----------------------------------------------------------------------------------------------

_NARROW = set("ijlIļī.,:;'|!()[]/ ")
_SEMI = set("frtJ-")
_WIDE = set("mwMWŌ")


def _text_width(text: str, size: float) -> float:
    """A generous estimate (DejaVu Sans, the widest of the usual fallbacks) of the width of `text`."""
    em = 0.0
    for char in text:
        if char in _NARROW:
            em += 0.32
        elif char in _SEMI:
            em += 0.42
        elif char in _WIDE:
            em += 0.92
        elif char == "⏱":
            em += 1.0
        elif char.isupper():
            em += 0.72
        else:
            em += 0.62
    return em * size


def _wrap(text: str, limit: int) -> list[str]:
    """At most two lines: split at the space nearest the middle when the text is longer than `limit`."""
    if len(text) <= limit or " " not in text:
        return [text]
    middle = len(text) / 2
    spaces = [i for i, char in enumerate(text) if char == " "]
    cut = min(spaces, key=lambda i: (abs(i - middle), i))
    return [text[:cut], text[cut + 1:]]


def _fmt(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


# --- SVG layout --------------------------------------------------------------------------------------------------

@dataclass(eq=False)
class _Node:
    kind: str  # "state", "label" or "dummy"
    row: int
    seq: int  # creation order: the tie-breaker that keeps the layout deterministic
    half_left: float
    half_right: float
    height: float
    lines: list[str] = field(default_factory=list)  # a state's wrapped label; a label's trigger labels
    width: float = 0.0  # the drawn box (states and labels)
    name: str | None = None
    links: list[tuple[_Node, float]] = field(default_factory=list)
    x: float = 0.0
    y: float = 0.0


@dataclass(eq=False)
class _Route:
    """One drawn line. A bundle (one trigger from several sources into one state) is drawn as one "feed" per
    source into a shared label and a single "join" from the label into the state."""

    kind: str  # "edge", "flat" (same row: a U under the row), "loop", "feed" or "join"
    chain: list[_Node]  # the nodes the line passes through, first to last
    label: _Node | None
    sources: tuple[str, ...]
    dest: str
    triggers: tuple[str, ...]

    @property
    def arrow(self) -> bool:
        return self.kind != "feed"


def _link(a: _Node, b: _Node, weight: float | None = None) -> None:
    if weight is None:
        weight = 4.0 if a.kind == "dummy" and b.kind == "dummy" else 2.0 if "dummy" in (a.kind, b.kind) else 1.0
    a.links.append((b, weight))
    b.links.append((a, weight))


class _Layout:
    def __init__(self, workflow: Workflow, lang: str):
        self.workflow = workflow
        self.rows: dict[int, list[_Node]] = {}
        self.states: dict[str, _Node] = {}
        self.routes: list[_Route] = []
        self.loops: dict[str, tuple[str, ...]] = {}
        self._seq = 0
        depth = layers(workflow)
        order = sorted(workflow.states, key=lambda s: (depth[s.name], workflow.states.index(s)))
        for state in order:
            lines = _wrap(workflow.label(state.name, lang), STATE_WRAP)
            width = max(STATE_MIN_WIDTH, max(_text_width(line, STATE_FONT) for line in lines) + 2 * STATE_PAD_X)
            node = self._add("state", 2 * depth[state.name], width / 2, width / 2,
                             len(lines) * STATE_LINE + 2 * STATE_PAD_Y, lines, width, state.name)
            self.states[state.name] = node
        groups: dict[tuple[str, tuple[str, ...]], list[Edge]] = {}
        for edge in edges(workflow, lang):
            if edge.source != edge.dest:
                groups.setdefault((edge.dest, edge.labels), []).append(edge)
        drawn: set[tuple[str, tuple[str, ...]]] = set()
        for edge in edges(workflow, lang):
            key = (edge.dest, edge.labels)
            if edge.source == edge.dest:
                self._loop(edge)
            elif key not in drawn:
                drawn.add(key)
                if len(groups[key]) == 1:
                    self._single(edge)
                else:
                    self._bundle(groups[key])
        self.max_row = max(self.rows)
        for r in range(self.max_row + 1):
            self.rows.setdefault(r, [])

    def _add(self, kind, row, half_left, half_right, height, lines=(), width=0.0, name=None) -> _Node:
        node = _Node(kind, row, self._seq, half_left, half_right, height, list(lines), width, name)
        self._seq += 1
        self.rows.setdefault(row, []).append(node)
        return node

    def _label(self, row: int, labels: tuple[str, ...]) -> _Node:
        width, height = _label_size(labels)
        return self._add("label", row, width / 2, width / 2, height, labels, width)

    def _dummies(self, from_row: int, to_row: int) -> list[_Node]:
        step = 1 if to_row > from_row else -1
        return [self._add("dummy", row, 3, 3, 0) for row in range(from_row + step, to_row, step)]

    def _chain(self, chain: list[_Node]) -> list[_Node]:
        for a, b in zip(chain, chain[1:]):
            _link(a, b)
        return chain

    def _loop(self, edge: Edge) -> None:
        src = self.states[edge.source]
        self.loops[edge.source] = edge.labels
        src.half_right += LOOP_REACH + 4 + _label_size(edge.labels)[0]
        self.routes.append(_Route("loop", [src], None, (edge.source,), edge.dest, edge.triggers))

    def _single(self, edge: Edge) -> None:
        src, dst = self.states[edge.source], self.states[edge.dest]
        if dst.row == src.row:
            label = self._label(src.row + 1, edge.labels)
            chain, kind = [src, label, dst], "flat"
        else:
            step = 1 if dst.row > src.row else -1
            label = self._label(src.row + step, edge.labels)
            chain, kind = [src, label, *self._dummies(label.row, dst.row), dst], "edge"
        self.routes.append(_Route(kind, self._chain(chain), label, (edge.source,), edge.dest, edge.triggers))

    def _bundle(self, members: list[Edge]) -> None:
        dst = self.states[members[0].dest]
        # the shared label goes on the side most sources come from; sources in the state's own row count for neither
        above = sum(1 for edge in members if self.states[edge.source].row < dst.row)
        below = sum(1 for edge in members if self.states[edge.source].row > dst.row)
        label = self._label(dst.row + (-1 if above >= below else 1), members[0].labels)
        for edge in members:
            src = self.states[edge.source]
            chain = self._chain([src, *self._dummies(src.row, label.row), label])
            self.routes.append(_Route("feed", chain, label, (edge.source,), edge.dest, edge.triggers))
        _link(label, dst, 3.0)
        self.routes.append(_Route("join", [label, dst], label, tuple(e.source for e in members), dst.name,
                                  members[0].triggers))

    # ordering: barycentre sweeps with adjacent swaps, keeping the order with the fewest crossings

    def _positions(self) -> dict[_Node, int]:
        return {node: i for row in self.rows.values() for i, node in enumerate(row)}

    def _crossings(self, pos: dict[_Node, int]) -> int:
        total = 0
        for r in range(self.max_row):
            pairs = sorted((pos[a], pos[b]) for a in self.rows[r] for b, _ in a.links if b.row == r + 1)
            for i, (a1, b1) in enumerate(pairs):
                for a2, b2 in pairs[i + 1:]:
                    if a2 > a1 and b2 < b1:
                        total += 1
        return total

    def _sort_row(self, r: int, ref: int, pos: dict[_Node, int]) -> None:
        row = self.rows[r]
        ref_len = max(len(self.rows.get(ref, [])), 1)
        keys = {}
        for i, node in enumerate(row):
            around = [pos[n] for n, _ in node.links if n.row == ref]
            if around:
                keys[node] = (sum(around) / len(around) + 0.5) / ref_len
            else:
                keys[node] = (i + 0.5) / len(row)
        row.sort(key=lambda n: (keys[n], pos[n]))
        for i, node in enumerate(row):
            pos[node] = i

    def _transpose(self, pos: dict[_Node, int]) -> None:
        def cost(u: _Node, v: _Node) -> int:
            count = 0
            for ref in (u.row - 1, u.row + 1):
                for a, _ in u.links:
                    if a.row != ref:
                        continue
                    for b, _ in v.links:
                        if b.row == ref and pos[a] > pos[b]:
                            count += 1
            return count

        improved, rounds = True, 0
        while improved and rounds < 20:
            improved, rounds = False, rounds + 1
            for r in range(self.max_row + 1):
                row = self.rows[r]
                for i in range(len(row) - 1):
                    u, v = row[i], row[i + 1]
                    if cost(v, u) < cost(u, v):
                        row[i], row[i + 1] = v, u
                        pos[u], pos[v] = i + 1, i
                        improved = True

    def order(self, sweeps: int = 12) -> None:
        pos = self._positions()
        best = (self._crossings(pos), {r: list(row) for r, row in self.rows.items()})
        for _ in range(sweeps):
            for r in range(1, self.max_row + 1):
                self._sort_row(r, r - 1, pos)
            for r in range(self.max_row - 1, -1, -1):
                self._sort_row(r, r + 1, pos)
            self._transpose(pos)
            crossings = self._crossings(pos)
            if crossings < best[0]:
                best = (crossings, {r: list(row) for r, row in self.rows.items()})
        self.rows = best[1]

    # x: each node pulled to the weighted mean of its neighbours, rows kept in order at a minimum separation

    @staticmethod
    def _gap(a: _Node, b: _Node) -> float:
        if a.kind == "state" and b.kind == "state":
            return 28.0
        if a.kind == "dummy" or b.kind == "dummy":
            return 8.0
        return 14.0

    def _place_row(self, row: list[_Node]) -> None:
        if not row:
            return
        offsets = [0.0]
        for a, b in zip(row, row[1:]):
            offsets.append(offsets[-1] + a.half_right + self._gap(a, b) + b.half_left)
        targets = []
        for node, offset in zip(row, offsets):
            total = sum(w for _, w in node.links)
            want = sum(n.x * w for n, w in node.links) / total if total else node.x
            weight = 1.0 + total
            targets.append((want - offset, weight))
        # pool adjacent violators: the closest non-decreasing fit, then the offsets put back
        blocks: list[list[float]] = []  # [mean, weight, count]
        for value, weight in targets:
            blocks.append([value, weight, 1])
            while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
                v2, w2, c2 = blocks.pop()
                v1, w1, c1 = blocks.pop()
                blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
        i = 0
        for value, _, count in blocks:
            for _ in range(count):
                row[i].x = value + offsets[i]
                i += 1

    def place(self, rounds: int = 60) -> None:
        for row in self.rows.values():
            x = 0.0
            for node in row:
                x += node.half_left
                node.x = x
                x += node.half_right + 14
        for k in range(rounds):
            order = range(self.max_row + 1) if k % 2 == 0 else range(self.max_row, -1, -1)
            for r in order:
                self._place_row(self.rows[r])
        nodes = [n for row in self.rows.values() for n in row]
        left = min(n.x - n.half_left for n in nodes)
        for node in nodes:
            node.x = round(node.x - left + MARGIN, 1)
        self.width = max(n.x + n.half_right for n in nodes) + MARGIN
        y = MARGIN + START_SPACE
        for r in range(self.max_row + 1):
            height = max((n.height for n in self.rows[r]), default=0.0)
            for node in self.rows[r]:
                node.y = round(y + height / 2, 1)
            y += height + ROW_GAP
        self.height = y - ROW_GAP + MARGIN


# --- SVG drawing -------------------------------------------------------------------------------------------------

def _curve(points: list[tuple[float, float]]) -> str:
    """Through the points, leaving and entering each vertically (the way dot draws rank-to-rank edges)."""
    x0, y0 = points[0]
    parts = [f"M{_fmt(x0)},{_fmt(y0)}"]
    for (x1, y1), (x2, y2) in zip(points, points[1:]):
        mid = (y1 + y2) / 2
        parts.append(f"C{_fmt(x1)},{_fmt(mid)} {_fmt(x2)},{_fmt(mid)} {_fmt(x2)},{_fmt(y2)}")
    return " ".join(parts)


def _text_lines(lines: list[str], x: float, y: float, size: float, step: float, fill: str,
                bold: bool = False) -> str:
    first = y - (len(lines) - 1) * step / 2 + size * 0.35
    weight = ' font-weight="600"' if bold else ""
    spans = "".join(
        f'<tspan x="{_fmt(x)}" y="{_fmt(first + i * step)}">{escape(line)}</tspan>' for i, line in enumerate(lines))
    return f'<text text-anchor="middle" font-size="{_fmt(size)}" fill="{fill}"{weight}>{spans}</text>'


def _stopwatch(left: float, middle: float, colour: str) -> str:
    """The clock mark drawn, not typed: few fonts on a server carry U+23F1."""
    cx, cy = left + CLOCK_ICON / 2, middle + 0.6
    return (f'<g class="clock-mark" fill="none" stroke="{colour}" stroke-width="1.1" stroke-linecap="round">'
            f'<circle cx="{_fmt(cx)}" cy="{_fmt(cy)}" r="4"/>'
            f'<path d="M{_fmt(cx)},{_fmt(cy - 4)} V{_fmt(cy - 5.6)} M{_fmt(cx - 1.6)},{_fmt(cy - 5.6)} '
            f'H{_fmt(cx + 1.6)} M{_fmt(cx)},{_fmt(cy)} L{_fmt(cx + 1.9)},{_fmt(cy - 1.9)}"/></g>')


def _label_size(labels: tuple[str, ...]) -> tuple[float, float]:
    """Width and height of an edge label: each trigger's label wrapped, the triggers apart by a rule."""
    groups = [_wrap(label, LABEL_WRAP) for label in labels]
    width = max(_text_width(line, LABEL_FONT) for group in groups for line in group) + 2 * LABEL_PAD_X
    height = sum(len(group) for group in groups) * LABEL_LINE + (len(groups) - 1) * TRIGGER_GAP + 2 * LABEL_PAD_Y
    return width, height


def _label_lines(labels: tuple[str, ...], left: float, top: float, width: float, fill: str,
                 anchor: str = "middle") -> str:
    """An edge label in its box, one `<text>` a line; the clock mark is drawn as a stopwatch."""
    x = left + width / 2 if anchor == "middle" else left + LABEL_PAD_X
    y = top + LABEL_PAD_Y
    parts = []
    for k, label in enumerate(labels):
        if k:
            rule = y + TRIGGER_GAP / 2
            parts.append(f'<path d="M{_fmt(left + 4)},{_fmt(rule)} H{_fmt(left + width - 4)}" stroke="{fill}" '
                         f'stroke-width="0.6" stroke-opacity="0.45"/>')
            y += TRIGGER_GAP
        for line in _wrap(label, LABEL_WRAP):
            middle, base = y + LABEL_LINE / 2, y + LABEL_LINE / 2 + LABEL_FONT * 0.35
            y += LABEL_LINE
            if line.endswith(CLOCK_MARK):
                text = line[:-len(CLOCK_MARK)].rstrip()
                total = (_text_width(text, LABEL_FONT) + 3 if text else 0) + CLOCK_ICON
                icon = (x - total / 2 if anchor == "middle" else x) + total - CLOCK_ICON
                if text:  # anchored at its end, so it meets the icon whatever the font's real widths
                    parts.append(f'<text x="{_fmt(icon - 3)}" y="{_fmt(base)}" text-anchor="end" '
                                 f'font-size="{_fmt(LABEL_FONT)}" fill="{fill}">{escape(text)}</text>')
                parts.append(_stopwatch(icon, middle, fill))
            else:
                parts.append(f'<text x="{_fmt(x)}" y="{_fmt(base)}" text-anchor="{anchor}" '
                             f'font-size="{_fmt(LABEL_FONT)}" fill="{fill}">{escape(line)}</text>')
    return "".join(parts)


def _ports(layout: _Layout) -> tuple[dict[tuple[int, int], tuple[float, float]], dict[int, tuple]]:
    """Where each line meets a state: its top or bottom, spread in the order of where the lines come from.

    Returns the points keyed by (route index, 0 for the first node or -1 for the last; -1 index for the start
    arrow), and for each flat route the two points where its U meets the top of its label."""
    ends: dict[tuple[int, str], list[tuple[float, int, int]]] = {}
    start = layout.states[layout.workflow.initial]
    ends.setdefault((id(start), "top"), []).append((start.x, -1, -1))
    turns: dict[int, tuple[tuple[float, float], tuple[float, float]]] = {}
    for i, route in enumerate(layout.routes):
        if route.kind == "loop":
            continue
        if route.kind == "flat":
            src, label, dst = route.chain
            side = -1 if src.x <= dst.x else 1
            top = label.y - label.height / 2
            turns[i] = ((label.x + side * label.width / 4, top), (label.x - side * label.width / 4, top))
            ends.setdefault((id(src), "bottom"), []).append((turns[i][0][0], i, 0))
            ends.setdefault((id(dst), "bottom"), []).append((turns[i][1][0], i, -1))
            continue
        for end, neighbour in ((0, route.chain[1]), (-1, route.chain[-2])):
            node = route.chain[end]
            if node.kind == "state":
                side = "bottom" if neighbour.row > node.row else "top"
                ends.setdefault((id(node), side), []).append((neighbour.x, i, end))
    by_id = {id(node): node for node in layout.states.values()}
    ports = {}
    for (node_id, side), items in ends.items():
        node = by_id[node_id]
        items.sort()
        count = len(items)
        step = min(16.0, node.width * 0.8 / max(count - 1, 1))
        y = node.y - node.height / 2 if side == "top" else node.y + node.height / 2
        for k, (_, i, end) in enumerate(items):
            ports[(i, end)] = (node.x + (k - (count - 1) / 2) * step, y)
    return ports, turns


def _box(x: float, y: float, width: float, height: float, radius: float, fill: str, stroke: str,
         stroke_width: str, extra: str = "") -> str:
    return (f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(width)}" height="{_fmt(height)}" rx="{_fmt(radius)}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"{extra}/>')


def to_svg(workflow: Workflow, current: str | None = None, lang: str = "lv") -> str:
    """A self-contained SVG of the workflow: no script, no style element or attribute, no external reference."""
    _check(workflow, current)
    layout = _Layout(workflow, lang)
    layout.order()
    layout.place()
    ports, turns = _ports(layout)
    words = _WORDS.get(lang, _WORDS["en"])
    uid = "wfd-" + re.sub(r"[^A-Za-z0-9_-]", "-", f"{workflow.name}-{current or 'none'}-{lang}")
    arrow, arrow_now = f"{uid}-arrow", f"{uid}-arrow-current"

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_fmt(layout.width)} {_fmt(layout.height)}" '
        f'width="{_fmt(layout.width)}" height="{_fmt(layout.height)}" role="img" '
        f'aria-labelledby="{uid}-title {uid}-desc" class="workflow-diagram" data-workflow={quoteattr(workflow.name)} '
        f'font-family={quoteattr(FONT_FAMILY)} font-size="{_fmt(STATE_FONT)}">',
        f'<title id="{uid}-title">{escape(_title(workflow, current, lang))}</title>',
    ]
    described = [f"{workflow.label(e.source, lang)} → {workflow.label(e.dest, lang)}: {', '.join(e.labels)}"
                 for e in edges(workflow, lang)]
    finals = [workflow.label(s.name, lang) for s in workflow.states if s.final]
    desc = f"{words[2]}: {workflow.label(workflow.initial, lang)}. " + ". ".join(described) + "."
    if finals:
        desc += f" {words[3]}: {', '.join(finals)}."
    out.append(f'<desc id="{uid}-desc">{escape(desc)}</desc>')
    out.append("<defs>")
    for marker_id, colour in ((arrow, EDGE), (arrow_now, CURRENT_FILL)):
        out.append(f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
                   f'markerHeight="8" markerUnits="userSpaceOnUse" orient="auto">'
                   f'<path d="M0,1 L10,5 L0,9 z" fill="{colour}"/></marker>')
    out.append("</defs>")

    # the start: a dot and an arrow into the initial state
    sx, sy = ports[(-1, -1)]
    out.append(f'<g class="start"><circle cx="{_fmt(sx)}" cy="{_fmt(sy - START_SPACE + 6)}" r="6" fill="{TEXT}"/>'
               f'<path d="M{_fmt(sx)},{_fmt(sy - START_SPACE + 12)} L{_fmt(sx)},{_fmt(sy)}" fill="none" '
               f'stroke="{TEXT}" stroke-width="1.3" marker-end="url(#{arrow})"/></g>')

    lines_out, labels_out = [], []
    label_now: dict[int, bool] = {}
    label_triggers: dict[int, tuple[str, ...]] = {}
    for i, route in enumerate(layout.routes):
        now = current is not None and current in route.sources
        colour, marker, width = (CURRENT_FILL, arrow_now, "2") if now else (EDGE, arrow, "1.3")
        head = f' marker-end="url(#{marker})"' if route.arrow else ""
        attrs = (f'class="edge {route.kind}" data-sources={quoteattr(" ".join(route.sources))} '
                 f'data-dest={quoteattr(route.dest)} data-triggers={quoteattr(" ".join(route.triggers))}')
        if route.kind == "loop":
            node = route.chain[0]
            right, y = node.x + node.width / 2, node.y
            reach = right + LOOP_REACH * 1.35
            d = (f"M{_fmt(right)},{_fmt(y - 8)} C{_fmt(reach)},{_fmt(y - 26)} {_fmt(reach)},{_fmt(y + 26)} "
                 f"{_fmt(right)},{_fmt(y + 8)}")
            labels = layout.loops[route.dest]
            lw, lh = _label_size(labels)
            lx = right + LOOP_REACH + 4
            lines_out.append(
                f'<g {attrs}><path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"{head}/>'
                + _box(lx, y - lh / 2, lw, lh, 3, "#fff", colour, "0.6", ' fill-opacity="0.92" stroke-opacity="0.5"')
                + _label_lines(labels, lx, y - lh / 2, lw, CURRENT_STROKE if now else TEXT, "start") + "</g>")
            continue
        first = ports.get((i, 0), (route.chain[0].x, route.chain[0].y))
        last = ports.get((i, -1), (route.chain[-1].x, route.chain[-1].y))
        if route.kind == "flat":
            a, b = turns[i]
            d = _curve([first, a]) + " " + _curve([b, last])  # the turn itself is under the label
        else:
            d = _curve([first] + [(n.x, n.y) for n in route.chain[1:-1]] + [last])
        lines_out.append(f'<g {attrs}><path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"{head}/></g>')
        label = route.label
        label_now[id(label)] = label_now.get(id(label), False) or now
        label_triggers[id(label)] = route.triggers
    for route in layout.routes:
        label = route.label
        if label is None or id(label) not in label_triggers:
            continue
        now = label_now[id(label)]
        colour = CURRENT_FILL if now else EDGE
        labels_out.append(
            f'<g class="edge-label" data-triggers={quoteattr(" ".join(label_triggers.pop(id(label))))}>'
            + _box(label.x - label.width / 2, label.y - label.height / 2, label.width, label.height, 3, "#fff", colour,
                   "0.6", ' fill-opacity="0.92" stroke-opacity="0.5"')
            + _label_lines(tuple(label.lines), label.x - label.width / 2, label.y - label.height / 2, label.width,
                           CURRENT_STROKE if now else TEXT)
            + "</g>")
    out.extend(lines_out)
    out.extend(labels_out)

    for state in workflow.states:
        node = layout.states[state.name]
        is_current = state.name == current
        fill, stroke, text_fill = (CURRENT_FILL, CURRENT_STROKE, "#fff") if is_current else (
            STATE_FILL, STATE_STROKE, TEXT)
        x, y, w, h = node.x - node.width / 2, node.y - node.height / 2, node.width, node.height
        marks = ' aria-current="step"' if is_current else ""
        kind = "state final" if state.final else "state"
        part = [f'<g class="{kind}" data-state={quoteattr(state.name)}{marks}>',
                _box(x, y, w, h, 9, fill, stroke, "2" if is_current else "1.3")]
        if state.final:
            part.append(_box(x + 3.5, y + 3.5, w - 7, h - 7, 6, "none", "#fff" if is_current else stroke, "1.1"))
        part.append(_text_lines(node.lines, node.x, node.y, STATE_FONT, STATE_LINE, text_fill, bold=is_current))
        part.append("</g>")
        out.append("".join(part))
    out.append("</svg>")
    return "\n".join(out) + "\n"
