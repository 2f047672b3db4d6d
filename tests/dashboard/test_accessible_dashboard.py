"""The mediators' dashboard against WCAG 2.1 A and AA (axe-core, tests/support/axe.py) in every page and state, at a
desktop's and a phone's width, and by keyboard alone: Tab reaches every link, button and field of a page, each
with a visible focus, and Enter acts. One browser tab walks all the states (the suite's time is short); a state
that fails is saved as a screenshot in tests/artifacts/ (dashboard-axe-*.png), none otherwise."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Page, ViewportSize, expect
from sqlalchemy import update

from bot.callbacks.rules import Actor
from bot.core.clock import now
from bot.dashboard.accounts import MAX_LOGIN_FAILURES
from bot.dashboard.listing import PAGE_SIZE
from bot.storage import Storage
from bot.storage.tables import callbacks
from tests.support.axe import WCAG_TAGS, axe_violations, describe
from tests.support.browser import RunningServer, artifacts_dir
from tests.support.dashboard import PASSWORD, add_mediator, create_request
from tests.support.page_checks import field_edges, focus_walk, text_spacing

pytestmark = pytest.mark.asyncio(loop_scope="session")
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 320, "height": 640}  # WCAG 1.4.10: no sideways scrolling at 320 CSS px
MARIE = Actor("web:marie", "Marie D.", "dashboard")
PAUL = Actor("web:paul", "Paul R.", "dashboard")


class Walk:
    """The states of the dashboard, visited in one tab: each checked with axe-core (WCAG 2.1 A and AA, and axe's
    best practices: landmarks, headings' order) at both widths, for sideways scrolling and WCAG 1.4.12's text
    spacing on the phone, and for the contrast of its fields' edges; problems gathered, so that a run lists them
    all."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.checked: list[str] = []

    async def check(self, name: str) -> None:
        await self.page.wait_for_load_state("load")  # the stylesheet applied: a loaded machine can be slow to
        found = await field_edges(self.page)
        if found:
            self.problems.append(f"{name}:\n" + "\n".join(found))
        for width, size in (("bureau", DESKTOP), ("telephone", PHONE)):
            await self.page.set_viewport_size(size)
            violations = await axe_violations(self.page, (*WCAG_TAGS, "best-practice"))
            found = [describe(violations)] if violations else []
            wide = await self.page.evaluate("document.documentElement.scrollWidth")
            if wide > size["width"]:
                found.append(f"the page is {wide}px wide on a {size['width']}px screen")
            if size == PHONE:
                found += await text_spacing(self.page)
            if found:
                self.problems.append(f"{name} ({width}):\n" + "\n".join(found))
                await self.page.screenshot(path=artifacts_dir() / f"dashboard-axe-{name}-{width}.png", full_page=True)
        self.checked.append(name)

    async def keyboard(self, name: str) -> None:
        """Tab from the top of the page just loaded: every control reached in order, with a focus that shows."""
        found = await focus_walk(self.page)
        if found:
            self.problems.append(f"{name} (clavier):\n" + "\n".join(found))

    async def tab_to(self, name: str) -> None:
        """Tab (only) until the button named `name` has the focus."""
        target = self.page.get_by_role("button", name=name)
        for _ in range(40):
            if await target.evaluate("element => element === document.activeElement"):
                return
            await self.page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reaches « {name} »")


async def sign_in_page(page: Page, login: str, password: str) -> None:
    await page.get_by_label("Identifiant").fill(login)
    await page.get_by_label("Mot de passe").fill(password)
    await page.get_by_role("button", name="Se connecter").click()


async def search(page: Page, number: str) -> None:
    await page.get_by_label("Numéro de téléphone").fill(number)
    await page.get_by_role("button", name="Rechercher").click()


async def test_every_page_and_state_passes_axe_and_works_by_keyboard(page: Page, web_server: RunningServer) -> None:
    """Sign-in (empty, wrong password, too many tries, signed out), the list (empty, with a message, every state,
    page 2), a request in each state (new, mine with notes, another's, done, unreachable, cancelled, taken by
    someone else meanwhile), the number search (form, wrong number, nothing found, found) and the error pages
    (404, 403): no WCAG 2.1 A/AA violation at 1280 and 320 px, no sideways scrolling on the phone even with wider
    text spacing, fields edged at 3:1; Tab reaches every control in order with a visible focus on the sign-in,
    list, request and search pages, and Enter takes a request."""
    desk, storage = web_server.app.desk, web_server.app.storage
    assert desk is not None
    assert isinstance(storage, Storage)
    await add_mediator(web_server, "marie", ["lyon"], name=MARIE.name)
    await add_mediator(web_server, "paul", ["lyon"], name=PAUL.name)
    walk = Walk(page)

    # Signing in: the form, a wrong password, then too many tries (for another login: marie may still sign in).
    await page.goto("/mediateurs/connexion")
    await walk.check("connexion")
    await walk.keyboard("connexion")
    await sign_in_page(page, "inconnu", "pas le bon")
    await expect(page.get_by_role("alert")).to_contain_text("Identifiant ou mot de passe incorrect")
    await walk.check("connexion-erreur")
    for _ in range(MAX_LOGIN_FAILURES):  # the last one is refused before its password is checked
        await sign_in_page(page, "inconnu", "pas le bon")
    await expect(page.get_by_role("alert")).to_contain_text("Trop d'essais")
    await walk.check("connexion-trop-d-essais")
    await sign_in_page(page, "marie", PASSWORD)

    # The list: empty, then with the message of « Prendre la plus ancienne » when nothing waits.
    await expect(page.get_by_role("heading", name="Demandes de rappel")).to_be_visible()
    await walk.check("liste-vide")
    await page.get_by_role("button", name="Prendre la plus ancienne en attente").click()
    await expect(page.locator(".flash")).to_contain_text("Aucune demande n'attend")
    await walk.check("liste-message")

    # A request in each state, most with a history; one late (waiting for 30 days).
    new = await create_request(web_server, first_name="Jeanne", key="test:nouvelle")
    late = await create_request(web_server, first_name=None, persona=None, key="test:ancienne")
    async with storage.callback_transaction() as tx:
        await tx.connection.execute(
            update(callbacks).where(callbacks.c.id == late.id).values(created_at=now() - timedelta(days=30))
        )
    mine = await create_request(web_server, first_name="Lucien", key="test:mienne")
    await desk.claim(mine.id, MARIE)
    await desk.add_note(mine.id, MARIE, "Rappeler après 14 h\nsur le fixe si besoin")
    await desk.unreachable(mine.id, MARIE, note="Messagerie")
    await desk.claim(mine.id, MARIE)
    others = await create_request(web_server, first_name="Odette", key="test:paul")
    await desk.claim(others.id, PAUL)
    done = await create_request(web_server, first_name="Marcel", key="test:faite")
    await desk.claim(done.id, MARIE)
    await desk.call_done(done.id, MARIE, outcome="appointment", note="RDV jeudi 10 h à la médiathèque")
    unreachable = await create_request(web_server, first_name="Simone", key="test:injoignable")
    for _ in range(desk.queue_of(unreachable).max_attempts):
        await desk.claim(unreachable.id, MARIE)
        await desk.unreachable(unreachable.id, MARIE)
    cancelled = await create_request(web_server, first_name="Yvette", key="test:annulee")
    async with storage.callback_transaction() as tx:
        after = await desk.turn_changes(tx, [], await tx.cancel_open_callbacks("test:annulee"))
    after()

    await page.goto("/mediateurs/?etat=toutes")
    await expect(page.locator(".request")).to_have_count(7)
    await walk.check("liste-tous-etats")
    await page.goto("/mediateurs/")
    await walk.keyboard("liste")

    for row, name in (
        (late, "demande-en-retard"),
        (others, "demande-prise-par-un-autre"),
        (done, "demande-appel-fait"),
        (unreachable, "demande-injoignable"),
        (cancelled, "demande-annulee"),
        (mine, "demande-a-moi-notes"),
    ):
        await page.goto(f"/mediateurs/demandes/{row.id}")
        await expect(page).to_have_title(re.compile(f"^Demande {row.id[:4]} "))
        await walk.check(name)
    await expect(page.locator(".history li")).to_have_count(5)
    await walk.keyboard("demande-a-moi")

    # Taken by someone else while the page was open: the error message.
    await page.goto(f"/mediateurs/demandes/{late.id}")
    await desk.claim(late.id, PAUL)
    await page.get_by_role("button", name="Je m'en occupe").click()
    await expect(page.get_by_role("alert")).to_contain_text(PAUL.name)
    await walk.check("demande-deja-prise")

    # The new request, checked, then taken with the keyboard alone: Tab to « Je m'en occupe », Enter.
    await page.goto(f"/mediateurs/demandes/{new.id}")
    await walk.keyboard("demande-nouvelle")
    await walk.check("demande-nouvelle")
    await walk.tab_to("Je m'en occupe")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("vous vous occupez de cette demande")
    await walk.check("demande-prise-message")

    # Searching a number: the form, a wrong number, nothing found, found.
    await page.goto("/mediateurs/recherche")
    await walk.check("recherche")
    await search(page, "12")
    await expect(page.get_by_role("alert")).to_contain_text("n'est pas reconnu")
    await walk.check("recherche-numero-invalide")
    await search(page, "06 98 76 54 32")
    await expect(page.get_by_role("heading", name=re.compile("Aucune demande avec ce numéro"))).to_be_visible()
    await walk.check("recherche-sans-resultat")
    await search(page, "06 12 34 56 78")
    await expect(page.locator(".request")).to_have_count(7)
    await walk.check("recherche-resultats")
    await walk.keyboard("recherche-resultats")

    # Error pages: one that does not exist; a form without its token.
    await page.goto(f"/mediateurs/demandes/{'x' * 20}")
    await expect(page.get_by_role("heading", name="Page introuvable")).to_be_visible()
    await walk.check("erreur-404")
    await page.goto("/mediateurs/recherche")
    await page.locator('main input[name="csrf"]').evaluate("field => field.remove()")
    await search(page, "06 12 34 56 78")
    await expect(page.get_by_role("heading", name="Action refusée")).to_be_visible()
    await walk.check("erreur-403")

    # The list's second page (a page holds PAGE_SIZE requests).
    for number in range(PAGE_SIZE):
        await create_request(web_server, key=f"test:page-{number}")
    await page.goto("/mediateurs/?page=2")
    await expect(page.get_by_role("link", name=re.compile("Précédentes"))).to_be_visible()
    await walk.check("liste-page-2")
    await page.reload()  # the focus back at the top
    await walk.keyboard("liste-page-2")

    # Signed out: the sign-in page with its notice.
    await page.get_by_role("button", name="Se déconnecter").click()
    await expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté")
    await walk.check("connexion-deconnecte")

    assert walk.problems == [], "\n\n".join(walk.problems)
    assert len(walk.checked) == 23, walk.checked  # every state visited
