"""The workflow drawings: mermaid text and inline SVG (workflows/diagram.py). Imports only from `workflows`."""
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from workflows.application import APPLICATION
from workflows.call import CALL
from workflows.definition import ClockMove, State, Workflow, t
from workflows.diagram import CLOCK_MARK, CURRENT_FILL, edges, layers, to_mermaid, to_svg
from workflows.money import PAYMENT, RECOVERY
from workflows.report import REPORT
from workflows.review import REVIEW

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
WORKFLOWS = [CALL, APPLICATION, REVIEW, REPORT, PAYMENT, RECOVERY]
IDS = [w.name for w in WORKFLOWS]
LANGS = ["lv", "en"]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def text_of(element: ET.Element) -> str:
    return " ".join(" ".join(element.itertext()).split())


def groups(root: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if kind in (g.get("class") or "").split()]


def pairs(workflow: Workflow):
    """(source, dest, trigger) for every transition and each of its sources."""
    return [(source, tr.dest, tr.trigger) for tr in workflow.transitions for source in tr.source]


def edge_lines(mermaid: str) -> list[str]:
    return [line.strip() for line in mermaid.splitlines() if "-->" in line and "[*]" not in line]


# --- mermaid -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_mermaid_has_every_state_and_transition(workflow, lang):
    text = to_mermaid(workflow, lang=lang)
    assert "stateDiagram-v2" in text
    for state in workflow.states:
        assert f'state "{workflow.label(state.name, lang)}" as {state.name}' in text
    lines = edge_lines(text)
    for source, dest, trigger in pairs(workflow):
        matching = [line for line in lines if line.startswith(f"{source} --> {dest}: ")]
        assert len(matching) == 1, (source, dest)
        assert workflow.trigger_label(trigger, lang) in matching[0]
    assert len(lines) == len({(s, d) for s, d, _ in pairs(workflow)})  # one edge per (source, dest) pair
    assert f"[*] --> {workflow.initial}" in text
    for state in workflow.states:
        assert (f"  {state.name} --> [*]" in text.splitlines()) == state.final


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_mermaid_marks_the_current_state_once(workflow):
    assert "classDef current" in to_mermaid(workflow)
    assert not re.search(r"^\s*class \w+ current$", to_mermaid(workflow), re.M)
    for state in workflow.states:
        marks = re.findall(r"^\s*class (\w+) current$", to_mermaid(workflow, state.name), re.M)
        assert marks == [state.name]


def test_mermaid_marks_clock_moves_and_only_them():
    lines = edge_lines(to_mermaid(CALL, lang="en"))
    marked = sorted(line.split(":")[0] for line in lines if CLOCK_MARK in line)
    assert marked == ["announced --> open", "open --> closed"]
    assert "announced --> open: Open (⏱)" in lines
    assert not any(CLOCK_MARK in line for line in edge_lines(to_mermaid(APPLICATION)))


def test_mermaid_joins_triggers_between_the_same_pair():
    lines = edge_lines(to_mermaid(APPLICATION, lang="en"))
    assert "contracted --> terminated: Renounce the agreement / Terminate the agreement" in lines


def test_mermaid_escapes_its_syntax_characters():
    text = to_mermaid(ODD, "b", "en")
    assert 'state "Say #quot;hi#quot;#59; A#58; B" as a' in text
    assert "a --> b: Go #35;1 #lt;now#gt; (⏱)" in text


