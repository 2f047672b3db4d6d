"""The dashboard's list of requests over HTTP (the whole server, a SQLite file): cards that say who and where, the
filters (« Mes demandes », states, commune, days), the state an open list polls to refresh itself, and pages that
hold at 10,000 requests."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, update

from bot.core.clock import PARIS
from bot.storage import Storage
from bot.storage.tables import callbacks
from tests.support.browser import RunningServer
from tests.support.dashboard import DashboardClient, add_mediator, create_request

on_server = pytest.mark.asyncio(loop_scope="session")
LIST = "/mediateurs/"
CARD = re.compile(r'<li class="request card" data-id="([0-9a-f]+)">(.*?)</li>', re.S)


def storage_of(server: RunningServer) -> Storage:
    assert isinstance(server.app.storage, Storage)
    return server.app.storage


def cards(page: str) -> dict[str, str]:
    """Each card of a list page: request id -> its text, tags removed, spaces single."""
    return {found[0]: " ".join(re.sub(r"<[^>]+>", " ", found[1]).split()) for found in CARD.findall(page)}


async def made_on(server: RunningServer, callback_id: str, moment: datetime) -> None:
    async with storage_of(server).callback_transaction() as tx:
        await tx.connection.execute(
            update(callbacks).where(callbacks.c.id == callback_id).values(created_at=moment, updated_at=moment)
        )


@on_server
async def test_cards_say_who_to_call_where_and_how(web_server: RunningServer) -> None:
    """The card's title is the name given and the commune; it says whom to call (the person, or the relative who
    wrote, with who they are to the person), the number as a tel: link, the moment, the channel, the profile in
    words; a shared position shows as its commune, never as coordinates."""
    await add_mediator(web_server, "marie", ["lyon"], name="Marie D.")
    rose = await create_request(web_server, first_name="Rose", commune="Villeurbanne", key="telegram:7")
    claire = await create_request(
        web_server,
        first_name="Claire",
        commune="Bron",
        phone="+33698765432",
        contact="relative",
        relation="child",
        answers={"for_whom": "relative", "location": "45.73861,4.91156", "age_band": "80_plus"},
        key="web:claire",
    )
    anonymous = await create_request(
        web_server,
        first_name=None,
        commune="Vaulx-en-Velin",
        relation="friend",
        answers={"for_whom": "relative", "location": "69120"},
        key="web:sans-nom",
    )
    async with DashboardClient(web_server) as marie:
        _, page = await marie.sign_in("marie")
        found = cards(page)
        assert found[rose.id].startswith("Rose · Villeurbanne En attente")
        assert "À appeler : Rose, la personne elle-même · 06 12 34 56 78 · le matin" in found[rose.id]
        assert "par Telegram" in found[rose.id]
        assert "À appeler : Claire, le proche qui a écrit (son enfant) · 06 98 76 54 32" in found[claire.id]
        assert "par chat web" in found[claire.id]
        assert found[anonymous.id].startswith(f"Demande {anonymous.id[:4]} · Vaulx-en-Velin")
        assert "la personne elle-même, à la demande d'un proche (un ami ou un voisin)" in found[anonymous.id]
        assert 'href="tel:+33698765432"' in page
        _, detail = await marie.page(f"{LIST}demandes/{claire.id}")
    assert "<h1>Claire · Bron</h1>" in detail
    for shown in ("Claire, le proche qui a écrit (son enfant)", "Commune</dt><dd>Bron", "chat web"):
        assert shown in detail, shown
    assert "45.738" not in detail  # the answers show the commune of a shared position, not the position
    assert re.search(r"<dt>Lieu</dt><dd>Bron</dd>", detail.split("Ce que la personne a répondu")[1])


@on_server
async def test_filters_mine_waiting_all_commune_and_days(web_server: RunningServer) -> None:
    """« Mes demandes » lists the open requests I hold; states; a commune (chosen among those of my queues only);
    days (Paris days, both included); a page number past the end shows the last page."""
    await add_mediator(web_server, "marie", ["lyon"], name="Marie D.")
    await add_mediator(web_server, "paul", ["lyon"], name="Paul")
    lyon = await create_request(web_server, commune="Lyon")
    bron = await create_request(web_server, commune="Bron")
    taken_by_paul = await create_request(web_server, commune="Bron")
    elsewhere = await create_request(web_server, queue="isere", commune="Vienne")
    await made_on(web_server, lyon.id, datetime(2026, 11, 2, 9, tzinfo=PARIS))
    await made_on(web_server, bron.id, datetime(2026, 11, 3, 23, 30, tzinfo=PARIS))  # 22:30 UTC: the 3rd in Paris
    async with DashboardClient(web_server) as paul:
        await paul.sign_in("paul")
        await paul.act(taken_by_paul.id, "prendre")
    async with DashboardClient(web_server) as marie:
        await marie.sign_in("marie")
        await marie.act(lyon.id, "prendre")
        _, page = await marie.page(LIST, params={"etat": "mes"})
        assert set(cards(page)) == {lyon.id}
        assert "1 demande, la plus ancienne d'abord" in page
        _, page = await marie.page(LIST, params={"etat": "new"})
        assert set(cards(page)) == {bron.id}
        _, page = await marie.page(LIST, params={"etat": "toutes"})
        assert set(cards(page)) == {lyon.id, bron.id, taken_by_paul.id}
        _, page = await marie.page(LIST, params={"etat": "toutes", "commune": "Bron"})
        assert set(cards(page)) == {bron.id, taken_by_paul.id}
        communes = re.findall(r'<option value="([^"]*)"[^>]*>\1</option>', page.split('id="commune"')[1])
        assert communes == ["Bron", "Lyon"]  # not Vienne: another team's
        _, page = await marie.page(LIST, params={"etat": "toutes", "du": "2026-11-03", "au": "2026-11-03"})
        assert set(cards(page)) == {bron.id}
        _, page = await marie.page(LIST, params={"etat": "toutes", "du": "2026-11-04", "au": "2026-11-01"})
        assert set(cards(page)) == {lyon.id, bron.id}  # days given the wrong way round are put right
        _, page = await marie.page(LIST, params={"etat": "nimporte", "du": "hier", "commune": "x" * 500})
        assert "Aucune demande ici" in page  # unknown values fall back; an unknown commune matches nothing
        assert elsewhere.id not in page


@on_server
async def test_an_open_list_polls_a_version_that_changes_with_the_requests(web_server: RunningServer) -> None:
    """/mediateurs/etat.json: signed-in only; a version that changes when a request of my queues is made or
    changes (not another team's), and how many wait; nothing personal."""
    await add_mediator(web_server, "marie", ["lyon"], name="Marie D.")
    async with DashboardClient(web_server) as marie:
        response, _ = await marie.page(f"{LIST}etat.json", allow_redirects=False)
        assert response.status == 303  # not signed in: to the sign-in page
        await marie.sign_in("marie")

        async def state() -> dict[str, object]:
            async with marie.session.get(f"{LIST}etat.json") as response:
                assert response.headers["Cache-Control"] == "no-store"
                return dict(await response.json())

        empty = await state()
        assert empty["waiting"] == 0
        row = await create_request(web_server, first_name="Rose", phone="+33611223344")
        made = await state()
        assert made["waiting"] == 1
        assert made["version"] != empty["version"]
        await create_request(web_server, queue="isere")
        assert await state() == made  # another team's request: nothing changes here
        await marie.act(row.id, "prendre")
        taken = await state()
        assert (taken["waiting"], taken["version"] != made["version"]) == (0, True)
        assert set(taken) == {"version", "waiting"}
        assert "Rose" not in str(taken)
        _, page = await marie.page(LIST)
    assert f'data-version="{taken["version"]}"' in page
    assert 'data-live="/mediateurs/etat.json"' in page
    assert re.search(r'<script src="/mediateurs/static/dashboard\.js\?v=[0-9a-f]+" defer></script>', page)


@pytest.mark.slow
@on_server
async def test_pages_hold_at_ten_thousand_requests(web_server: RunningServer) -> None:
    """10,000 requests in a queue, many made at the same second: pages of 100, each exactly its slice of the
    whole order (oldest first, ties by id: none repeated or skipped between pages), at the start, the middle and
    the end; the count and « page N sur 100 » are right; a page past the end is the last one."""
    await add_mediator(web_server, "marie", ["lyon"], name="Marie D.")
    storage = storage_of(web_server)
    start = datetime(2026, 10, 1, 8, tzinfo=UTC)
    sealed = storage.keyring.seal("+33612345678")
    rows = [
        {
            "id": f"{index:012x}",
            "conversation_key": f"web:{index}",
            "status": "new",
            "queue": "lyon",
            "persona": "timide",
            "answers": {"for_whom": "self"},
            "phone": sealed,
            "moment": "any",
            "contact": "person",
            "commune": "Lyon",
            "channel": "web",
            "created_at": start + timedelta(seconds=index // 7),  # seven at each second: ties ordered by id
            "updated_at": start,
        }
        for index in range(10_000)
    ]
    async with storage.callback_transaction() as tx:
        await tx.connection.execute(insert(callbacks), rows)
    expected = [row["id"] for row in rows]  # oldest first, ties by id
    async with DashboardClient(web_server) as marie:
        await marie.sign_in("marie")
        for number in (1, 2, 3, 50, 99, 100):  # each page is exactly its slice of the whole order
            _, page = await marie.page(LIST, params={"page": str(number)})
            assert list(cards(page)) == expected[(number - 1) * 100 : number * 100], number
            assert f"10000 demandes, la plus ancienne d'abord · page {number} sur 100" in page
            assert ("Suivantes" in page, "Précédentes" in page) == (number < 100, number > 1)
        _, beyond = await marie.page(LIST, params={"page": "999999"})
        assert "page 100 sur 100" in beyond
        assert list(cards(beyond)) == expected[-100:]


@on_server
async def test_a_colleague_takes_over_a_request_only_once_confirmed(web_server: RunningServer) -> None:
    """Paul holds a request and is away: Marie sees « Reprendre la demande » with a box to tick; without it nothing
    changes (and she is told why); with it she holds the request, can close it, and the history says so."""
    await add_mediator(web_server, "marie", ["lyon"], name="Marie D.")
    await add_mediator(web_server, "paul", ["lyon"], name="Paul")
    row = await create_request(web_server)
    async with DashboardClient(web_server) as paul:
        await paul.sign_in("paul")
        await paul.act(row.id, "prendre")
    desk = web_server.app.desk
    assert desk is not None
    async with DashboardClient(web_server) as marie:
        await marie.sign_in("marie")
        _, page = await marie.page(f"{LIST}demandes/{row.id}")
        assert "Reprendre la demande" in page
        assert 'name="confirmer" value="oui" required' in page
        _, page = await marie.act(row.id, "reprendre")
        assert "cochez la case pour confirmer" in page
        held = await desk.get(row.id)
        assert held is not None
        assert held.claimed_name == "Paul"
        _, page = await marie.act(row.id, "reprendre", confirmer="oui")
        assert "vous reprenez cette demande" in page
        _, page = await marie.act(row.id, "appel-fait", resultat="helped")
        assert "close : appel fait" in page
        _, page = await marie.page(f"{LIST}demandes/{row.id}")
    closed = await desk.get(row.id)
    assert closed is not None
    assert (closed.status, closed.claimed_name) == ("done", "Marie D.")
    assert "Reprise par un autre médiateur" in page
    assert "Reprise à Paul" in page
