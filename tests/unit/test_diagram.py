"""The workflow drawings: mermaid text and the inline SVG laid out by Graphviz (workflows/diagram.py).

Imports only from `workflows`. The SVG tests run Debian's `dot` (package graphviz)."""
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import graphviz
import pytest

from workflows import diagram
from workflows.application import APPLICATION
from workflows.call import CALL
from workflows.definition import ClockMove, State, Workflow, t
from workflows.diagram import CLOCK_MARK, outline, to_mermaid, to_svg
from workflows.money import PAYMENT, RECOVERY
from workflows.report import REPORT
from workflows.review import REVIEW

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
WORKFLOWS = [CALL, APPLICATION, REVIEW, REPORT, PAYMENT, RECOVERY]
IDS = [w.name for w in WORKFLOWS]
LANGS = ["lv", "en"]
CURRENT_WORDS = {"lv": "pašreizējais stāvoklis", "en": "current state"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def text_of(element: ET.Element) -> str:
    """The visible text: every <text>, not the tooltips in <title>."""
    return " ".join(" ".join(" ".join(t.itertext()) for t in element.iter(f"{SVG}text")).split())


def classes(element: ET.Element) -> list[str]:
    return (element.get("class") or "").split()


def groups(root: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if kind in classes(g)]


def states_of(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-state"): g for g in groups(root, "state")}


def pairs(workflow: Workflow):
    """(source, dest, trigger) for every transition and each of its sources."""
    return [(source, tr.dest, tr.trigger) for tr in workflow.transitions for source in tr.source]


def edge_lines(mermaid: str) -> list[str]:
    return [line.strip() for line in mermaid.splitlines() if "-->" in line and "[*]" not in line]


def width(element: ET.Element) -> float:
    return float(element.find(f"{SVG}path").get("stroke-width", "1"))


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


def test_mermaid_joins_triggers_between_the_same_pair():
    lines = edge_lines(to_mermaid(APPLICATION, lang="en"))
    assert "contracted --> terminated: Renounce the agreement / Terminate the agreement" in lines


def test_mermaid_escapes_its_syntax_characters():
    text = to_mermaid(ODD, "b", "en")
    assert 'state "Say #quot;hi#quot;#59; A#58; B" as a' in text
    assert "a --> b: Go #35;1 #lt;now#gt; (⏱)" in text


# --- SVG: content ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_svg_names_every_state_and_marks_the_final_ones(workflow, lang):
    root = parse(to_svg(workflow, lang=lang))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    states = states_of(root)
    assert sorted(states) == sorted(s.name for s in workflow.states)
    for state in workflow.states:
        drawn = states[state.name]
        label = state.en if lang == "en" else state.lv
        assert text_of(drawn) == label
        assert ("final" in classes(drawn)) == state.final
        assert len(drawn.findall(f"{SVG}path")) == (2 if state.final else 1)  # a final state has a double border
        assert drawn.find(f"{SVG}title").text.startswith(label)  # the tooltip, in the page's language


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_svg_labels_every_move_with_its_trigger(workflow, lang):
    root = parse(to_svg(workflow, lang=lang))
    drawn = groups(root, "move")
    for source, dest, trigger in pairs(workflow):
        found = [g for g in drawn if g.get("data-source") == source and g.get("data-dest") == dest]
        assert len(found) == 1, (source, dest)
        assert trigger in found[0].get("data-triggers").split()
        labelled = found[0]
        if "feed" in classes(labelled):  # a line into the dot where a move made from many states is labelled
            joins = [g for g in groups(root, "join")
                     if source in g.get("data-sources").split() and g.get("data-dest") == dest]
            assert len(joins) == 1 and not text_of(labelled), (source, dest)
            labelled = joins[0]
        label = dict(zip(("lv", "en"), workflow.triggers[trigger]))[lang]
        assert label in text_of(labelled), (source, dest, trigger)
    assert len(drawn) == len({(s, d) for s, d, _ in pairs(workflow)})


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_svg_speaks_the_language_asked_for(workflow):
    lv, en = text_of(parse(to_svg(workflow, lang="lv"))), text_of(parse(to_svg(workflow, lang="en")))
    for state in workflow.states:
        if state.lv not in state.en:
            assert state.lv not in en
        if state.en not in state.lv:
            assert state.en not in lv
    for trigger, (lv_label, en_label) in workflow.triggers.items():
        if lv_label not in en_label:
            assert lv_label not in en
        if en_label not in lv_label:
            assert en_label not in lv


def test_svg_keeps_latvian_letters_and_joins_triggers_between_the_same_pair():
    root = parse(to_svg(APPLICATION, lang="lv"))
    assert text_of(states_of(root)["accepted"]) == "Piedāvājums pieņemts"
    joined = [g for g in groups(root, "move") if g.get("data-source") == "contracted"
              and g.get("data-dest") == "terminated"]
    assert len(joined) == 1 and joined[0].get("data-triggers") == "renounce terminate"
    assert text_of(joined[0]) == "Atteikties no līguma Izbeigt līgumu"


def test_a_move_made_alike_from_many_states_is_labelled_once():
    root = parse(to_svg(CALL, lang="en"))
    joins = groups(root, "join")
    assert [(g.get("data-sources"), g.get("data-dest"), g.get("data-triggers")) for g in joins] == \
        [("draft announced open closed evaluation ranking", "cancelled", "cancel")]
    assert text_of(joins[0]) == "Cancel the call"
    assert text_of(root).count("Cancel the call") == 1
    assert len(groups(root, "feed")) == 6
    withdrawn = [g for g in groups(parse(to_svg(APPLICATION, lang="lv")), "join") if g.get("data-dest") == "withdrawn"]
    assert withdrawn[0].get("data-sources").split() == ["submitted", "clarification", "eligible", "in_review",
                                                        "reviewed", "reserve"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_svg_marks_the_current_state_and_not_by_colour_alone(workflow):
    root = parse(to_svg(workflow))
    assert not groups(root, "current") and not [e for e in root.iter() if e.get("aria-current")]
    for lang in LANGS:
        for state in workflow.states:
            root = parse(to_svg(workflow, state.name, lang))
            marked = groups(root, "current")
            assert [g.get("data-state") for g in marked] == [state.name]
            current = marked[0]
            assert current.get("aria-current") == "step"
            label = state.en if lang == "en" else state.lv
            assert text_of(current) == f"{label} {CURRENT_WORDS[lang]}"  # said in words under the name
            assert current.find(f"{SVG}text").get("font-weight") == "bold"
            others = [g for g in groups(root, "state") if g is not current]
            assert all(width(current) > width(other) for other in others)  # a thicker border
            assert f"{CURRENT_WORDS[lang]}: {label}" in root.find(f"{SVG}title").text


def test_svg_highlights_the_moves_out_of_the_current_state():
    root = parse(to_svg(APPLICATION, "reserve"))
    highlighted = sorted(g.get("data-dest") for g in groups(root, "from-current"))
    assert highlighted == ["appealed", "funded", "not_funded", "withdrawn"]
    assert all(g.get("data-source") == "reserve" for g in groups(root, "from-current"))


def test_svg_says_which_moves_the_clock_makes():
    root = parse(to_svg(CALL, lang="en"))
    marked = sorted(g.get("data-triggers") for g in groups(root, "move") if "(at the set time)" in text_of(g))
    assert marked == ["close", "open"]
    lv = parse(to_svg(CALL, lang="lv"))
    assert [g.get("data-triggers") for g in groups(lv, "move") if "(noteiktajā laikā)" in text_of(g)] == \
        ["open", "close"]


def test_svg_describes_itself_for_screen_readers():
    root = parse(to_svg(CALL, "open", "en"))
    first, second = list(root)[:2]
    assert first.tag == f"{SVG}title" and second.tag == f"{SVG}desc"
    assert root.get("aria-labelledby").split() == [first.get("id"), second.get("id")]
    assert first.text == "State diagram: call; current state: Open"
    assert "start: Draft." in second.text
    assert "Open → Open (Extend the deadline), Closed (Close (at the set time)), Cancelled (Cancel the call)." \
        in second.text
    assert "final state: Completed, Cancelled." in second.text


def test_outline_lists_each_state_with_its_ways_out():
    steps = outline(CALL, "en")
    assert [s.label for s in steps] == ["Draft", "Announced", "Open", "Closed", "In evaluation", "Ranking",
                                        "Awarded", "Reporting", "Completed", "Cancelled"]
    assert steps[0].moves == (("Announce", "Announced"), ("Cancel the call", "Cancelled"))
    assert steps[1].moves == (("Open (at the set time)", "Open"), ("Cancel the call", "Cancelled"))
    assert [s.label for s in steps if s.final] == ["Completed", "Cancelled"]
    assert steps[-1].moves == ()
    assert outline(CALL, "lv")[0].moves[0] == ("Izsludināt", "Izsludināts")


# --- SVG: fit to inline under the CSP ----------------------------------------------------------------------------

@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_svg_is_self_contained_and_csp_safe(workflow):
    svg = to_svg(workflow, workflow.initial)
    assert svg.startswith("<svg ")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<!--" not in svg
    root = parse(svg)
    for element in root.iter():
        assert element.tag.removeprefix(SVG) not in ("style", "script", "image", "foreignObject", "a", "use")
        assert "style" not in element.attrib
        assert not any(name.startswith("on") or name.endswith("href") for name in element.attrib)
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    for text in root.iter(f"{SVG}text"):  # fonts and colours as presentation attributes
        assert "sans-serif" in text.get("font-family") and text.get("fill")


def test_the_cleaning_drops_what_the_csp_or_an_inline_svg_cannot_have():
    """What Graphviz writes with other attributes (a URL, a tooltip, a stylesheet) than the ones used today."""
    raw = ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
           '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
           '<!-- Generated by graphviz -->\n'
           '<svg width="80pt" height="40pt" viewBox="0.00 0.00 80.00 40.00" xmlns="http://www.w3.org/2000/svg" '
           'xmlns:xlink="http://www.w3.org/1999/xlink" style="background: red">'
           '<style>text { fill: red }</style><script>alert(1)</script>'
           '<g id="graph0" class="graph"><title>G</title>'
           '<g id="n1" class="node" onclick="alert(1)"><title>n1</title>'
           '<a xlink:href="https://example.org/" xlink:title="tip"><text font-family="Times,serif" style="x:1">A</text>'
           '</a></g></g></svg>')
    drawing = SimpleNamespace(uid="u", titles={"n1": "Sagatave"}, data={"n1": {"data-state": "draft"}})
    svg = diagram._clean(raw, drawing, "Virsraksts", "Apraksts")
    assert "<?xml" not in svg and "DOCTYPE" not in svg and "<!--" not in svg and "alert" not in svg
    assert "style" not in svg and "href" not in svg and "onclick" not in svg and "example.org" not in svg
    root = parse(svg)
    assert [child.tag for child in root] == [f"{SVG}title", f"{SVG}desc", f"{SVG}g"]
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("80", "40", "0.00 0.00 80.00 40.00")
    node = root.find(f".//{SVG}g[@id='n1']")
    assert node.get("data-state") == "draft" and node.find(f"{SVG}title").text == "Sagatave"
    assert text_of(node) == "A"  # the link is gone, its text stays
    assert root.find(f"{SVG}g").find(f"{SVG}title") is None  # the graph's own name ("G") is not a tooltip


def test_drawings_on_one_page_share_no_id():
    seen: list[str] = []
    for workflow in WORKFLOWS:
        seen += [e.get("id") for e in parse(to_svg(workflow, lang="lv")).iter() if e.get("id")]
    seen += [e.get("id") for e in parse(to_svg(CALL, "open", "lv")).iter() if e.get("id")]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_svg_has_a_size_to_scale_from(workflow):
    root = parse(to_svg(workflow))
    _, _, box_width, box_height = (float(v) for v in root.get("viewBox").split())
    assert abs(float(root.get("width")) - box_width) < 1 and abs(float(root.get("height")) - box_height) < 1


def test_the_application_fits_a_page_column_at_its_own_size():
    root = parse(to_svg(APPLICATION, "reserve", "lv"))
    assert float(root.get("width")) <= 1140  # Bootstrap's widest container; narrower ones scale it down


# --- SVG: rendered once --------------------------------------------------------------------------------------------

def test_each_drawing_is_rendered_once_and_kept(monkeypatch):
    lone = Workflow(name="kept", entity="kept", initial="a", states=(State("a", "A", "A"), State("b", "B", "B")),
                    transitions=(t("go", "a", "b", "admin"),))
    first = to_svg(lone, "a", "en")

    def no_more_rendering(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(graphviz.Digraph, "pipe", no_more_rendering)
    assert to_svg(lone, "a", "en") is first
    assert to_svg(lone, "a", lang="en") is first
    with pytest.raises(AssertionError, match="rendered again"):
        to_svg(lone, "b", "en")  # another state is another drawing
    with pytest.raises(AssertionError, match="rendered again"):
        to_svg(lone, "a", "lv")  # and so is another language


def test_an_equal_but_different_workflow_is_not_served_from_another_s_drawing():
    a = Workflow(name="same", entity="x", initial="s", states=(State("s", "Viens", "One"),), transitions=())
    b = Workflow(name="same", entity="x", initial="s", states=(State("s", "Divi", "Two"),), transitions=())
    assert "Viens" in to_svg(a) and "Divi" in to_svg(b)


# --- odd inputs ----------------------------------------------------------------------------------------------------

ODD = Workflow(
    name="odd & <co>",
    entity="odd",
    initial="a",
    states=(
        State("a", 'Say "hi"; A: B', 'Say "hi"; A: B'),
        State("b", "B & <b>x</b> \\n", "B & <b>x</b> \\n", final=True),
        State("orphan", "Nobody comes here", "Nobody comes here"),
        State("start", "Named like the start dot", "Named like the start dot"),
    ),
    transitions=(t("go", "a", "b", "admin"), t("poke", "orphan", "orphan", "admin")),
    triggers={"go": ("Go #1 <now>", "Go #1 <now>")},
    clock=(ClockMove("go", "a", "at"),),
)


def test_odd_labels_are_drawn_as_written():
    root = parse(to_svg(ODD, "b", "en"))
    states = states_of(root)
    assert text_of(states["a"]) == 'Say "hi"; A: B'
    assert text_of(states["b"]) == "B & <b>x</b> \\n current state"
    assert text_of(states["start"]) == "Named like the start dot"  # not taken for the start dot
    assert len(groups(root, "start")) == 2  # the dot and its arrow
    assert "odd & <co>" in root.find(f"{SVG}title").text
    go = [g for g in groups(root, "move") if g.get("data-triggers") == "go"]
    assert text_of(go[0]) == "Go #1 <now> (at the set time)"
    assert [g.get("data-triggers") for g in groups(root, "move")] == ["go", "poke"]


def test_a_single_state_workflow_draws():
    lone = Workflow(name="lone", entity="lone", initial="only", states=(State("only", "Viens", "One", final=True),),
                    transitions=())
    root = parse(to_svg(lone, "only"))
    assert list(states_of(root)) == ["only"]
    assert "[*] --> only" in to_mermaid(lone) and "only --> [*]" in to_mermaid(lone)


def test_an_unknown_current_state_is_refused():
    with pytest.raises(KeyError):
        to_svg(APPLICATION, "nonsense")
    with pytest.raises(KeyError):
        to_mermaid(APPLICATION, "nonsense")


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


def test_the_drawing_imports_no_web_or_database_code():
    code = ("import sys, workflows.diagram; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'app')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_hand_layout_is_gone():
    assert not hasattr(diagram, "_Layout") and not hasattr(diagram, "layers")
    assert len((ROOT / "workflows" / "diagram.py").read_text(encoding="utf-8").splitlines()) < 400


def test_the_cli_draws_svg_and_mermaid(runner):
    svg = runner.invoke(args=["workflows", "diagram", "call", "--format", "svg", "--lang", "en"])
    assert svg.exit_code == 0, svg.output
    root = parse(svg.output)
    assert text_of(states_of(root)["draft"]) == "Draft" and "Cancel the call" in text_of(root)
    mermaid = runner.invoke(args=["workflows", "diagram", "call", "--format", "mermaid"])
    assert mermaid.exit_code == 0 and 'state "Sagatave" as draft' in mermaid.output


def test_the_workflows_page_lists_the_states_beside_each_drawing(client):
    page = client.get("/workflows").get_data(as_text=True)
    assert page.count('role="region"') == len(WORKFLOWS) and page.count('<svg xmlns=') == len(WORKFLOWS)
    assert "<li><strong>Izsludināts</strong>: Atvērt (noteiktajā laikā) → Atvērts pieteikšanās; " \
           "Atcelt konkursu → Atcelts</li>" in page
    assert "<li><strong>Atcelts</strong> (beigu stāvoklis)</li>" in page
    assert ' style="' not in page and "<style" not in page