# --- SVG ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_svg_parses_and_has_every_state(workflow, lang):
    root = parse(to_svg(workflow, lang=lang))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    states = {g.get("data-state"): g for g in groups(root, "state")}
    assert list(states) == [s.name for s in workflow.states]
    for state in workflow.states:
        assert text_of(states[state.name]) == workflow.label(state.name, lang)
        final_marks = len(states[state.name].findall(f"{SVG}rect"))
        assert final_marks == (2 if state.final else 1)  # a final state has a double border
        assert ("final" in states[state.name].get("class").split()) == state.final


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_svg_draws_every_trigger_on_an_edge(workflow, lang):
    root = parse(to_svg(workflow, lang=lang))
    drawn = groups(root, "edge")
    labels = groups(root, "edge-label") + [g for g in drawn if "loop" in g.get("class").split()]
    for source, dest, trigger in pairs(workflow):
        lines = [g for g in drawn if source in g.get("data-sources").split() and g.get("data-dest") == dest
                 and trigger in g.get("data-triggers").split()]
        assert lines, (source, dest, trigger)
        assert len(lines[0].findall(f".//{SVG}path")) == 1, (source, dest)
        texts = [text_of(g) for g in labels if trigger in g.get("data-triggers").split()]
        assert any(workflow.trigger_label(trigger, lang) in text for text in texts), trigger


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_svg_marks_the_current_state_once(workflow):
    root = parse(to_svg(workflow))
    assert not [e for e in root.iter() if e.get("aria-current")]
    for state in workflow.states:
        root = parse(to_svg(workflow, state.name))
        marked = [e for e in root.iter() if e.get("aria-current")]
        assert len(marked) == 1
        assert marked[0].get("aria-current") == "step"
        assert marked[0].get("data-state") == state.name
        assert marked[0].find(f"{SVG}rect").get("fill") == CURRENT_FILL
        filled = [g for g in groups(root, "state") if g.find(f"{SVG}rect").get("fill") == CURRENT_FILL]
        assert filled == marked
        title = root.find(f"{SVG}title").text
        assert workflow.name in title and workflow.label(state.name, "lv") in title


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_svg_is_self_contained_and_csp_safe(workflow):
    svg = to_svg(workflow, workflow.initial)
    root = parse(svg)
    for element in root.iter():
        assert element.tag not in (f"{SVG}style", f"{SVG}script", f"{SVG}image", f"{SVG}foreignObject")
        assert "style" not in element.attrib
        assert not any(name.startswith("on") for name in element.attrib)
        assert not any(name.endswith("href") for name in element.attrib)
    assert re.findall(r"url\((.*?)\)", svg) and all(ref.startswith("#") for ref in re.findall(r"url\((.*?)\)", svg))
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    assert all(ref in ids for ref in root.get("aria-labelledby").split())
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_svg_labels_switch_language(workflow):
    lv, en = text_of(parse(to_svg(workflow, lang="lv"))), text_of(parse(to_svg(workflow, lang="en")))
    assert lv != en
    for state in workflow.states:
        if state.lv not in state.en:
            assert state.lv in lv and state.lv not in en
        if state.en not in state.lv:
            assert state.en in en and state.en not in lv


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_output_is_deterministic(workflow):
    assert to_svg(workflow, workflow.initial, "en") == to_svg(workflow, workflow.initial, "en")
    assert to_mermaid(workflow, workflow.initial, "en") == to_mermaid(workflow, workflow.initial, "en")


def test_output_does_not_depend_on_the_hash_seed():
    code = ("from workflows.application import APPLICATION; from workflows.diagram import to_svg, to_mermaid; "
            "import hashlib; print(hashlib.sha256((to_svg(APPLICATION, 'reserve') + to_mermaid(APPLICATION))"
            ".encode()).hexdigest())")
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        digests.add(subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                                   check=True).stdout)
    assert len(digests) == 1


def boxes(root: ET.Element) -> list[tuple[str, float, float, float, float]]:
    """The outer box of every state and every edge label: (what, x0, y0, x1, y1)."""
    found = []
    for g in groups(root, "state") + groups(root, "edge-label") + groups(root, "loop"):
        rects = g.findall(f"{SVG}rect")
        rect = rects[0]
        x, y = float(rect.get("x")), float(rect.get("y"))
        found.append((g.get("data-state") or g.get("data-triggers"), x, y, x + float(rect.get("width")),
                      y + float(rect.get("height"))))
    return found


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_svg_boxes_do_not_overlap_and_fit(workflow, lang):
    root = parse(to_svg(workflow, lang=lang))
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    found = boxes(root)
    for i, (a, ax0, ay0, ax1, ay1) in enumerate(found):
        assert 0 <= ax0 < ax1 <= width and 0 <= ay0 < ay1 <= height, a
        for b, bx0, by0, bx1, by1 in found[i + 1:]:
            assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, (a, b)


def test_application_fits_a_page_column():
    root = parse(to_svg(APPLICATION, "reserve", "en"))
    assert float(root.get("width")) <= 1000


