"""« Garder la liste » in the web chat, in a real browser (Debian's Chromium, headless, driven by Playwright): the
link under the gathered places opens the printable list, a server-rendered page of its own in large type, at
phone size and on a desktop, with a print stylesheet and no WCAG 2.1 A/AA violation (axe-core); another browser
(no conversation cookie) gets no list. Screenshots go to tests/artifacts/ (or $PASSERELLE_ARTIFACTS)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.channels.web.test_browser_chat import open_chat, press, tick_and_confirm, type_answer
from tests.support.axe import axe_violations, describe
from tests.support.browser import RunningServer, artifacts_dir, block_outside

pytestmark = pytest.mark.asyncio(loop_scope="session")
# A timide who wants to keep in touch with the family, living in Lyon 3e (the bundled catalogue's places).
ANSWERS = ["self", "family_contact", "smartphone", "weekly", "intermediate", "unsure", "confidence", "easy"]


async def answer(page: Page, value: str) -> None:
    if await page.locator("#choices button.toggle").count():
        await tick_and_confirm(page, [value])
    else:
        await press(page, value)


async def test_the_printable_list_at_phone_size_and_on_a_desktop(
    page: Page, browser_context: BrowserContext, chromium: Browser, web_server: RunningServer
) -> None:
    """After the places of 69003, « Garder la liste » gathers them in one message with a link; the link opens
    /liste in a new tab: a heading, the three places with tidied addresses and French phone numbers, a print
    button, large type, no horizontal scrolling at 360 px, the buttons hidden when printed; the same page at
    1280 px. A browser without the conversation's cookie gets « no list yet », not the places."""
    await open_chat(page)
    for value in ANSWERS:
        await answer(page, value)
    await type_answer(page, "69003")
    names = [n.strip() for n in await page.locator(".offer strong").all_inner_texts()]
    assert len(names) == 3
    await press(page, "keep")
    link = page.locator("#messages a", has_text="Ouvrir la liste à imprimer")
    await expect(link).to_have_count(1)
    assert await link.get_attribute("href") == "/liste"
    async with browser_context.expect_page() as opened:
        await link.click()
    printable = await opened.value
    await printable.wait_for_load_state()
    assert printable.url.endswith("/liste")
    await expect(printable.locator("h1")).to_have_text("Lieux d'aide au numérique")
    await expect(printable.locator("li.place h2")).to_have_text(names)
    body = await printable.locator("body").inner_text()
    assert "+33" not in body
    week = await printable.locator(".week li").all_inner_texts()
    assert week  # the week's hours of places publishing them
    assert all(re.match(r"^(Lundi|Mardi|Mercredi|Jeudi|Vendredi|Samedi|Dimanche) : ", line) for line in week), week
    phones = await printable.locator(".phone a").all_inner_texts()
    assert phones
    assert all(len(p.replace(" ", "")) == 10 and p[2] == " " for p in phones), phones
    size = await printable.evaluate("parseFloat(getComputedStyle(document.querySelector('.address')).fontSize)")
    assert size >= 19  # large type: 20 px for text at 125 %
    assert await printable.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    violations = await axe_violations(printable)
    assert violations == [], f"printable list, phone:\n{describe(violations)}"
    await printable.screenshot(path=artifacts_dir() / "printable-list-phone.png", full_page=True)
    await printable.emulate_media(media="print")
    await expect(printable.locator(".tools")).to_be_hidden()
    await printable.emulate_media(media="screen")
    await printable.set_viewport_size({"width": 1280, "height": 900})
    await expect(printable.locator("#print")).to_be_visible()
    violations = await axe_violations(printable)
    assert violations == [], f"printable list, desktop:\n{describe(violations)}"
    await printable.screenshot(path=artifacts_dir() / "printable-list-desktop.png", full_page=True)
    await printable.close()

    stranger = await chromium.new_context(base_url=web_server.url, locale="fr-FR")
    await stranger.route("**/*", block_outside)
    try:
        other = await stranger.new_page()
        response = await other.goto("/liste")
        assert response is not None
        assert response.status == 404
        assert response.headers["cache-control"] == "no-store"
        text = await other.locator("body").inner_text()
        assert "aucun lieu" in text
        assert not any(name in text for name in names)
    finally:
        await stranger.close()
