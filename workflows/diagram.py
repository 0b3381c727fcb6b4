"""Drawings of a workflow definition (DESIGN 4.2): an inline SVG laid out by Graphviz, and mermaid text.

Both are drawn from the same list of edges: one edge per (source, dest) pair, so a transition with several sources
gives one edge per source, and several triggers between the same pair share one edge whose label lists them all.
In the SVG, the same move from many states (cancel, withdraw) is drawn as lines that meet at a dot, from which one
labelled arrow goes on, as the hand-drawn version did; this also keeps the drawing narrow.

The SVG is DOT built here from the definition and laid out by Graphviz's `dot` (the `graphviz` package runs the
binary), then cleaned for inlining under the site's CSP: no prolog, doctype or comments, no script, no `<style>`,
no `style=` attribute (colours and fonts are presentation attributes, which the CSP allows); a `<title>` and
`<desc>` for screen readers; ids unique per (workflow, state, language), so several drawings can share a page.
A drawing depends on the definition, the current state and the language only, so each is rendered once per process
and kept (`to_svg` returns the same string object on later calls).

Why not `transitions.extensions.diagrams.GraphMachine`: it labels states by their identifiers and edges by trigger
names (LV/EN labels would need a machine per language), marks only the state a model last entered, and would need a
model per drawing; the DOT it builds is no simpler than the table read here.

The mermaid text is written by hand for the same reasons; it parses and renders in mermaid 11.
"""
from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

import graphviz

from workflows.definition import Workflow

CLOCK_MARK = "(⏱)"  # mermaid only: few fonts on a server carry U+23F1, so the SVG says it in words

# colours (Bootstrap 5 palette, so the drawing sits well in the site); white on CURRENT_FILL is 6.4:1
CURRENT_FILL = "#0a58ca"
CURRENT_STROKE = "#052c65"
STATE_FILL = "#f8f9fa"
STATE_STROKE = "#495057"
TEXT = "#212529"
EDGE = "#6c757d"
# Graphviz measures text in DejaVu Sans (fonts-dejavu-core); a browser without it falls back to a narrower face
FONT = "DejaVu Sans"
FONT_FAMILY = "'DejaVu Sans', Verdana, 'Bitstream Vera Sans', sans-serif"
STATE_WRAP = 22
LABEL_WRAP = 14
BUNDLE = 3  # a move made alike from this many states or more is drawn with one label

_WORDS = {
    "lv": {"title": "Stāvokļu diagramma", "current": "pašreizējais stāvoklis", "start": "sākums",
           "final": "beigu stāvoklis", "clock": "(noteiktajā laikā)"},
    "en": {"title": "State diagram", "current": "current state", "start": "start",
           "final": "final state", "clock": "(at the set time)"},
}
SVG_NS = "http://www.w3.org/2000/svg"


# --- the edges both drawings share -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Edge:
    source: str
    dest: str
    triggers: tuple[str, ...]
    clocked: tuple[bool, ...]  # one per trigger: the clock also makes this move from `source`

    def labels(self, workflow: Workflow, lang: str, mark: str = CLOCK_MARK) -> tuple[str, ...]:
        """Each trigger's label in `lang`, with `mark` after those the clock also makes."""
        return tuple(workflow.trigger_label(trigger, lang) + (f" {mark}" if clocked else "")
                     for trigger, clocked in zip(self.triggers, self.clocked))


def edges(workflow: Workflow) -> list[Edge]:
    """One edge per (source, dest) pair, in definition order; its triggers in definition order."""
    clock = {(move.trigger, move.source) for move in workflow.clock}
    pairs: dict[tuple[str, str], list[str]] = {}
    for transition in workflow.transitions:
        for source in transition.source:
            triggers = pairs.setdefault((source, transition.dest), [])
            if transition.trigger not in triggers:
                triggers.append(transition.trigger)
    return [Edge(source, dest, tuple(triggers), tuple((trigger, source) in clock for trigger in triggers))
            for (source, dest), triggers in pairs.items()]


@dataclass(frozen=True)
class Step:
    """One state of the process as text, for the list beside a drawing."""

    label: str
    final: bool
    moves: tuple[tuple[str, str], ...]  # (trigger label, destination label)