def test_svg_collapses_transitions_between_the_same_pair():
    root = parse(to_svg(APPLICATION, lang="en"))
    lines = [g for g in groups(root, "edge") if g.get("data-sources") == "contracted"
             and g.get("data-dest") == "terminated"]
    assert len(lines) == 1 and lines[0].get("data-triggers") == "renounce terminate"
    labels = [g for g in groups(root, "edge-label") if g.get("data-triggers") == "renounce terminate"]
    assert len(labels) == 1
    assert text_of(labels[0]) == "Renounce the agreement Terminate the agreement"


def test_svg_draws_a_self_loop_with_its_label():
    root = parse(to_svg(CALL, lang="en"))
    loops = groups(root, "loop")
    assert sorted(g.get("data-triggers") for g in loops) == ["confirm_ranking", "extend_deadline"]
    assert all(g.get("data-sources") == g.get("data-dest") for g in loops)
    assert "Extend the deadline" in [text_of(g) for g in loops]


def test_svg_draws_the_clock_mark():
    root = parse(to_svg(CALL, lang="en"))
    marked = [g for g in groups(root, "edge-label") if g.find(f".//{SVG}g[@class='clock-mark']") is not None]
    assert sorted(g.get("data-triggers") for g in marked) == ["close", "open"]
    assert CLOCK_MARK in root.find(f"{SVG}desc").text


def test_svg_highlights_the_moves_out_of_the_current_state():
    root = parse(to_svg(APPLICATION, "reserve"))
    for g in groups(root, "edge"):
        blue = any(p.get("stroke") == CURRENT_FILL for p in g.iter(f"{SVG}path"))
        assert blue == ("reserve" in g.get("data-sources").split()), g.get("data-triggers")


# --- layout and odd inputs ----------------------------------------------------------------------------------------

ODD = Workflow(
    name="odd & <co>",
    entity="odd",
    initial="a",
    states=(
        State("a", 'Say "hi"; A: B', 'Say "hi"; A: B'),
        State("b", "B & <b>", "B & <b>", final=True),
        State("orphan", "Nobody comes here", "Nobody comes here"),
    ),
    transitions=(t("go", "a", "b", "admin"), t("poke", "orphan", "orphan", "admin")),
    triggers={"go": ("Go #1 <now>", "Go #1 <now>")},
    clock=(ClockMove("go", "a", "at"),),
)


def test_layers_are_bfs_distances_and_unreachable_states_come_last():
    depth = layers(APPLICATION)
    assert depth["draft"] == 0 and depth["submitted"] == 1
    assert depth["withdrawn"] == depth["clarification"] == depth["eligible"] == depth["ineligible"] == 2
    assert depth["closed"] == depth["terminated"] == max(depth.values())
    assert layers(ODD) == {"a": 0, "b": 1, "orphan": 2}


def test_odd_labels_are_escaped_and_unreachable_states_drawn():
    svg = to_svg(ODD, "b", "en")
    root = parse(svg)
    states = {g.get("data-state"): g for g in groups(root, "state")}
    assert text_of(states["a"]) == 'Say "hi"; A: B'
    assert text_of(states["b"]) == "B & <b>"
    assert "odd & <co>" in root.find(f"{SVG}title").text
    y = {name: float(g.find(f"{SVG}rect").get("y")) for name, g in states.items()}
    assert y["a"] < y["b"] < y["orphan"]
    label = groups(root, "edge-label")[0]
    assert text_of(label) == "Go #1 <now>"  # the clock mark is drawn, not typed
    assert [e.labels for e in edges(ODD, "en")] == [("Go #1 <now> (⏱)",), ("poke",)]


def test_a_single_state_workflow_draws():
    lone = Workflow(name="lone", entity="lone", initial="only", states=(State("only", "Viens", "One", final=True),),
                    transitions=())
    root = parse(to_svg(lone, "only"))
    assert [g.get("data-state") for g in groups(root, "state")] == ["only"]
    assert "[*] --> only" in to_mermaid(lone) and "only --> [*]" in to_mermaid(lone)


def test_an_unknown_current_state_is_refused():
    with pytest.raises(KeyError):
        to_svg(APPLICATION, "nonsense")
    with pytest.raises(KeyError):
        to_mermaid(APPLICATION, "nonsense")


def test_the_drawing_imports_no_web_or_database_code():
    code = ("import sys, workflows.diagram; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'app')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
