"""axe-core in a Playwright page: the accessibility audit of e2e/test_accessibility.py and
e2e/test_simulator_phone.py.

axe-core (https://github.com/dequelabs/axe-core) is the engine behind Lighthouse's and most
browsers' accessibility checks. It is pinned in ``e2e/package.json``; ``make setup-test``
installs it into ``e2e/node_modules`` (``npm ci``). :func:`audit` injects ``axe.min.js`` into
the page and runs it with the WCAG 2.0/2.1 A and AA rules plus Deque's best practices.

The shop's Content Security Policy allows no inline script, and ``add_script_tag`` injects an
inline one: an audited page must come from a context made with ``bypass_csp=True`` (see
:func:`audit_context`). Every other test keeps the CSP.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page

AXE_JS = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
_RUN = """
async (tags) => {
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.flat().join(" >>> ")),
  }));
}
"""


@dataclass(frozen=True)
class Violation:
    id: str
    impact: str | None
    help: str
    targets: list[str]
    url: str

    def __str__(self) -> str:
        return f"{self.id} ({self.impact}): {self.help} at {', '.join(self.targets)} on {self.url}"


def audit_context(browser: Browser, **options) -> BrowserContext:
    """A browser context whose pages can be audited (``bypass_csp``), ten seconds per action."""
    context = browser.new_context(bypass_csp=True, **options)
    context.set_default_timeout(10_000)
    return context


def audit(page: Page, extra_tags: tuple[str, ...] = ()) -> list[Violation]:
    """axe's violations on the page as it is now (wait for what scripts draw before calling);
    ``extra_tags`` adds rules, e.g. ``("wcag22aa",)`` for WCAG 2.2's target size."""
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS} is missing: run `make setup-test` (npm ci --prefix e2e)")
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=AXE_JS)
    return [Violation(**found, url=page.url) for found in page.evaluate(_RUN, [*TAGS, *extra_tags])]


def describe(violations: list[Violation]) -> str:
    """One line per violation: what a failing assertion prints."""
    return "\n".join(["axe-core found:", *(f"  - {v}" for v in violations)])