def outline(workflow: Workflow, lang: str = "lv") -> list[Step]:
    """The states in definition order, each with the moves that leave it: the drawing as a list."""
    lang = _lang(lang)
    leaving: dict[str, list[tuple[str, str]]] = {state.name: [] for state in workflow.states}
    for edge in edges(workflow):
        for label in edge.labels(workflow, lang, _WORDS[lang]["clock"]):
            leaving[edge.source].append((label, workflow.label(edge.dest, lang)))
    return [Step(workflow.label(s.name, lang), s.final, tuple(leaving[s.name])) for s in workflow.states]


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "lv"


def _check(workflow: Workflow, current: str | None) -> None:
    workflow.state(workflow.initial)
    if current is not None:
        workflow.state(current)  # KeyError for a state the workflow does not have
    for transition in workflow.transitions:
        for name in (*transition.source, transition.dest):
            workflow.state(name)


def _title(workflow: Workflow, current: str | None, lang: str) -> str:
    words = _WORDS[_lang(lang)]
    title = f"{words['title']}: {workflow.name}"
    if current is not None:
        title += f"; {words['current']}: {workflow.label(current, lang)}"
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
    for edge in edges(workflow):
        label = " / ".join(edge.labels(workflow, lang))
        lines.append(f"  {ids[edge.source]} --> {ids[edge.dest]}: {_mermaid_text(label)}")
    for state in workflow.states:
        if state.final:
            lines.append(f"  {ids[state.name]} --> [*]")
    if current is not None:
        lines.append(f"  class {ids[current]} current")
    return "\n".join(lines) + "\n"


# --- SVG through Graphviz ----------------------------------------------------------------------------------------

def _wrap(text: str, limit: int) -> list[str]:
    """At most two lines: split at the space nearest the middle when the text is longer than `limit`."""
    if len(text) <= limit or " " not in text:
        return [text]
    middle = len(text) / 2
    spaces = [i for i, char in enumerate(text) if char == " "]
    cut = min(spaces, key=lambda i: (abs(i - middle), i))
    return [text[:cut], text[cut + 1:]]


def _html(lines: list[str]) -> str:
    """A Graphviz HTML-like label: the lines escaped, joined by breaks (no other DOT escape rules apply)."""
    return "<" + "<BR/>".join(escape(line) for line in lines) + ">"


