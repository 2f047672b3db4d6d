"""The whole journey in a real browser (Debian's Chromium): a person talks to the web chat up to a callback
request, which appears by itself on the list a mediator has open (its clock is Playwright's, moved on by the
test), with the commune and whom to call; the mediator takes it, the person's page shows that someone will call,
the person cancels, the dashboard shows it cancelled. Screenshots: tests/artifacts/journey-*.png."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.channels.web.test_browser_chat import answered, open_chat, press, tick_and_confirm, type_answer
from tests.dashboard.test_browser_dashboard import sign_in
from tests.support.browser import RunningServer, artifacts_dir, block_outside
from tests.support.dashboard import add_mediator

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def mediator_page(chromium: Browser, web_server: RunningServer) -> AsyncIterator[Page]:
    """A second browser profile, at a desk: the mediator's."""
    context: BrowserContext = await chromium.new_context(
        base_url=web_server.url, locale="fr-FR", viewport={"width": 1024, "height": 800}, reduced_motion="reduce"
    )
    await context.route("**/*", block_outside)
    yield await context.new_page()
    await context.close()


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=artifacts_dir() / f"journey-{name}.png", full_page=True)


async def test_web_chat_request_reaches_the_dashboard_and_the_person_hears_back(
    page: Page, mediator_page: Page, web_server: RunningServer
) -> None:
    """Web chat → callback request → on the open dashboard without a reload → taken → « va vous appeler » on the
    person's page, with « Annuler ma demande » → cancelled, and the dashboard says so."""
    await add_mediator(web_server, "marie", ["lyon"], name="Marie D.")
    await mediator_page.clock.install()  # the list's checks for news run when the test moves this clock on
    await sign_in(mediator_page, "marie")
    await expect(mediator_page.get_by_role("heading", name="Aucune demande ici")).to_be_visible()
    await expect(mediator_page).to_have_title(re.compile(r"^Demandes de rappel"))
    await open_chat(page)
    await press(page, "self")
    await tick_and_confirm(page, ["family_contact"])
    await tick_and_confirm(page, ["smartphone"])
    for value in ("weekly", "intermediate", "unsure"):
        await press(page, value)
    await tick_and_confirm(page, ["confidence"])
    await press(page, "easy")
    await type_answer(page, "69003")
    await press(page, "yes")
    await press(page, "yes")
    await type_answer(page, "06 12 34 56 78")
    await press(page, "afternoon")
    await type_answer(page, "je m'appelle rose")
    await expect(page.locator(".message.bot", has_text="une personne vous appellera")).to_be_visible()

    desk = web_server.app.desk
    assert desk is not None
    [row] = await desk.listing(None)
    assert (row.queue, row.first_name, row.commune, row.channel) == ("lyon", "Rose", "Lyon 3e Arrondissement", "web")
    await mediator_page.clock.run_for(11_000)  # past the next check (every 10 s): the list refreshes itself
    link = mediator_page.get_by_role("link", name="Rose · Lyon 3e Arrondissement")
    await expect(link).to_be_visible()
    card = mediator_page.locator(".request", has=link)
    await expect(card).to_contain_text("À appeler : Rose, la personne elle-même")
    await expect(card).to_contain_text("par chat web")
    await expect(card.get_by_role("link", name="06 12 34 56 78")).to_have_attribute("href", "tel:+33612345678")
    await expect(mediator_page).to_have_title(re.compile(r"^\(1\) Demandes de rappel"))
    await expect(mediator_page.locator("#live-status")).to_have_text("Une nouvelle demande en attente.")
    await shot(mediator_page, "1-dashboard-list")
    await link.click()
    await expect(mediator_page.get_by_role("link", name="06 12 34 56 78")).to_be_visible()
    await mediator_page.get_by_role("button", name="Je m'en occupe").click()
    await expect(mediator_page.locator(".flash")).to_contain_text("vous vous occupez de cette demande")

    await page.evaluate("window.dispatchEvent(new Event('focus'))")  # the page asks for news when it regains focus
    notice = page.locator(".message.bot", has_text="va vous appeler l'après-midi")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("médiation numérique de Lyon")
    await shot(page, "2-person-told")
    await answered(page, notice.get_by_role("button", name="Annuler ma demande").click())
    await expect(page.locator(".message.bot", has_text="C'est annulé")).to_be_visible()
    await shot(page, "3-person-cancelled")

    await mediator_page.reload()
    await expect(mediator_page.get_by_text("Annulée").first).to_be_visible()
    await shot(mediator_page, "4-dashboard-cancelled")
    stored = await desk.get(row.id)
    assert stored is not None
    assert stored.status == "cancelled"
    assert [e.via for e in await desk.history(row.id)] == ["web", "dashboard", "web"]
