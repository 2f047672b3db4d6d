"""A relative's whole conversation in the web chat, in Chromium at phone size then desktop size: every question and
button speaks of « votre proche », getting about is difficult so the nearest places come first, the list is kept
as a printable page written for the relative, who to call comes before the number, and once « Mon proche
directement » is chosen the number, the moment and the confirmation speak of them. axe-core checks each state
against WCAG 2.1 AA; screenshots go to tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.channels.web.test_browser_chat import open_chat, press, tick_and_confirm, type_answer
from tests.support.axe import axe_violations, describe
from tests.support.browser import RunningServer, artifacts_dir

pytestmark = pytest.mark.asyncio(loop_scope="session")
DISTANCE = re.compile(r"à (\d+(?:,\d+)?) (m|km)\b")


async def accessible(page: Page, name: str) -> None:
    violations = await axe_violations(page)
    assert violations == [], f"{name}:\n{describe(violations)}"
    await page.screenshot(path=artifacts_dir() / f"web-relative-{name}.png")


async def last_question(page: Page) -> str:
    return await page.locator(".message.bot").last.inner_text()


async def labels(page: Page) -> list[str]:
    return [label.strip() for label in await page.locator("#choices button").all_inner_texts()]


def kilometres(text: str) -> float:
    number, unit = DISTANCE.search(text).groups()  # type: ignore[union-attr]
    value = float(number.replace(",", "."))
    return value if unit == "km" else value / 1000


@pytest.mark.parametrize(
    "size", [{"width": 390, "height": 844}, {"width": 1280, "height": 800}], ids=["phone", "desktop"]
)
async def test_a_relative_is_spoken_to_about_votre_proche_to_the_end(
    page: Page, browser_context: BrowserContext, web_server: RunningServer, size: dict[str, int]
) -> None:
    name = "phone" if size["width"] < 500 else "desktop"
    await page.set_viewport_size(size)
    await open_chat(page)
    await press(page, "relative")
    assert "votre proche" in (await last_question(page)).casefold()
    await accessible(page, f"01-goals-{name}")
    await tick_and_confirm(page, ["family_contact"])
    await tick_and_confirm(page, ["smartphone"])
    for value in ("rarely", "yes"):
        assert "votre proche" in (await last_question(page)).casefold()
        await press(page, value)
    attitude = await labels(page)
    assert "Mon proche n'en veut pas" in attitude, attitude
    assert "Mon proche manque d'assurance" in attitude, attitude
    assert not [label for label in attitude if re.search(r"\b(?:pour moi|sûr de moi)\b", label)], attitude
    await accessible(page, f"02-attitude-{name}")
    await press(page, "unsure")
    await tick_and_confirm(page, ["confidence"])
    await press(page, "70_79")
    assert "votre proche" in (await last_question(page)).casefold()  # getting about
    await press(page, "difficult")
    await type_answer(page, "69003")

    offers = page.locator(".offer")
    await expect(offers.first).to_be_visible()
    shown = [kilometres(text) for text in await offers.all_inner_texts() if DISTANCE.search(text)]
    assert shown == sorted(shown), shown  # getting about is difficult: the nearest first
    intro = (await page.locator(".message.bot", has_text="lieux").last.inner_text()).casefold()
    assert "chez vous" not in intro, intro  # the places are near the relative's parent, not the writer
    await accessible(page, f"03-places-{name}")

    await press(page, "keep")
    link = page.locator("#messages a", has_text="Ouvrir la liste à imprimer")
    await expect(link).to_be_visible()
    async with browser_context.expect_page() as opened:
        await link.click()
    printable = await opened.value
    await expect(printable.locator("h1")).to_be_visible()
    assert await printable.locator(".place, li, article").count() >= 1
    violations = await axe_violations(printable)
    assert violations == [], describe(violations)
    await printable.screenshot(path=artifacts_dir() / f"web-relative-04-printable-{name}.png", full_page=True)
    await printable.close()

    await press(page, "yes")  # be called back
    await press(page, "yes")  # consent
    who = await last_question(page)
    assert "votre proche" in who.casefold(), who  # who to call, before any number
    assert await page.locator("#choices button", has_text="Mon proche directement").count() == 1
    await accessible(page, f"05-who-{name}")
    await press(page, "person")
    assert "vous êtes, pour votre proche" in await last_question(page)
    await press(page, "child")
    number = await last_question(page)
    assert "appeler votre proche" in number, number
    await type_answer(page, "06 12 34 56 78")
    await press(page, "any")
    assert "Comment doit-on appeler votre proche ?" in await last_question(page)
    await type_answer(page, "Madame Martin")
    confirmation = page.locator(".message.bot", has_text="appellera votre proche")
    await expect(confirmation).to_be_visible()
    texts = "\n".join(await page.locator(".message.bot").all_inner_texts())
    assert "vous appellera" not in texts
    await expect(page.locator(".message.bot").last).to_contain_text("vous a été utile")
    await accessible(page, f"06-confirmed-{name}")

    desk = web_server.app.desk
    assert desk is not None
    [queued] = await desk.listing(None)
    assert (queued.contact, queued.phone) == ("person", "+33612345678")  # the relative asked us to call them
