"""axe-core (bundled by axe-playwright-python, no CDN) with the WCAG 2.1 AA rules, for the browser tests.

Cabinet Regulation No. 445 (2020) names LVS EN 301 549, whose web part is WCAG 2.1 level AA: the rules tagged
wcag2a, wcag2aa, wcag21a and wcag21aa. `install(context)` adds axe to every page the context opens (an init script:
the page's CSP does not apply to it, and the 500 kB script is not sent again through the DevTools protocol for each
page, which is most of an axe run's cost when a context visits a hundred pages); `run(page)` then only calls it.
"""
from __future__ import annotations

from axe_playwright_python.base import AXE_SCRIPT

WCAG_21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
SERIOUS = ("critical", "serious")
OPTIONS = {"runOnly": {"type": "tag", "values": list(WCAG_21_AA)}, "resultTypes": ["violations"]}


def install(context) -> None:
    """Every page of `context` (and every frame) gets `window.axe` before its own scripts run."""
    context.add_init_script(script=AXE_SCRIPT)


def start(page) -> None:
    """Start axe on the page as it is now, without waiting: pages of two contexts are audited at the same time
    (each renderer is a process of its own, so both cores work)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)  # a context without `install`
    page.evaluate("options => { window.__axeViolations = axe.run(document, options).then(r => r.violations); }",
                  OPTIONS)


def finish(page) -> list[dict]:
    """The violations (every impact) of the run `start` began on this page."""
    return page.evaluate("() => window.__axeViolations")


def run(page) -> list[dict]:
    """axe's violations of the WCAG 2.1 AA rules on the page as it is now (every impact)."""
    start(page)
    return finish(page)


def serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in SERIOUS]


def describe(violations: list[dict], nodes: int = 3) -> str:
    """One line per rule, with the first few elements it found and why."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:nodes]:
            summary = (node.get("failureSummary") or "").strip().splitlines()
            lines.append(f"    {node['target']}: {summary[-1].strip() if summary else ''}")
    return "\n".join(lines)