class _Drawing:
    """The DOT of one drawing, and what the cleaning step writes into the SVG for each Graphviz id we gave: the
    tooltip (`<title>`, in the drawing's language) and data attributes naming the states and triggers."""

    HIGHLIGHT = {"color": CURRENT_FILL, "fontcolor": CURRENT_FILL, "penwidth": "2"}

    def __init__(self, workflow: Workflow, current: str | None, lang: str):
        self.workflow, self.current, self.lang, self.words = workflow, current, lang, _WORDS[lang]
        self.uid = "wfd-" + re.sub(r"[^A-Za-z0-9_-]", "-", f"{workflow.name}-{current or 'none'}-{lang}")
        self.titles: dict[str, str] = {}
        self.data: dict[str, dict[str, str]] = {}
        self._taken = {state.name for state in workflow.states}
        text = {"fontname": FONT, "fontcolor": TEXT}
        self.dot = graphviz.Digraph(
            workflow.name,
            graph_attr={"id": self.uid, "rankdir": "TB", "nodesep": "0.25", "ranksep": "0.3", "bgcolor": "white",
                        "pad": "0.1"},
            node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": STATE_FILL, "color": STATE_STROKE,
                       "penwidth": "1.2", "fontsize": "14", "margin": "0.14,0.05", **text},
            edge_attr={"color": EDGE, "penwidth": "1.1", "arrowsize": "0.7", "fontsize": "12", **text})
        self._states()
        self._moves()

    def _free(self, name: str) -> str:
        """A DOT node name that no state has."""
        while name in self._taken:
            name += "_"
        self._taken.add(name)
        return name

    def _label(self, name: str) -> str:
        return self.workflow.label(name, self.lang)

    def _states(self) -> None:
        uid, words, current = self.uid, self.words, self.current
        start = self._free("start")
        self.dot.node(start, label="", shape="point", width="0.14", color=TEXT, fillcolor=TEXT, id=f"{uid}-start",
                      **{"class": "start"})
        self.titles[f"{uid}-start"] = words["start"]
        self.dot.edge(start, self.workflow.initial, id=f"{uid}-e0", color=TEXT, **{"class": "start"})
        self.titles[f"{uid}-e0"] = f"{words['start']} → {self._label(self.workflow.initial)}"
        for index, state in enumerate(self.workflow.states):
            node_id, label = f"{uid}-s{index}", self._label(state.name)
            lines = _wrap(label, STATE_WRAP)
            attrs = {"id": node_id, "class": "state final" if state.final else "state", "label": _html(lines)}
            notes = [words["final"]] if state.final else []
            if state.final:
                attrs["peripheries"] = "2"
            if state.name == current:
                # told by three means, not by colour alone: a thick border, bold type and the words under the name
                name = "<BR/>".join(escape(line) for line in lines)
                attrs.update(label=f'<<B>{name}</B><BR/><FONT POINT-SIZE="11">{escape(words["current"])}</FONT>>',
                             fillcolor=CURRENT_FILL, color=CURRENT_STROKE, fontcolor="white", penwidth="3")
                attrs["class"] += " current"
                notes.insert(0, words["current"])
            self.dot.node(state.name, **attrs)
            self.titles[node_id] = label + (f" ({', '.join(notes)})" if notes else "")
            self.data[node_id] = {"data-state": state.name,
                                  **({"aria-current": "step"} if state.name == current else {})}

    def _moves(self) -> None:
        """One line per edge; the same move from many states (cancel, withdraw) has their lines meet at a dot,
        from which one labelled arrow goes on."""
        drawn = edges(self.workflow)
        bundles: dict[tuple, list[Edge]] = {}
        for edge in drawn:
            if edge.source != edge.dest:
                bundles.setdefault((edge.dest, edge.triggers, edge.clocked), []).append(edge)
        joins: dict[tuple, str] = {}
        for index, edge in enumerate(drawn, start=1):
            edge_id = f"{self.uid}-e{index}"
            labels = edge.labels(self.workflow, self.lang, self.words["clock"])
            label = _html([line for text in labels for line in _wrap(text, LABEL_WRAP)])
            key = (edge.dest, edge.triggers, edge.clocked)
            attrs = {"id": edge_id, "class": "move", "label": label}
            target = edge.dest
            if len(bundles.get(key, ())) >= BUNDLE:
                if key not in joins:
                    joins[key] = self._join(len(joins) + 1, [member.source for member in bundles[key]], edge,
                                            label, labels)
                attrs.update({"class": "move feed", "label": "", "arrowhead": "none"})
                target = joins[key]
            if edge.source == self.current:  # the ways out of here stand out
                attrs.update(self.HIGHLIGHT)
                attrs["class"] += " from-current"
            self.dot.edge(edge.source, target, **attrs)
            self.titles[edge_id] = f"{self._label(edge.source)} → {self._label(edge.dest)}: " + "; ".join(labels)
            self.data[edge_id] = {"data-source": edge.source, "data-dest": edge.dest,
                                  "data-triggers": " ".join(edge.triggers)}

    def _join(self, number: int, sources: list[str], edge: Edge, label: str, labels: tuple[str, ...]) -> str:
        """The dot where a bundle's lines meet and its one labelled arrow; returns the dot's DOT name."""
        junction, join_id = self._free(f"join {number}"), f"{self.uid}-j{number}-e"
        self.dot.node(junction, label="", shape="point", width="0.07", color=EDGE, fillcolor=EDGE,
                      id=f"{self.uid}-j{number}", **{"class": "junction"})
        self.dot.edge(junction, edge.dest, id=join_id, label=label, **{"class": "join"},
                      **(self.HIGHLIGHT if self.current in sources else {}))
        self.titles[join_id] = (", ".join(self._label(name) for name in sources)
                                + f" → {self._label(edge.dest)}: " + "; ".join(labels))
        self.data[join_id] = {"data-sources": " ".join(sources), "data-dest": edge.dest,
                              "data-triggers": " ".join(edge.triggers)}
        return junction


