"""The mediators' dashboard in a real browser (Debian's Chromium, headless, Playwright; fixtures of tests/conftest.py
on the whole server): sign in, find the request a person just made in the chat, take it, close it with an
outcome, download the « Bilan pour la Coop »; agree a time with the person, who sees it in the web chat, and see
it due when it comes; a form sent without its CSRF token is refused. Screenshots go to tests/artifacts/ (or
$PASSERELLE_ARTIFACTS), named dashboard-*.png."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from bot.callbacks import when as words
from bot.callbacks.jobs import CallbackJobs
from bot.core.clock import PARIS, now
from tests.channels.web.test_browser_chat import answered, open_chat, press, type_answer
from tests.channels.web.test_browser_phone import notices_checked
from tests.conftest import TIMIDE_TO_MOBILITY, Chat
from tests.support.browser import RunningServer, artifacts_dir
from tests.support.dashboard import PASSWORD, add_mediator, working_moment

pytestmark = pytest.mark.asyncio(loop_scope="session")
# The shipped flow, for oneself, in Lyon (69003: the `lyon` queue), up to the callback request.
TO_CALLBACK = [
    *TIMIDE_TO_MOBILITY,
    "value:easy",
    "69003",
    "value:yes",
    "oui",
    "06 12 34 56 78",
    "value:morning",
    "Jeanne",  # « Comment doit-on vous appeler ? »
]


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=artifacts_dir() / f"dashboard-{name}.png", full_page=True)


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None
    assert width <= viewport["width"], f"the page is {width}px wide on a {viewport['width']}px screen"


async def sign_in(page: Page, login: str) -> None:
    await page.goto("/mediateurs/")
    await expect(page).to_have_url(re.compile(r"/mediateurs/connexion"))
    await page.get_by_label("Identifiant").fill(login)
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_label("Mot de passe").press("Enter")  # the keyboard sends the form
    await expect(page.get_by_role("heading", name="Demandes de rappel")).to_be_visible()


async def test_sign_in_take_a_new_request_and_close_it_with_an_outcome(page: Page, web_server: RunningServer) -> None:
    """A mediator signs in, sees the request a person just made, takes it (« Je m'en occupe ») and records
    « Appel fait » with an outcome and a note: the database holds it, the history shows each step."""
    desk = web_server.app.desk
    assert desk is not None
    await add_mediator(web_server, "marie", ["lyon"], name="Marie D.")
    turn = (await Chat(web_server.app.engine, "web:4242").script(TO_CALLBACK))[-1]
    assert turn.callback is not None
    callback_id = turn.callback.id

    await page.goto("/mediateurs/")
    await shot(page, "1-connexion")
    await sign_in(page, "marie")
    link = page.locator(f'.request[data-id="{callback_id}"] h3 a')
    await expect(link).to_be_visible()
    await expect(page.locator(".wait").first).to_have_text("dans les délais")
    await no_sideways_scroll(page)
    await shot(page, "2-liste")

    await link.click()
    await expect(page).to_have_title(re.compile(f"^Demande {callback_id[:4]} "))
    await expect(page.get_by_role("link", name="06 12 34 56 78")).to_have_attribute("href", "tel:+33612345678")
    for early in ("Appel fait", "Injoignable", "Libérer"):  # nothing to record before someone takes it
        await expect(page.get_by_role("button", name=early)).to_have_count(0)
    await page.get_by_role("button", name="Je m'en occupe").click()
    await expect(page.locator(".flash")).to_contain_text("vous vous occupez de cette demande")
    await expect(page.get_by_role("button", name="Libérer")).to_be_visible()
    await expect(page.get_by_role("button", name="Appel fait")).to_be_visible()
    await no_sideways_scroll(page)
    await shot(page, "3-prise-en-charge")

    await page.get_by_label("Résultat de l'appel").select_option(label="Rendez-vous pris")
    await page.get_by_label("Note (facultative)").first.fill("RDV jeudi 10 h à la médiathèque")
    await page.get_by_role("button", name="Appel fait").click()
    await expect(page.get_by_role("heading", name="Demandes de rappel")).to_be_visible()
    await expect(page.locator(".flash")).to_contain_text("appel fait (Rendez-vous pris)")
    await shot(page, "4-appel-fait")

    row = await desk.get(callback_id)
    assert row is not None
    assert (row.status, row.outcome, row.claimed_by) == ("done", "appointment", "web:marie")
    await page.goto(f"/mediateurs/demandes/{callback_id}")
    history = page.locator(".history li")
    await expect(history).to_have_count(3)
    await expect(history.nth(0)).to_contain_text("Demande reçue")
    await expect(history.nth(1)).to_contain_text("Prise en charge — ")
    await expect(history.nth(2)).to_contain_text("par Marie D. (tableau de bord)")
    await expect(history.nth(2)).to_contain_text("RDV jeudi 10 h à la médiathèque")
    await shot(page, "5-historique")


async def test_the_coop_report_downloads_from_the_list_with_the_call_just_made(
    page: Page, web_server: RunningServer
) -> None:
    """After « Appel fait » (« Orienté vers un lieu »), « Bilan pour la Coop » under the list downloads, without
    JavaScript, a CSV whose row is that call in the Coop's words: today, individual, à distance, the goal chosen in
    the chat as a thématique, « Oui » for the orientation, the commune of the postcode given; no phone number, first
    name or conversation key."""
    await add_mediator(web_server, "marie", ["lyon"], name="Marie D.")
    turn = (await Chat(web_server.app.engine, "web:4545").script(TO_CALLBACK))[-1]
    assert turn.callback is not None
    await sign_in(page, "marie")
    await page.goto(f"/mediateurs/demandes/{turn.callback.id}")
    await page.get_by_role("button", name="Je m'en occupe").click()
    await page.get_by_label("Résultat de l'appel").select_option(label="Orienté vers un lieu")
    await page.get_by_role("button", name="Appel fait").click()
    await expect(page.get_by_role("heading", name="Bilan d'activité")).to_be_visible()
    await no_sideways_scroll(page)
    await page.get_by_role("heading", name="Bilan d'activité").scroll_into_view_if_needed()
    await shot(page, "7-bilans")
    async with page.expect_download() as started:
        await page.get_by_role("button", name="Bilan pour la Coop").click()
    download = await started.value
    assert re.fullmatch(r"passerelle-coop-cra-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv", download.suggested_filename)
    text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8-sig")
    (line,) = csv.DictReader(io.StringIO(text), delimiter=";")
    assert (line["Date"], line["Type"], line["Canaux d’accompagnement"]) == (
        now().astimezone(PARIS).strftime("%d/%m/%Y"),
        "Accompagnement individuel",
        "À distance",
    )
    assert (line["Thématique(s) d’accompagnement"], line["Bénéficiaire réorienté"]) == (
        "Réseaux sociaux communication",
        "Oui",
    )
    assert (line["Médiateur"], line["Référence de la demande"]) == ("Marie D.", turn.callback.id)
    assert (line["Commune du bénéficiaire"], line["Code Insee du bénéficiaire"]) == (
        "Lyon 3e Arrondissement",
        "69383",
    )
    for personal in ("12 34 56 78", "612345678", "Jeanne", "web:4545"):
        assert personal not in text


async def test_a_form_sent_without_its_csrf_token_is_refused(page: Page, web_server: RunningServer) -> None:
    """The claim form with its hidden CSRF field removed gets the French 403 page, and the request stays free."""
    desk = web_server.app.desk
    assert desk is not None
    await add_mediator(web_server, "marie", ["lyon"])
    turn = (await Chat(web_server.app.engine, "web:4343").script(TO_CALLBACK))[-1]
    assert turn.callback is not None
    await sign_in(page, "marie")
    await page.goto(f"/mediateurs/demandes/{turn.callback.id}")
    claim = page.locator("form", has=page.get_by_role("button", name="Je m'en occupe"))
    await claim.locator('input[name="csrf"]').evaluate("field => field.remove()")
    await claim.get_by_role("button").click()
    await expect(page.get_by_role("heading", name="Action refusée")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("Rien n'a été modifié")
    await shot(page, "6-csrf-refuse")
    row = await desk.get(turn.callback.id)
    assert row is not None
    assert (row.status, row.claimed_by) == ("new", None)


async def test_a_call_agreed_on_the_dashboard_reaches_the_person_and_comes_back_when_due(
    page: Page, browser_context: BrowserContext, web_server: RunningServer
) -> None:
    """A person asks for a call in the web chat; the mediator takes it and agrees a time (« Rappeler le … à … »,
    plain date and time fields); the person's chat shows it in words, still able to cancel; when that time comes
    (the jobs run at it) the list's card says it is due."""
    desk = web_server.app.desk
    assert desk is not None
    await add_mediator(web_server, "marie", ["default"], name="Marie D.")
    chat = await browser_context.new_page()
    await open_chat(chat)
    await answered(chat, chat.get_by_role("button", name="Parler à quelqu'un").click())
    await press(chat, "yes")  # consent
    await type_answer(chat, "06 12 34 56 78")
    await press(chat, "afternoon")
    await type_answer(chat, "Jeanne")
    [request] = await desk.listing(None)
    queue = desk.queue_of(request)
    agreed, zone = working_moment(queue), queue.hours.calendar.zone
    short = words.short(agreed, zone)

    await sign_in(page, "marie")
    await page.goto(f"/mediateurs/demandes/{request.id}")
    await page.get_by_role("button", name="Je m'en occupe").click()
    await page.get_by_label("Date", exact=True).fill(agreed.date().isoformat())
    await page.get_by_label("Heure", exact=True).fill(f"{agreed:%H:%M}")
    await page.get_by_role("button", name="Programmer le rappel").click()
    await expect(page.locator(".flash")).to_contain_text(f"rappel programmé le {short}")
    await expect(page.locator(".agreed")).to_have_text(short)
    await no_sideways_scroll(page)
    await shot(page, "7-rappel-programme")

    await notices_checked(chat)
    told = chat.locator(".message.notice").last
    await expect(told).to_contain_text(f"vous appellera le {words.said(agreed, zone)}, comme convenu")
    await expect(told.get_by_role("button", name="Annuler ma demande")).to_be_visible()

    await CallbackJobs(desk).run_once(agreed)
    await page.goto("/mediateurs/")
    card = page.locator(f'.request[data-id="{request.id}"]')
    await expect(card.locator(".agreed-due")).to_have_text(f"Rappel prévu {short} · c'est l'heure")
    await no_sideways_scroll(page)
    await shot(page, "8-rappel-a-l-heure")
