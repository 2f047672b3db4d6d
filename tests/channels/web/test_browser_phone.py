"""The web chat on a phone (390×844) and a desktop screen, in Chromium: the first screen, « Recommencer » and
« Arrêter » asked first, the focus kept in the text box after a typed answer, a reload showing the places,
true notices after a mediator's « Appel fait », coming back without starting again, erasing that clears the
screen. axe-core checks every state against WCAG 2.1 AA; screenshots go to tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, expect

from bot.callbacks.rules import Actor
from bot.storage import Storage
from tests.channels.web.test_browser_chat import (
    answered,
    chat_id,
    open_chat,
    press,
    sans_reperes_to_the_place,
    type_answer,
)
from tests.support.axe import axe_violations, describe
from tests.support.browser import RunningServer, artifacts_dir

pytestmark = pytest.mark.asyncio(loop_scope="session")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
COMMANDS = re.compile(r"/(start|aide|humain|annuler|mesdonnees|oublier|stop)\b")
MARIE = Actor("web:marie", "Marie", "dashboard")


async def accessible(page: Page, name: str) -> None:
    """No WCAG 2.1 A/AA violation in the page as it stands, and its screenshot saved."""
    violations = await axe_violations(page)
    assert violations == [], f"{name}:\n{describe(violations)}"
    await page.screenshot(path=artifacts_dir() / f"web-phone-{name}.png")


async def bot_texts(page: Page) -> list[str]:
    return await page.locator(".message.bot").all_inner_texts()


async def in_view_without_scrolling(page: Page, selector: str) -> None:
    """Every element of `selector` lies within the first screen, above the sticky « Recommencer / Arrêter » bar,
    with the page not scrolled."""
    boxes = await page.evaluate(
        """(s) => {
            const bar = document.querySelector(".ways-out").getBoundingClientRect().top;
            return { scrolled: window.scrollY, bar: bar,
                     bottoms: [...document.querySelectorAll(s)].map((e) => e.getBoundingClientRect().bottom) };
        }""",
        selector,
    )
    assert boxes["scrolled"] == 0
    assert boxes["bottoms"], selector
    assert max(boxes["bottoms"]) <= boxes["bar"], boxes


async def test_first_screen_shows_the_question_and_ways_out_ask_first(page: Page, web_server: RunningServer) -> None:
    """On a phone and on a desktop screen, the first screen shows one short welcome sentence, the first question and
    its buttons without scrolling; the privacy notice is folded under « Ce que nous gardons » and opens with one
    press; the help names the page's buttons, no command; « Recommencer » and « Arrêter » act only once confirmed
    in a dialog that Escape and « Non » close with the focus back on the button; answering records the acceptance
    of the notice as before."""
    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        await page.set_viewport_size(size)
        await open_chat(page)
        welcome = page.locator(".message.bot").first
        await expect(welcome).to_contain_text("Bonjour")
        said = (await welcome.inner_text()).removeprefix("Passerelle :").replace("Ce que nous gardons", "")
        assert len(said.split()) <= 15, said  # one short sentence
        await expect(page.locator(".message.bot").last).to_contain_text("pour vous-même ou pour un proche")
        await in_view_without_scrolling(page, "#choices button, .message.bot, .kept summary")
        notice = page.locator(".kept p")
        await expect(notice).to_be_hidden()
        await accessible(page, f"01-first-screen-{name}")
        await page.locator(".kept summary").click()
        await expect(notice).to_be_visible()
        await expect(notice).to_contain_text("« Effacer mes données »")
        await accessible(page, f"02-notice-open-{name}")
        assert not [t for t in await bot_texts(page) if COMMANDS.search(t)]
        await page.reload()
        # the page asks the server for its turn again: until then its buttons are disabled and Enter sends nothing
        await expect(page.locator("body")).to_have_attribute("data-ready", "true")

    await type_answer(page, "/aide")
    help_text = await page.locator(".message.bot", has_text="Je vous pose quelques questions").last.inner_text()
    assert "« Parler à quelqu'un »" in help_text
    assert "« Recommencer »" in help_text
    assert not COMMANDS.search(help_text), help_text
    await expect(page.locator("#typed-input")).to_be_focused()  # the phone's keyboard stays open

    restart = page.get_by_role("button", name="Recommencer")
    dialog = page.get_by_role("dialog")
    answers = await page.locator("body").get_attribute("data-answers")
    await restart.click()
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Recommencer depuis le début ?")
    await expect(page.get_by_role("button", name="Non, continuer")).to_be_focused()
    await accessible(page, "03-restart-asked")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(restart).to_be_focused()
    await restart.press("Enter")
    await expect(dialog).to_be_visible()
    await page.get_by_role("button", name="Non, continuer").press("Enter")
    await expect(dialog).to_be_hidden()
    assert await page.locator("body").get_attribute("data-answers") == answers  # nothing was sent
    await restart.click()
    await answered(page, page.get_by_role("button", name="Oui, recommencer").click())
    await expect(page.locator(".message.bot", has_text="on recommence depuis le début")).to_be_visible()

    await press(page, "self")
    storage = web_server.app.storage
    assert isinstance(storage, Storage)
    record = await storage.read_conversation(f"web:{await chat_id(page.context)}")
    assert record is not None
    assert record.data["privacy"]["notice"]["accepted_at"]  # the notice's acceptance, recorded as before

    stop = page.get_by_role("button", name="Arrêter")
    await stop.focus()
    await page.keyboard.press("Enter")
    await expect(dialog).to_contain_text("Arrêter la conversation ?")
    await accessible(page, "04-stop-asked")
    await page.keyboard.press("Shift+Tab")  # from « Non, continuer » (focused first) back to « Oui, arrêter »
    await expect(page.get_by_role("button", name="Oui, arrêter")).to_be_focused()
    await answered(page, page.keyboard.press("Enter"))
    ending = page.locator(".message.bot").last
    await expect(ending).to_contain_text("on s'arrête là")
    await expect(ending).to_contain_text("« Recommencer »")
    assert not COMMANDS.search(await ending.inner_text())
    await accessible(page, "05-stopped")


async def test_typing_reloading_notices_coming_back_and_erasing(
    page: Page, browser_context: BrowserContext, web_server: RunningServer
) -> None:
    """On a phone: after a typed answer the focus stays in the text box; a reload shows the places again with the
    question; the last question is answered with « Un peu » and a typed word (both kept); a mediator taking the
    request then marking « Appel fait » is told on the page in order, and the
    earlier « Annuler ma demande » goes; coming back in a new tab after news came meanwhile shows the
    conversation ended (not started again) and only where the request stands now; « Effacer mes données » leaves
    nothing of the number or the postcode on screen, nor after a reload."""
    await page.set_viewport_size(PHONE)
    await open_chat(page)
    await press(page, "self")
    await sans_reperes_to_the_place(page)
    await type_answer(page, "69003")
    await expect(page.locator(".offer").first).to_be_visible()
    await expect(page.locator("#typed-input")).to_be_focused()
    places = await page.locator(".offer").count()
    shown = await page.locator(".message").count()
    await accessible(page, "06-places-after-typing")

    await page.reload()
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await expect(page.locator(".offer")).to_have_count(places)
    await expect(page.locator(".message")).to_have_count(shown)  # the same conversation, the question not twice
    await expect(page.locator('#choices button[data-value="yes"]')).to_be_visible()
    await accessible(page, "07-reloaded-with-places")

    await press(page, "yes")  # be called back
    await press(page, "yes")  # consent
    await type_answer(page, "06 12 34 56 78")
    await expect(page.locator("#typed-input")).to_be_focused()
    await press(page, "morning")
    await press(page, "skip")  # how to call them: optional
    await expect(page.locator(".message.bot", has_text="une personne vous appellera")).to_be_visible()
    await expect(page.locator(".message.bot").last).to_contain_text("vous a été utile")  # the last question
    await accessible(page, "08-last-question")
    await press(page, "some")
    await type_answer(page, "il manquait les horaires")
    await expect(page.locator(".message.bot").last).to_contain_text("Merci d'avoir pris ce temps")
    storage = web_server.app.storage
    assert isinstance(storage, Storage)
    assert [(r.rating, r.word) for r in await storage.feedback()][-2:] == [
        ("some", None),
        (None, "il manquait les horaires"),
    ]

    desk = web_server.app.desk
    assert desk is not None
    [request] = await desk.listing(None)
    await desk.claim(request.id, MARIE)
    await notices_checked(page)
    claimed = page.locator(".message.notice", has_text="va vous appeler")
    await expect(claimed).to_be_visible()
    await expect(claimed.get_by_role("button", name="Annuler ma demande")).to_be_visible()
    await accessible(page, "09-notice-claimed")
    await desk.call_done(request.id, MARIE)
    await notices_checked(page)
    await expect(page.locator(".message.notice").last).to_contain_text("L'appel a eu lieu")
    await expect(page.get_by_role("button", name="Annuler ma demande")).to_have_count(0)
    await accessible(page, "10-notice-call-done")
    await page.close()

    back = await browser_context.new_page()  # days later: a new tab, the cookie kept
    await back.set_viewport_size(PHONE)
    await open_chat(back)
    await expect(back.locator(".message.bot").last).to_contain_text("Notre dernière conversation est terminée")
    texts = "\n".join(await bot_texts(back))
    assert "on recommence depuis le début" not in texts
    assert "va vous appeler" not in texts
    await accessible(back, "11-coming-back")

    await answered(back, back.get_by_role("button", name="Effacer mes données").click())
    await answered(back, back.locator('#choices button[data-value="yes"]').click())
    await expect(back.locator(".message.bot").last).to_contain_text("ont été effacées")
    await back.reload()
    await expect(back.locator("body")).to_have_attribute("data-ready", "true")
    page_text = await back.locator("main").inner_text()
    assert "06 12 34 56 78" not in page_text
    assert "69003" not in page_text
    await accessible(back, "11-erased")


async def test_news_while_away_shows_only_where_the_request_stands(
    page: Page, browser_context: BrowserContext, web_server: RunningServer
) -> None:
    """Taken, tried without answer, taken again and called while the page was closed: coming back shows the call
    done, not three notices of which two are stale; erasing then clears the typed number from the screen."""
    await page.set_viewport_size(PHONE)
    await open_chat(page)
    await answered(page, page.get_by_role("button", name="Parler à quelqu'un").click())
    await press(page, "yes")  # consent
    await type_answer(page, "06 12 34 56 78")
    await press(page, "afternoon")
    await type_answer(page, "Jeanne")
    await expect(page.locator(".message.bot", has_text="une personne vous appellera")).to_be_visible()
    await page.close()

    desk = web_server.app.desk
    assert desk is not None
    [request] = await desk.listing(None)
    await desk.claim(request.id, MARIE)
    await desk.unreachable(request.id, MARIE)
    await desk.claim(request.id, MARIE)
    await desk.call_done(request.id, MARIE)

    back = await browser_context.new_page()
    await back.set_viewport_size(PHONE)
    await open_chat(back)
    await notices_checked(back, at_least=1)
    notices = await back.locator(".message.notice").all_inner_texts()
    assert len(notices) == 1, notices
    assert "L'appel a eu lieu" in notices[0]
    await expect(back.get_by_role("button", name="Annuler ma demande")).to_have_count(0)
    await accessible(back, "12-news-while-away")

    await back.reload()  # the same tab: what it showed comes back, the number typed with it
    await expect(back.locator("body")).to_have_attribute("data-ready", "true")
    await expect(back.locator(".message.notice")).to_have_count(1)
    await answered(back, back.get_by_role("button", name="Effacer mes données").click())
    await answered(back, back.locator('#choices button[data-value="yes"]').click())
    await expect(back.locator(".message.bot").last).to_contain_text("ont été effacées")
    assert "06 12 34 56 78" not in await back.locator("main").inner_text()
    assert await back.evaluate("sessionStorage.length") in (0, 1)
    assert "06 12 34 56 78" not in (await back.evaluate("JSON.stringify(sessionStorage)"))


async def notices_checked(page: Page, at_least: int | None = None) -> None:
    """Ask the page to look for notices now (as it does when the window gets the focus) and wait for the answer."""
    before = int(await page.locator("body").get_attribute("data-notice-checks") or "0")
    if at_least is not None and before >= at_least:
        return
    await page.evaluate("window.dispatchEvent(new Event('focus'))")
    await page.wait_for_function("(n) => Number(document.body.dataset.noticeChecks || 0) > n", arg=before)


async def test_a_failed_request_is_not_shown_again_after_a_reload(page: Page, web_server: RunningServer) -> None:
    """A request that fails (the connection cut) says so at the moment; a reload shows the conversation again, not
    that old error (nor does a page navigated away from while waiting leave it behind)."""
    await open_chat(page)
    await press(page, "self")

    async def cut(route: object) -> None:
        await route.abort()  # type: ignore[attr-defined]

    await page.route("**/api/chat", cut)
    await type_answer(page, "je voudrais voir mes petits-enfants en vidéo")
    await expect(page.locator(".message.bot.error").last).to_contain_text("La connexion a été interrompue")
    await page.unroute("**/api/chat", cut)
    await page.reload()
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await expect(page.locator(".message.bot").last).to_contain_text("plus facilement")
    assert await page.locator(".message.error").count() == 0
