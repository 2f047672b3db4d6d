"""The web chat in a real browser (Debian's Chromium, headless, driven by Playwright): a whole conversation with
the mouse, one question with the keyboard only, and the layout on a 360px phone. Each step is checked with
axe-core (WCAG 2.1 AA) and its screenshot goes to tests/artifacts/ (or $PASSERELLE_ARTIFACTS)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, ConsoleMessage, Page, expect

from bot.storage import Storage
from tests.support.axe import axe_violations, describe
from tests.support.browser import RunningServer, artifacts_dir

pytestmark = pytest.mark.asyncio(loop_scope="session")
COOKIE = "passerelle_chat"


async def open_chat(page: Page) -> None:
    await page.goto("/")
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")


async def answered(page: Page, action: object) -> None:
    """Wait for the answer to what `action` (an awaitable doing a click or a key press) sent."""
    before = int(await page.locator("body").get_attribute("data-answers") or "0")
    await action  # type: ignore[misc]
    await expect(page.locator("body")).to_have_attribute("data-answers", str(before + 1))


async def press(page: Page, value: str) -> None:
    await answered(page, page.locator(f'#choices button[data-value="{value}"]').click())


async def tick_and_confirm(page: Page, values: list[str]) -> None:
    for value in values:
        toggle = page.locator(f'#choices button.toggle[data-value="{value}"]')
        await toggle.click()
        await expect(toggle).to_have_attribute("aria-pressed", "true")
    await press(page, "/valider")


async def type_answer(page: Page, text: str) -> None:
    await page.locator("#typed-input").fill(text)
    await answered(page, page.locator("#typed-input").press("Enter"))


async def sans_reperes_to_the_place(page: Page) -> None:
    """After « Pour moi »: a seldom-used smartphone, up to where one lives (getting about is easy)."""
    for values in (["family_contact"], ["smartphone"]):
        await tick_and_confirm(page, values)
    for value in ("rarely", "yes", "indifferent"):
        await press(page, value)
    await tick_and_confirm(page, ["interest"])
    await press(page, "70_79")
    await press(page, "easy")


async def shot(page: Page, name: str) -> Path:
    """The page as it stands checked with axe-core (no WCAG 2.1 A/AA violation), then its screenshot saved."""
    violations = await axe_violations(page)
    assert violations == [], f"{name}:\n{describe(violations)}"
    path = artifacts_dir() / f"web-chat-{name}.png"
    await page.screenshot(path=path)  # what the person sees: the new turn is scrolled into view
    return path


async def chat_id(context: BrowserContext) -> int:
    cookies = [c for c in await context.cookies() if c["name"] == COOKIE]
    assert len(cookies) == 1
    assert cookies[0]["httpOnly"] is True
    return int(cookies[0]["value"])


async def test_whole_conversation_ends_with_a_recorded_callback(
    page: Page, browser_context: BrowserContext, web_server: RunningServer
) -> None:
    """A person goes through the whole conversation in Chromium with the buttons (several-choice ticks then
    « Valider »), types the postcode 69003, sees places as cards with a map link, asks for a callback with
    06 12 34 56 78: the request is in the database; the page broke no rule of its Content-Security-Policy."""
    problems: list[str] = []
    page.on("console", lambda message: _keep_errors(message, problems))
    page.on("pageerror", lambda error: problems.append(str(error)))
    await open_chat(page)
    await expect(page.locator(".message.bot").last).to_contain_text("pour vous-même ou pour un proche")
    await shot(page, "01-welcome")

    await press(page, "self")
    await expect(page.locator("#choices button.toggle")).not_to_have_count(0)
    await page.locator('#choices button[data-value="family_contact"]').click()
    await shot(page, "02-several-choices")
    await page.locator('#choices button[data-value="leisure"]').click()
    await press(page, "/valider")
    await expect(page.locator(".message.person").last).to_contain_text("Garder le contact")

    await tick_and_confirm(page, ["smartphone", "computer"])
    for value in ("daily", "intermediate", "unsure"):
        await press(page, value)
    await tick_and_confirm(page, ["confidence"])
    await press(page, "easy")
    await expect(page.locator("#typed-label")).to_contain_text("code postal")
    await shot(page, "03-location-question")

    await type_answer(page, "69003")
    cards = page.locator(".offer")
    await expect(cards.first).to_be_visible()
    map_link = cards.first.locator("a", has_text="Voir sur la carte")
    await expect(map_link).to_have_attribute("href", re.compile(r"^https://www\.openstreetmap\.org/\?mlat="))
    await expect(map_link).to_have_attribute("rel", "noopener noreferrer")
    await shot(page, "04-places")

    await press(page, "yes")  # be called back
    await press(page, "yes")  # consent
    await expect(page.locator("#typed-input")).to_have_attribute("type", "tel")
    await shot(page, "05-phone-question")
    await type_answer(page, "06 12 34 56 78")
    await press(page, "morning")
    await type_answer(page, "Rose")
    await expect(page.locator(".message.bot", has_text="une personne vous appellera")).to_be_visible()
    await shot(page, "06-callback-recorded")

    storage = web_server.app.storage
    assert isinstance(storage, Storage)
    callbacks = await storage.callbacks_for(f"web:{await chat_id(browser_context)}")
    assert [(c.phone, c.moment, c.first_name, c.commune) for c in callbacks] == [
        ("+33612345678", "morning", "Rose", "Lyon 3e Arrondissement")
    ]
    assert "chat" not in page.url.removeprefix(web_server.url)  # nothing personal in the address
    assert problems == []


def _keep_errors(message: ConsoleMessage, problems: list[str]) -> None:
    if message.type == "error":
        problems.append(message.text)


async def test_one_question_with_the_keyboard_only(page: Page) -> None:
    """With the keyboard alone: Tab reaches the answer buttons (the focus is visible), Enter answers, the focus
    moves to the next question's first button, Space ticks a several-choice answer and Enter on « Valider »
    confirms."""
    await open_chat(page)
    focused = await _tab_to(page, 'button[data-value="relative"]')
    assert focused, "Tab never reached the « Pour un proche » button"
    ring = await page.evaluate("getComputedStyle(document.activeElement).boxShadow")
    assert ring != "none"
    await shot(page, "07-keyboard-focus")
    await answered(page, page.keyboard.press("Enter"))
    await expect(page.locator(".message.bot").last).to_contain_text("votre proche")
    first_toggle = page.locator("#choices button.toggle").first
    await expect(first_toggle).to_be_focused()
    await page.keyboard.press("Space")
    await expect(first_toggle).to_have_attribute("aria-pressed", "true")
    assert await _tab_to(page, 'button[data-value="/valider"]')
    await answered(page, page.keyboard.press("Enter"))
    await expect(page.locator(".message.person").last).to_contain_text("Garder le contact")
    await expect(page.locator("#choices button").first).to_be_focused()


async def _tab_to(page: Page, selector: str, limit: int = 30) -> bool:
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return True
    return False


async def test_phone_sized_screen_has_big_buttons_and_no_sideways_scroll(
    page: Page, browser_context: BrowserContext
) -> None:
    """On a 360×740 screen, every visible button and button-like link is at least 48px high, the text is at least
    20px, and nothing makes the page scroll sideways: on the first question, a several-choice one, the place
    question (answered with « Utiliser ma position ») and places."""
    await browser_context.grant_permissions(["geolocation"])
    await browser_context.set_geolocation({"latitude": 45.7667, "longitude": 4.8800})  # Villeurbanne
    await page.set_viewport_size({"width": 360, "height": 740})
    await open_chat(page)
    await _check_layout(page, "08-phone-first-question")
    await press(page, "self")
    await _check_layout(page, "09-phone-several-choices")
    await sans_reperes_to_the_place(page)
    await _check_layout(page, "10-phone-location-question")
    await answered(page, page.get_by_role("button", name="Utiliser ma position").click())
    await expect(page.locator(".message.person").last).to_contain_text("Ma position")
    await expect(page.locator(".offer").first).to_be_visible()
    await _check_layout(page, "11-phone-places")


async def _check_layout(page: Page, name: str) -> None:
    sizes = await page.evaluate(
        """() => [...document.querySelectorAll("button, a.button, input")]
            .filter((e) => e.offsetParent !== null)
            .map((e) => [e.textContent.trim() || e.id, e.getBoundingClientRect().height])"""
    )
    assert sizes
    small = [(label, height) for label, height in sizes if height < 48]
    assert small == [], f"controls under 48px high: {small}"
    widths = await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    font = await page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font >= 20
    await shot(page, name)
