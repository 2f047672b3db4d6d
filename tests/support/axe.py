"""Accessibility checks with axe-core in the browser tests: npm's `axe-core` (a pinned version) installed once into
a cache folder with `npm install` when missing (the npm registry is the only network it uses, at set-up, as
tests/support/browser.py installs Chromium with apt-get), injected into a Playwright page, which it checks against
WCAG 2.1 A and AA.

    violations = await axe_violations(page)
    assert violations == [], describe(violations)
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Page

AXE_VERSION = "4.10.3"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
INSTALL_TIMEOUT = 300  # seconds: one small package from the npm registry


class AxeSetupError(RuntimeError):
    """axe-core is missing and could not be installed: the message says what to do."""


def cache_dir() -> Path:
    """Where axe-core is installed: $PASSERELLE_CACHE, else ~/.cache/passerelle (shared by worktrees and runs)."""
    base = os.environ.get("PASSERELLE_CACHE") or str(Path.home() / ".cache" / "passerelle")
    return Path(base) / f"axe-core-{AXE_VERSION}"


def ensure_axe(folder: Path | None = None) -> Path:
    """The path of axe.min.js of AXE_VERSION, installed with `npm install` into `folder` when missing (one installer
    at a time, even with several test processes). Raises AxeSetupError; accessibility checks never skip."""
    folder = folder or cache_dir()
    script = folder / "node_modules" / "axe-core" / "axe.min.js"
    if script.is_file():
        return script
    npm = shutil.which("npm")
    if npm is None:
        raise AxeSetupError(f"{script} is missing and npm is not installed: apt-get install -y npm")
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if script.is_file():
            return script
        command = [npm, "install", "--prefix", str(folder), "--no-save", "--no-audit", "--no-fund", "--ignore-scripts"]
        try:
            result = subprocess.run(
                [*command, f"axe-core@{AXE_VERSION}"],
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise AxeSetupError(f"`npm install axe-core@{AXE_VERSION}` took more than {INSTALL_TIMEOUT} s") from exc
        if result.returncode != 0 or not script.is_file():
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise AxeSetupError(f"`npm install axe-core@{AXE_VERSION}` failed (exit {result.returncode}):\n{tail}")
    return script


@cache
def axe_source() -> str:
    return ensure_axe().read_text(encoding="utf-8")


async def axe_violations(page: Page, tags: tuple[str, ...] = WCAG_TAGS) -> list[dict[str, Any]]:
    """The WCAG 2.1 A and AA violations axe-core finds in the page as it is now (open dialogs, folded parts and
    all), or those of the rules of other `tags` ("best-practice": landmarks, headings' order…):
    `{"id", "impact", "help", "nodes": [CSS selectors]}` each. Injected through the DevTools protocol, which
    the page's Content-Security-Policy (no inline script) does not govern."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(axe_source() + "\n;undefined")
    result: list[dict[str, Any]] = await page.evaluate(
        """async (tags) => {
            const options = { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] };
            const found = await axe.run(document, options);
            return found.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")),
            }));
        }""",
        list(tags),
    )
    return result


def describe(violations: list[dict[str, Any]]) -> str:
    """The violations one per line, for an assertion's message."""
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'][:5])}" for v in violations)