_UNSAFE_TAGS = {"script", "style", "foreignObject", "image", "use"}  # dropped; a link ("a") is unwrapped


def _clean(raw: str, names: _Drawing, title: str, desc: str) -> str:
    """Graphviz's SVG made fit to inline: prolog, doctype and comments dropped (the parser keeps none), namespaces
    dropped from tag names (written back once as `xmlns`), no style attribute, script or link, a root title.
    Graphviz writes none of those with the attributes used here; this holds if someone adds a `URL` or `tooltip`."""
    root = ET.fromstring(raw)
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
        for name in list(element.attrib):
            local = name.rpartition("}")[2]
            if local == "style" or local.startswith("on") or local.endswith("href"):
                del element.attrib[name]
        if element.get("font-family"):
            element.set("font-family", FONT_FAMILY)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in _UNSAFE_TAGS:
                parent.remove(child)
            elif child.tag == "a":
                at = list(parent).index(child)
                parent.remove(child)
                for offset, inner in enumerate(child):
                    parent.insert(at + offset, inner)
    graph = root.find("g")
    for group in root.iter("g"):
        group_id = group.get("id", "")
        found = group.find("title")
        if found is not None:
            if group is graph or group_id not in names.titles:
                group.remove(found)  # the graph's own name, or an id we did not give
            else:
                found.text = names.titles[group_id]
        for key, value in names.data.get(group_id, {}).items():
            group.set(key, value)
    width = float(root.get("width", "0pt").removesuffix("pt"))
    height = float(root.get("height", "0pt").removesuffix("pt"))
    # the viewBox is in points; the same numbers as pixels draw 14 pt type at 14 px before any scaling
    root.attrib = {"xmlns": SVG_NS, "viewBox": root.get("viewBox", ""), "width": f"{width:g}",
                   "height": f"{height:g}", "role": "img", "aria-labelledby": f"{names.uid}-title {names.uid}-desc",
                   "class": "workflow-diagram"}
    heading = ET.Element("title", id=f"{names.uid}-title")
    heading.text = title
    described = ET.Element("desc", id=f"{names.uid}-desc")
    described.text = desc
    root.insert(0, described)
    root.insert(0, heading)
    return ET.tostring(root, encoding="unicode") + "\n"


def _describe(workflow: Workflow, lang: str) -> str:
    words = _WORDS[lang]
    steps = outline(workflow, lang)
    parts = [f"{words['start']}: {workflow.label(workflow.initial, lang)}."]
    for step in steps:
        if step.moves:
            parts.append(f"{step.label} → " + ", ".join(f"{dest} ({trigger})" for trigger, dest in step.moves) + ".")
    finals = [step.label for step in steps if step.final]
    if finals:
        parts.append(f"{words['final']}: {', '.join(finals)}.")
    return " ".join(parts)


# (id of the workflow, current state, language) -> (the workflow, kept so its id is not reused; the SVG)
_drawn: dict[tuple[int, str | None, str], tuple[Workflow, str]] = {}
_drawing = threading.Lock()


def to_svg(workflow: Workflow, current: str | None = None, lang: str = "lv") -> str:
    """A self-contained SVG of the workflow, `current` marked; rendered by Graphviz once and kept.

    Keyed by the workflow object rather than by value: a Workflow holds a dict, so it does not hash."""
    lang = _lang(lang)
    key = (id(workflow), current, lang)
    hit = _drawn.get(key)
    if hit is not None and hit[0] is workflow:
        return hit[1]
    _check(workflow, current)
    with _drawing:  # one `dot` at a time: a burst of first page views renders each drawing once
        hit = _drawn.get(key)
        if hit is not None and hit[0] is workflow:
            return hit[1]
        drawing = _Drawing(workflow, current, lang)
        svg = _clean(drawing.dot.pipe(format="svg", encoding="utf-8"), drawing, _title(workflow, current, lang),
                     _describe(workflow, lang))
        _drawn[key] = (workflow, svg)
    return svg
