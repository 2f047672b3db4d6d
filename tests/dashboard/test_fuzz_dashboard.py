"""The mediators' dashboard under bad input, on the whole server (`bot.app.server.serve`, a SQLite file) driven like a
browser without JavaScript (tests/support/dashboard.py): every form (sign-in, the actions on a request, the note, the
number search, « prendre la plus ancienne », sign-out) and the pages' query strings, fed injection strings (SQL
quotes, `<script>`, `{{ }}` template syntax, NUL bytes, right-to-left marks), oversized fields (a login, a password,
a note up to past the 1 MB body limit) and missing or wrong CSRF tokens.

Properties: never a 5xx; what was typed comes back HTML-escaped (a `<script>` note is shown as text); oversized
input gets a clear 4xx or a kind message; a refused form (403, 400, 413) changes no row of the database.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import markupsafe
import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from bot.callbacks.rules import MAX_NOTE
from bot.storage import Storage
from bot.storage.tables import callback_events, callbacks, login_attempts, mediators
from tests.support.browser import RunningServer, running_server, web_settings
from tests.support.dashboard import DashboardClient, add_mediator, create_request
from tests.support.fuzzing import FUZZ, INJECTIONS, junk_text

pytestmark = pytest.mark.asyncio(loop_scope="session")
LOGIN = "/mediateurs/connexion"
MAX_BODY = 1024 * 1024  # bot/app/server.py: the server's limit for any request body
# Printable text for what goes into a URL's query (aiohttp quotes it).
QUERY_TEXT = st.one_of(junk_text(30).map(lambda t: t.replace("\x00", "")), st.sampled_from(["-1", "0", "9" * 30]))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    """One server for the module, with the mediator « marie » of the `lyon` queue."""
    settings = web_settings(tmp_path_factory.mktemp("fuzz-dashboard") / "web.db")
    async with running_server(settings) as running:
        await add_mediator(running, "marie", ["lyon"], name="Marie D.")
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def marie(server: RunningServer) -> AsyncIterator[DashboardClient]:
    """Marie, signed in for the whole module."""
    async with DashboardClient(server) as client:
        response, _ = await client.sign_in("marie")
        assert response.status == 200
        yield client


def storage_of(server: RunningServer) -> Storage:
    assert isinstance(server.app.storage, Storage)
    return server.app.storage


async def snapshot(server: RunningServer) -> list[list[tuple[Any, ...]]]:
    """Every row of the tables a form may change: requests, their history, the accounts."""
    async with storage_of(server).callback_transaction() as tx:
        return [
            [tuple(row) for row in await tx.connection.execute(select(table).order_by(*table.primary_key))]
            for table in (callbacks, callback_events, mediators)
        ]


def assert_not_5xx(response: aiohttp.ClientResponse, text: str) -> None:
    assert response.status < 500, (response.status, text[:500])


def escaped_in(typed: str, raw_page: str) -> bool:
    """`typed` appears in the page as text, escaped as Jinja2 escapes (markupsafe); as typed, or with its whitespace
    collapsed as the forms store notes."""
    return any(str(markupsafe.escape(shown)) in raw_page for shown in (typed, " ".join(typed.split())))


async def raw(client: DashboardClient, path: str) -> tuple[aiohttp.ClientResponse, str]:
    """A page's HTML as sent (not unescaped), keeping the page's CSRF token for the next post."""
    async with client.session.get(path) as response:
        text = await response.text()
    client._read(text)
    return response, text


REQUEST_KEYS = (f"test:fuzz:{n}" for n in itertools.count())


# ----- the sign-in form --------------------------------------------------------------------------------------
LONG = st.integers(1, 6).map(lambda n: "a" * 10**n)  # 10 characters to a megabyte (past the body limit)
FIELDS = st.one_of(junk_text(40), st.sampled_from(INJECTIONS), LONG, st.just("marie"))


@settings(FUZZ, max_examples=25)
@given(login=FIELDS, password=FIELDS, after=st.one_of(st.just(""), junk_text(20), st.just("//evil.example/")))
async def test_sign_in_with_any_login_and_password(
    server: RunningServer, login: str, password: str, after: str
) -> None:
    """Any login and password (injections, NUL bytes, RTL marks, up to a megabyte): the form again with a kind
    message (200), 400 for a NUL no browser sends, 413 past the body limit; never a 5xx, never signed in, the
    login typed shown back escaped, and no account changed."""
    async with storage_of(server).callback_transaction() as tx:  # each example from a clean slate: no rate limit
        await tx.connection.execute(delete(login_attempts))
    before = await snapshot(server)
    async with DashboardClient(server) as client:
        await client.page(LOGIN)
        form = {"csrf": client.csrf, "identifiant": login, "mot_de_passe": password, "suite": after}
        async with client.session.post(LOGIN, data=form, allow_redirects=False) as response:
            text = await response.text()
        assert_not_5xx(response, text)
        too_large = len(login.encode()) + len(password.encode()) > MAX_BODY - 1000
        if too_large:
            assert response.status == 413
        elif "\x00" in login + password + after:
            assert response.status == 400
            assert "Formulaire illisible" in text
        else:
            assert response.status == 200, text[:300]  # no such password: the form again
            assert "Identifiant ou mot de passe incorrect." in html.unescape(text)
            if login and len(login) < 1000:
                assert escaped_in(login, text) or login.strip() == ""
            assert "<script>alert" not in text
        assert client.cookie("passerelle_session") is None
    assert await snapshot(server) == before


# ----- the forms of a request --------------------------------------------------------------------------------
NOTES = st.one_of(
    junk_text(60),
    st.sampled_from(INJECTIONS),
    st.tuples(st.sampled_from(INJECTIONS), st.sampled_from(INJECTIONS)).map(" ".join),
    st.integers(2, 6).map(lambda n: "note " * (2 * 10**n // 5)),  # 200 characters to past a megabyte
)
ACTIONS = st.sampled_from(["note", "note", "appel-fait", "injoignable", "prendre", "liberer"])
OUTCOMES = st.one_of(st.sampled_from(["", "helped", "oriented", "no_need", "inconnu"]), junk_text(10))


@settings(FUZZ, max_examples=30)
@given(action=ACTIONS, note=NOTES, outcome=OUTCOMES)
async def test_request_forms_with_any_note(
    server: RunningServer, marie: DashboardClient, action: str, note: str, outcome: str
) -> None:
    """Each action on a fresh request with any note (injections, template syntax, NUL, RTL marks, up to past a
    megabyte) and any outcome: never a 5xx; past the body limit 413 and a NUL 400, with no row changed; otherwise
    the next page says what happened, and the note is shown escaped, as text (cut at the note's length limit)."""
    row = await create_request(server, queue="lyon", key=next(REQUEST_KEYS))
    page = f"/mediateurs/demandes/{row.id}"
    await raw(marie, page)
    before = await snapshot(server)
    form = {"csrf": marie.csrf, "note": note, "resultat": outcome}
    async with marie.session.post(f"{page}/{action}", data=form, allow_redirects=False) as response:
        text = await response.text()
    assert_not_5xx(response, text)
    if len(note.encode()) > MAX_BODY - 1000:
        assert response.status == 413
    elif "\x00" in note + outcome:
        assert response.status == 400
    else:
        assert response.status == 303, text[:300]
        assert response.headers["Location"].startswith("/mediateurs/")
        shown, after_text = await raw(marie, response.headers["Location"])
        assert shown.status == 200
        assert re.search(r'class="flash[^"]*"', after_text), after_text[:500]  # what happened, said once
        assert "<script>alert" not in after_text
        if action == "note" and note.strip():
            _, request_page = await raw(marie, page)
            assert escaped_in(note[:MAX_NOTE] if len(note) <= MAX_NOTE else " ".join(note.split())[:MAX_NOTE],
                              request_page), note[:100]  # fmt: skip
            assert "<script>alert" not in request_page
        return
    assert await snapshot(server) == before


@settings(FUZZ, max_examples=30)
@given(
    path=st.sampled_from(["/demandes/{id}/note", "/demandes/{id}/prendre", "/demandes/{id}/appel-fait",
                          "/suivante", "/deconnexion", "/recherche", "/connexion"]),
    csrf=st.one_of(st.none(), st.just(""), junk_text(30), st.sampled_from(["x" * 43, "A" * 100])),
    site=st.one_of(st.none(), st.sampled_from(["cross-site", "same-site"])),
)  # fmt: skip
async def test_forms_without_the_right_csrf_token_are_refused(
    server: RunningServer, marie: DashboardClient, path: str, csrf: str | None, site: str | None
) -> None:
    """Every form posted without the page's CSRF token (missing, empty, junk, another token's shape), or from
    another site with the right one: 403 with a French page saying nothing changed, and no row changed."""
    row = await create_request(server, queue="lyon", key=next(REQUEST_KEYS))
    await raw(marie, f"/mediateurs/demandes/{row.id}")
    before = await snapshot(server)
    form = {"note": "note", "numero": "0612345678"}
    if site is not None:
        form["csrf"] = marie.csrf  # the right token, but the browser says another site sent the form
    elif csrf is not None:
        form["csrf"] = csrf
    headers = {"Sec-Fetch-Site": site} if site is not None else {}
    url = "/mediateurs" + path.format(id=row.id)
    async with marie.session.post(url, data=form, headers=headers, allow_redirects=False) as response:
        text = await response.text()
    assert response.status == 403, (url, response.status, text[:300])
    assert "Rien n'a été modifié" in html.unescape(text)
    assert await snapshot(server) == before


@settings(FUZZ, max_examples=20)
@given(number=st.one_of(junk_text(40), st.sampled_from(INJECTIONS), LONG, st.just("06 12 34 56 78")))
async def test_number_search_with_anything_typed(server: RunningServer, marie: DashboardClient, number: str) -> None:
    """The search by phone number with anything typed: a page (200) saying the number is not recognised or
    listing what it found, the text typed shown escaped; 400 for a NUL, 413 past the body limit; never a 5xx."""
    await raw(marie, "/mediateurs/recherche")
    async with marie.session.post(
        "/mediateurs/recherche", data={"csrf": marie.csrf, "numero": number}, allow_redirects=False
    ) as response:
        text = await response.text()
    assert_not_5xx(response, text)
    if len(number.encode()) > MAX_BODY - 1000:
        assert response.status == 413
    elif "\x00" in number:
        assert response.status == 400
    else:
        assert response.status == 200
        assert "<script>alert" not in text


@settings(FUZZ, max_examples=40)
@given(
    page=st.sampled_from(["/mediateurs/", "/mediateurs/export.csv", "/mediateurs/export-cra.csv",
                          "/mediateurs/connexion", "/mediateurs/recherche"]),
    query=st.dictionaries(st.sampled_from(["file", "etat", "page", "du", "au", "suite", "raison"]), QUERY_TEXT,
                          max_size=4),
)  # fmt: skip
async def test_pages_with_any_query(
    server: RunningServer, marie: DashboardClient, page: str, query: dict[str, str]
) -> None:
    """The list (queue, state, page number), the exports (dates), the sign-in page (where to go after, why) and the
    search with any query string: a page or a clear 400 (dates), never a 5xx, nothing typed echoed unescaped."""
    async with marie.session.get(page, params=query, allow_redirects=False) as response:
        text = await response.text()
    assert_not_5xx(response, text)
    assert response.status in (200, 303, 400, 404), (response.status, text[:300])
    assert "<script>alert" not in text


@pytest.mark.parametrize(
    "path",
    ["/mediateurs/demandes/" + "a" * 33, "/mediateurs/demandes/%3Cscript%3E", "/mediateurs/demandes/..%2F..",
     "/mediateurs/demandes/abc/supprimer", "/mediateurs/%00", "/mediateurs/static/..%2F..%2Fconfig.py"],
)  # fmt: skip
async def test_unknown_or_malformed_paths(marie: DashboardClient, path: str) -> None:
    """Ids too long, markup, escapes and unknown actions in the path: the French 404 page, never a 5xx."""
    async with marie.session.get(path, allow_redirects=False) as response:
        text = await response.text()
    assert response.status == 404, (response.status, text[:300])
    assert "Page introuvable" in html.unescape(text)


@settings(FUZZ, max_examples=20)
@given(cookie=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=";,\\\""),
                      max_size=120))  # fmt: skip
async def test_any_session_cookie_leads_to_the_sign_in_page(server: RunningServer, cookie: str) -> None:
    """A session cookie of any value (forged, truncated, of another shape): the sign-in page, never a 5xx."""
    async with aiohttp.ClientSession(base_url=server.url) as session:
        headers = {"Cookie": f"passerelle_session={cookie}"}
        async with session.get("/mediateurs/", headers=headers, allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"].startswith(LOGIN)


async def test_the_dashboard_still_works_for_marie(server: RunningServer, marie: DashboardClient) -> None:
    """After the bad input above (this module's tests run in order), Marie takes a request and adds a note."""
    row = await create_request(server, queue="lyon", key=next(REQUEST_KEYS))
    response, text = await marie.act(row.id, "prendre")
    assert response.status == 200
    assert "vous vous occupez de cette demande" in text
    response, text = await marie.act(row.id, "note", note="Rappeler après 14 h")
    assert "Rappeler après 14 h" in text
