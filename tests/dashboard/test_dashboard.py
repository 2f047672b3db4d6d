"""The mediators' dashboard over HTTP: the whole server (`bot.app.server.serve`) on a loopback port with a SQLite file
(the `web_server` fixture), driven like a browser without JavaScript (tests/support/dashboard.py): accounts, signing
in, sessions, CSRF, the actions on a request and what the database then holds, queue isolation (the exports: in
test_export.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import func, select, update

from bot.callbacks import when as words
from bot.callbacks.jobs import CallbackJobs
from bot.core.clock import now
from bot.dashboard.accounts import IDLE, MAX_LOGIN_FAILURES, WINDOW, Accounts, Denied, Mediator, SignedIn
from bot.dashboard.passwords import hash_password, verify_password
from bot.storage import Storage
from bot.storage.tables import callback_events, callbacks, dashboard_sessions, login_attempts, mediators
from tests.support.browser import ROOT, RunningServer
from tests.support.dashboard import PASSWORD, DashboardClient, add_mediator, create_request, working_moment

# The tests on the whole server run on the session's event loop, where the `web_server` fixture lives.
on_server = pytest.mark.asyncio(loop_scope="session")
LIST = "/mediateurs/"
LOGIN = "/mediateurs/connexion"


def storage_of(server: RunningServer) -> Storage:
    assert isinstance(server.app.storage, Storage)
    return server.app.storage


async def events(server: RunningServer, callback_id: str) -> list[tuple[str, str, str, str | None]]:
    async with storage_of(server).callback_transaction() as tx:
        rows = await tx.connection.execute(
            select(callback_events.c.action, callback_events.c.actor, callback_events.c.via, callback_events.c.note)
            .where(callback_events.c.callback_id == callback_id)
            .order_by(callback_events.c.id)
        )
        return [(r[0], r[1], r[2], storage_of(server).keyring.open(r[3])) for r in rows]  # notes are encrypted


async def count_rows(server: RunningServer, table: object) -> int:
    async with storage_of(server).callback_transaction() as tx:
        return int(await tx.connection.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


async def mediators_cli(server: RunningServer, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """`python -m bot mediators …` in its own process, on the server's database (as an operator would)."""
    settings = server.settings
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "CATALOGUE_DIR": str(settings.catalogue_dir),
        "FLOWS_DIR": str(settings.flows_dir),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "mediators",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


# ----- accounts -------------------------------------------------------------------------------------------------
@on_server
async def test_cli_creates_an_account_that_signs_in(web_server: RunningServer) -> None:
    """`mediators add` reads the password from stdin, stores a scrypt hash, and the account signs in."""
    code, out, err = await mediators_cli(
        web_server, "add", "Marie", "--queue", "lyon", "--name", "Marie D.", stdin=PASSWORD + "\n"
    )
    assert (code, err) == (0, "")
    assert "marie created" in out
    async with storage_of(web_server).callback_transaction() as tx:
        row = (await tx.connection.execute(select(mediators).where(mediators.c.login == "marie"))).one()
    assert row.name == "Marie D."
    assert row.queues == ["lyon"]
    assert row.password_hash.startswith("scrypt$16384$8$1$")
    assert PASSWORD not in row.password_hash
    async with DashboardClient(web_server) as client:
        response, text = await client.sign_in("marie")
    assert response.url.path == LIST
    assert "Marie D." in text
    assert "Demandes de rappel" in text


@pytest.mark.slow
@on_server
async def test_cli_refuses_unknown_queues_and_short_passwords_and_says_when_it_updates(
    web_server: RunningServer,
) -> None:
    """Unknown queue and too short password are refused with a clear message; adding again updates."""
    code, _, err = await mediators_cli(web_server, "add", "paul", "--queue", "nulle-part", stdin=PASSWORD + "\n")
    assert code == 2
    assert "unknown queue 'nulle-part'" in err
    assert "lyon" in err
    code, _, err = await mediators_cli(web_server, "add", "paul", "--queue", "lyon", stdin="court\n")
    assert code == 2
    assert "at least 12 characters" in err
    assert await count_rows(web_server, mediators) == 0
    code, out, _ = await mediators_cli(web_server, "add", "paul", "--queue", "lyon", stdin=PASSWORD + "\n")
    assert code == 0
    code, out, _ = await mediators_cli(
        web_server, "add", "paul", "--queue", "lyon", "--queue", "isere", stdin="un autre mot de passe\n"
    )
    assert code == 0
    assert "already existed" in out
    assert "updated" in out
    code, out, _ = await mediators_cli(web_server, "list")
    assert out.split("\t")[:3] == ["paul", "paul", "lyon,isere"]
    async with DashboardClient(web_server) as client:
        response, _ = await client.sign_in("paul", PASSWORD)
        assert response.url.path == LOGIN  # the old password no longer works
        response, _ = await client.sign_in("paul", "un autre mot de passe")
        assert response.url.path == LIST
        code, out, _ = await mediators_cli(web_server, "remove", "paul")
        assert code == 0
        response, _ = await client.page(LIST)
        assert response.url.path == LOGIN  # removing the account ended its session


def test_passwords_are_salted_scrypt_checked_in_constant_time() -> None:
    """Two hashes of one password differ (salt); the right password matches, a wrong one or a malformed hash not."""
    one, two = hash_password(PASSWORD), hash_password(PASSWORD)
    assert one != two
    assert verify_password(PASSWORD, one)
    assert verify_password(PASSWORD, two)
    assert not verify_password(PASSWORD + "x", one)
    assert not verify_password(PASSWORD, "")
    assert not verify_password(PASSWORD, "scrypt$99999999999$8$1$AAAA$AAAA")


async def test_accounts_and_sessions_on_every_database(database_url: str) -> None:
    """The account and session queries on SQLite and PostgreSQL: save, sign in, idle expiry, failures counted per
    login, flash taken once, removal ending the sessions."""
    storage = await Storage.open(database_url)
    clock = [now()]
    accounts = Accounts(storage, clock=lambda: clock[0])
    try:
        assert await accounts.save("Marie", PASSWORD, ["lyon"], "Marie D.") == "created"
        assert await accounts.save("marie", PASSWORD, ["lyon", "isere"]) == "updated"
        signed = await accounts.sign_in("MARIE ", PASSWORD, "192.0.2.1")
        assert isinstance(signed, SignedIn)
        assert (signed.mediator.name, signed.mediator.queues) == ("Marie D.", ("lyon", "isere"))
        current = await accounts.session(signed.token)
        assert isinstance(current, Mediator)
        await accounts.flash(current, "ok", "Note ajoutée.")
        first = await accounts.session(signed.token, take_flash=True)
        again = await accounts.session(signed.token, take_flash=True)
        assert isinstance(first, Mediator)
        assert isinstance(again, Mediator)
        assert (first.flash, again.flash) == ({"kind": "ok", "text": "Note ajoutée."}, None)
        clock[0] += IDLE
        assert await accounts.session(signed.token) == "expired"
        assert await accounts.session(signed.token) is None  # deleted
        for _ in range(MAX_LOGIN_FAILURES):
            assert await accounts.sign_in("marie", "mauvais mot de passe", "192.0.2.1") == Denied("wrong")
        assert await accounts.sign_in("marie", PASSWORD, "192.0.2.2") == Denied("limited")
        clock[0] += WINDOW
        assert isinstance(await accounts.sign_in("marie", PASSWORD, "192.0.2.2"), SignedIn)
        assert await accounts.remove("marie")
        assert await accounts.sign_in("marie", PASSWORD, "192.0.2.3") == Denied("wrong")
        assert await accounts.save("marie", PASSWORD, ["lyon"]) == "enabled"
    finally:
        await storage.close()


async def test_guesses_sent_together_cannot_pass_the_sign_in_limit(database_url: str) -> None:
    """20 wrong passwords sent at once (each waiting for its hash) are not all checked: past the limit they are
    refused unchecked; a successful sign-in leaves no failure counted against its address."""
    storage = await Storage.open(database_url)
    try:
        accounts = Accounts(storage)
        await accounts.save("marie", PASSWORD, ["lyon"])
        await accounts.save("paul", PASSWORD, ["lyon"])
        assert isinstance(await accounts.sign_in("paul", PASSWORD, "192.0.2.9"), SignedIn)
        async with storage.callback_transaction() as tx:
            assert await tx.connection.scalar(select(func.count()).select_from(login_attempts)) == 0
        guesses = [accounts.sign_in("marie", f"mauvais mot de passe {n}", "192.0.2.9") for n in range(20)]
        answers = await asyncio.gather(*guesses)
        assert answers.count(Denied("wrong")) == MAX_LOGIN_FAILURES
        assert answers.count(Denied("limited")) == 20 - MAX_LOGIN_FAILURES
    finally:
        await storage.close()


# ----- signing in -----------------------------------------------------------------------------------------------
@on_server
async def test_wrong_password_and_unknown_login_get_the_same_answer(web_server: RunningServer) -> None:
    """A wrong password and an unknown login both get the form again with the same message, and no session."""
    await add_mediator(web_server, "marie", ["lyon"])
    async with DashboardClient(web_server) as client:
        wrong, wrong_text = await client.sign_in("marie", "pas le bon mot de passe")
        unknown, unknown_text = await client.sign_in("personne", "pas le bon mot de passe")
        assert wrong.status == unknown.status == 200
        assert wrong.url.path == unknown.url.path == LOGIN
        assert "Identifiant ou mot de passe incorrect." in wrong_text
        assert "Identifiant ou mot de passe incorrect." in unknown_text
        assert client.cookie("passerelle_session") is None
        response, _ = await client.page(LIST)
        assert response.url.path == LOGIN


@on_server
async def test_sign_in_is_limited_after_repeated_failures(web_server: RunningServer) -> None:
    """After 5 wrong passwords for a login, even the right one gets 429 and a wait message; others are not blocked."""
    await add_mediator(web_server, "marie", ["lyon"])
    await add_mediator(web_server, "paul", ["lyon"])
    async with DashboardClient(web_server) as client:
        for _ in range(MAX_LOGIN_FAILURES):
            response, _ = await client.sign_in("marie", "mauvais mot de passe")
            assert response.status == 200
        response, text = await client.sign_in("marie", PASSWORD)
        assert response.status == 429
        assert response.headers["Retry-After"] == "900"
        assert "Trop d'essais de connexion" in text
        assert "15 minutes" in text
        assert client.cookie("passerelle_session") is None
        response, _ = await client.sign_in("paul", PASSWORD)
        assert response.url.path == LIST
    # The failures are stored hashed: no login or address in clear.
    async with storage_of(web_server).callback_transaction() as tx:
        keys = list(await tx.connection.scalars(select(login_attempts.c.key)))
    assert keys
    assert all(len(k) == 64 and "marie" not in k and "127.0.0.1" not in k for k in keys)


@on_server
async def test_session_ends_after_thirty_idle_minutes(web_server: RunningServer) -> None:
    """A session unused for 30 minutes sends back to the sign-in page saying it expired, and is deleted."""
    await add_mediator(web_server, "marie", ["lyon"])
    async with DashboardClient(web_server) as client:
        await client.sign_in("marie")
        async with storage_of(web_server).callback_transaction() as tx:
            await tx.connection.execute(update(dashboard_sessions).values(last_seen_at=now() - IDLE))
        response, text = await client.page(LIST)
        assert response.url.path == LOGIN
        assert "Votre session a expiré" in text
        assert await count_rows(web_server, dashboard_sessions) == 0


@on_server
async def test_session_ends_twelve_hours_after_sign_in_even_when_used(web_server: RunningServer) -> None:
    """The absolute timeout: a session created 12 hours ago ends even if it was used a minute ago."""
    await add_mediator(web_server, "marie", ["lyon"])
    async with DashboardClient(web_server) as client:
        await client.sign_in("marie")
        async with storage_of(web_server).callback_transaction() as tx:
            await tx.connection.execute(
                update(dashboard_sessions).values(created_at=now() - timedelta(hours=12), last_seen_at=now())
            )
        response, _ = await client.page(LIST)
        assert response.url.path == LOGIN


@on_server
async def test_sign_out_deletes_the_session(web_server: RunningServer) -> None:
    """« Se déconnecter » deletes the session row and the cookie; the old cookie opens nothing afterwards."""
    await add_mediator(web_server, "marie", ["lyon"])
    async with DashboardClient(web_server) as client:
        await client.sign_in("marie")
        token = client.cookie("passerelle_session")
        assert token
        assert await count_rows(web_server, dashboard_sessions) == 1
        response, text = await client.post("/mediateurs/deconnexion")
        assert response.url.path == LOGIN
        assert "Vous êtes déconnecté" in text
        assert client.cookie("passerelle_session") is None
        assert await count_rows(web_server, dashboard_sessions) == 0
    async with DashboardClient(web_server) as replay:
        replay.session.cookie_jar.update_cookies({"passerelle_session": token})
        response, _ = await replay.page(LIST)
        assert response.url.path == LOGIN


@on_server
async def test_cookies_and_security_headers(web_server: RunningServer) -> None:
    """Session cookie HttpOnly, SameSite=Strict, Path=/mediateurs (Secure behind https); CSP, no framing, nosniff,
    no referrer and no-store on every dashboard page."""
    await add_mediator(web_server, "marie", ["lyon"])
    async with aiohttp.ClientSession(base_url=web_server.url) as http:
        async with http.get(LOGIN, headers={"X-Forwarded-Proto": "https"}) as response:
            text = await response.text()
            login_csrf = response.cookies["passerelle_connexion"]
        assert login_csrf["secure"]
        assert login_csrf["httponly"]
        assert login_csrf["samesite"] == "Strict"
        token = text.split('name="csrf" value="')[1].split('"')[0]
        form = {"csrf": token, "identifiant": "marie", "mot_de_passe": PASSWORD}
        for proto, secure in (("https", True), ("http", False)):
            async with http.post(
                LOGIN,
                data=form,
                headers={"X-Forwarded-Proto": proto, "Cookie": f"passerelle_connexion={token}"},
                allow_redirects=False,
            ) as response:
                assert response.status == 303
                cookie = response.cookies["passerelle_session"]
            assert cookie["httponly"] is True
            assert cookie["samesite"] == "Strict"
            assert cookie["path"] == "/mediateurs"
            assert bool(cookie["secure"]) is secure
    async with DashboardClient(web_server) as client:
        await client.sign_in("marie")
        row = await create_request(web_server)
        for path in (LIST, f"/mediateurs/demandes/{row.id}", "/mediateurs/export.csv", LOGIN, "/mediateurs/rien"):
            response, _ = await client.page(path)
            headers = response.headers
            assert headers["Cache-Control"] == "no-store", path
            csp = headers["Content-Security-Policy"]
            assert "default-src 'self'" in csp
            assert "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Referrer-Policy"] == "no-referrer"
        _, text = await client.page(f"/mediateurs/demandes/{row.id}")
        assert "<script" not in text
        assert 'lang="fr"' in text
        assert "06 12 34 56 78" in text


# ----- CSRF -----------------------------------------------------------------------------------------------------
@on_server
async def test_forms_without_the_right_csrf_token_change_nothing(web_server: RunningServer) -> None:
    """A POST with no token, a wrong token, or from another site: 403 with a French page, and nothing changed."""
    await add_mediator(web_server, "marie", ["lyon"])
    row = await create_request(web_server)
    path = f"/mediateurs/demandes/{row.id}/prendre"
    async with DashboardClient(web_server) as client:
        await client.sign_in("marie")
        await client.page(f"/mediateurs/demandes/{row.id}")
        response, text = await client.post(path, csrf=False)
        assert response.status == 403
        assert "Action refusée" in text
        assert "Rien n'a été modifié" in text
        response, _ = await client.post(path, {"csrf": "x" * 43})
        assert response.status == 403
        response, _ = await client.post(path, headers={"Origin": "https://ailleurs.example"})
        assert response.status == 403
        response, _ = await client.post("/mediateurs/deconnexion", csrf=False)
        assert response.status == 403
    stored = await web_server.app.desk.get(row.id)  # type: ignore[union-attr]
    assert stored is not None
    assert stored.status == "new"
    assert stored.claimed_by is None
    assert [e[0] for e in await events(web_server, row.id)] == ["created"]
    assert await count_rows(web_server, dashboard_sessions) == 1  # the refused sign-out signed nobody out


@on_server
async def test_the_sign_in_form_needs_its_csrf_token_too(web_server: RunningServer) -> None:
    """Signing in with the right password but without the form's token (login CSRF) is refused: 403, no session."""
    await add_mediator(web_server, "marie", ["lyon"])
    async with DashboardClient(web_server) as client:
        await client.page(LOGIN)
        response, _ = await client.post(LOGIN, {"identifiant": "marie", "mot_de_passe": PASSWORD}, csrf=False)
        assert response.status == 403
        response, _ = await client.post(LOGIN, {"identifiant": "marie", "mot_de_passe": PASSWORD, "csrf": "z" * 43})
        assert response.status == 403
        assert client.cookie("passerelle_session") is None
    assert await count_rows(web_server, dashboard_sessions) == 0


# ----- acting on requests ---------------------------------------------------------------------------------------
@on_server
async def test_claim_release_and_call_done_through_the_forms(web_server: RunningServer) -> None:
    """« Je m'en occupe », « Libérer », then « Appel fait » with an outcome and a note: the row and its history."""
    await add_mediator(web_server, "marie", ["lyon"], name="Marie D.")
    row = await create_request(web_server)
    desk = web_server.app.desk
    assert desk is not None
    async with DashboardClient(web_server) as marie:
        await marie.sign_in("marie")
        _, text = await marie.page(LIST)
        assert f"/mediateurs/demandes/{row.id}" in text
        assert "Jeanne" in text
        assert "dans les délais" in text

        response, text = await marie.act(row.id, "prendre")
        assert response.url.path == f"/mediateurs/demandes/{row.id}"
        assert "vous vous occupez de cette demande" in text
        claimed = await desk.get(row.id)
        assert claimed is not None
        assert (claimed.status, claimed.claimed_by, claimed.claimed_name) == ("claimed", "web:marie", "Marie D.")

        _, text = await marie.act(row.id, "liberer")
        assert "Demande libérée" in text
        released = await desk.get(row.id)
        assert released is not None
        assert (released.status, released.claimed_by) == ("new", None)

        await marie.act(row.id, "prendre")
        response, text = await marie.act(
            row.id, "appel-fait", resultat="appointment", note="RDV jeudi à la médiathèque"
        )
        assert response.url.path == LIST
        assert "close : appel fait (Rendez-vous pris)" in text
        done = await desk.get(row.id)
        assert done is not None
        assert (done.status, done.outcome, done.note) == ("done", "appointment", "RDV jeudi à la médiathèque")
        assert done.resolved_at is not None

        _, text = await marie.page(f"/mediateurs/demandes/{row.id}")
        assert "Rendez-vous pris" in text
        assert "RDV jeudi à la médiathèque" in text
        for words in ("Demande reçue", "Prise en charge", "Libérée", "Appel fait", "par Marie D. (tableau de bord)"):
            assert words in text
    assert await events(web_server, row.id) == [
        ("created", "person", "system", None),
        ("claimed", "web:marie", "dashboard", None),
        ("released", "web:marie", "dashboard", None),
        ("claimed", "web:marie", "dashboard", None),
        ("done", "web:marie", "dashboard", "Rendez-vous pris. RDV jeudi à la médiathèque"),
    ]


@on_server
async def test_unreachable_puts_back_in_the_queue_then_closes(web_server: RunningServer) -> None:
    """« Injoignable » with a note counts an attempt and frees the request; at the queue's limit it closes."""
    await add_mediator(web_server, "marie", ["lyon"])
    row = await create_request(web_server)
    desk = web_server.app.desk
    assert desk is not None
    limit = desk.queue_of(row).max_attempts
    async with DashboardClient(web_server) as marie:
        await marie.sign_in("marie")
        for attempt in range(1, limit + 1):
            await marie.act(row.id, "prendre")
            _, text = await marie.act(row.id, "injoignable", note=f"essai {attempt} : messagerie")
            stored = await desk.get(row.id)
            assert stored is not None
            assert stored.attempts == attempt
            if attempt < limit:
                assert stored.status == "new"
                assert "remise en attente" in text
            else:
                assert stored.status == "unreachable"
                assert "personne injoignable" in text
        _response, text = await marie.act(row.id, "note", note="Courrier envoyé")
        assert "Note ajoutée." in text
    history = await events(web_server, row.id)
    assert [e[0] for e in history].count("unreachable") == limit
    assert history[-1] == ("note", "web:marie", "dashboard", "Courrier envoyé")


@on_server
async def test_a_request_held_by_someone_else_is_refused_with_their_name(web_server: RunningServer) -> None:
    """Paul's claim of a request Marie holds is refused, the page says « Déjà prise en charge par Marie D. »."""
    await add_mediator(web_server, "marie", ["lyon"], name="Marie D.")
    await add_mediator(web_server, "paul", ["lyon"], name="Paul")
    row = await create_request(web_server)
    async with DashboardClient(web_server) as marie, DashboardClient(web_server) as paul:
        await marie.sign_in("marie")
        await paul.sign_in("paul")
        await paul.page(f"/mediateurs/demandes/{row.id}")  # Paul opens the page while it is still free…
        await marie.act(row.id, "prendre")  # …Marie is quicker
        response, text = await paul.post(f"/mediateurs/demandes/{row.id}/prendre")
        assert response.url.path == f"/mediateurs/demandes/{row.id}"
        assert "Déjà prise en charge par Marie D." in text
        assert "Cette demande est suivie par Marie D." in text
        response, text = await paul.post(f"/mediateurs/demandes/{row.id}/appel-fait", {"resultat": "helped"})
        assert "c'est à cette personne d'agir" in text
    stored = await web_server.app.desk.get(row.id)  # type: ignore[union-attr]
    assert stored is not None
    assert (stored.status, stored.claimed_by) == ("claimed", "web:marie")


@on_server
async def test_a_mediator_sees_and_acts_only_on_their_queues(web_server: RunningServer) -> None:
    """A request of another queue is absent from the list and answers 404 to the page, its actions and the export."""
    await add_mediator(web_server, "marie", ["lyon"])
    mine = await create_request(web_server, queue="lyon", first_name="Jeanne")
    other = await create_request(web_server, queue="isere", first_name="Odette")
    async with DashboardClient(web_server) as marie:
        await marie.sign_in("marie")
        _, text = await marie.page(f"{LIST}?etat=toutes&file=isere")
        assert mine.id in text
        assert other.id not in text
        assert "Odette" not in text
        response, text = await marie.page(f"/mediateurs/demandes/{other.id}")
        assert response.status == 404
        assert "Page introuvable" in text
        assert "Odette" not in text
        await marie.page(f"/mediateurs/demandes/{mine.id}")
        for action in ("prendre", "appel-fait", "injoignable", "note"):
            response, _ = await marie.post(f"/mediateurs/demandes/{other.id}/{action}", {"note": "x"})
            assert response.status == 404, action
        response, _ = await marie.page("/mediateurs/export.csv?file=isere")
        assert response.status == 404
        _, export = await marie.page("/mediateurs/export.csv")
        assert mine.id in export
        assert other.id not in export
    stored = await web_server.app.desk.get(other.id)  # type: ignore[union-attr]
    assert stored is not None
    assert stored.status == "new"
    assert stored.note is None
    assert [e[0] for e in await events(web_server, other.id)] == ["created"]


@on_server
async def test_list_filters_by_queue_and_state_and_colours_waiting_in_words(web_server: RunningServer) -> None:
    """The list: counts per state, filters by own queue and state, oldest first, lateness said in words."""
    await add_mediator(web_server, "marie", ["lyon", "default"])
    old = await create_request(web_server, queue="lyon", first_name="Ancienne")
    # waiting for 30 days: late whatever the hour of the run (lyon's target is 4 hours of its working time)
    async with storage_of(web_server).callback_transaction() as tx:
        await tx.connection.execute(
            update(callbacks).where(callbacks.c.id == old.id).values(created_at=now() - timedelta(days=30))
        )
    recent = await create_request(web_server, queue="lyon", first_name="Récente")
    elsewhere = await create_request(web_server, queue="default", first_name="Ailleurs")
    async with DashboardClient(web_server) as marie:
        await marie.sign_in("marie")
        await marie.act(recent.id, "prendre")
        _, text = await marie.page(LIST)
        assert text.index("Ancienne") < text.index("Récente") < text.index("Ailleurs")  # oldest first
        assert '<span class="wait wait-red">en retard</span>' in text
        assert "attend depuis <strong>30 j</strong>" in text
        assert '<span class="count-number">2</span> En attente' in text
        assert '<span class="count-number">1</span> Prise en charge' in text
        _, text = await marie.page(f"{LIST}?file=lyon&etat=claimed")
        assert "Récente" in text
        assert "Ancienne" not in text
        assert "Ailleurs" not in text
        _, text = await marie.page(f"{LIST}?file=default")
        assert "Ailleurs" in text
        assert "Récente" not in text
        assert elsewhere.id in text


@on_server
async def test_odd_page_numbers_show_the_first_page(web_server: RunningServer) -> None:
    """A page number that is not a small ASCII number (« ² », more digits than any offset) shows the first page,
    never a 500."""
    await add_mediator(web_server, "marie", ["lyon"])
    row = await create_request(web_server)
    async with DashboardClient(web_server) as marie:
        await marie.sign_in("marie")
        for number in ("\u00b2", "\u0663", "9" * 25, "9" * 5000, "-1", ""):
            response, text = await marie.page(LIST, params={"page": number})
            assert response.status == 200, number[:10]
            assert row.id in text, number[:10]


@on_server
async def test_forms_the_server_cannot_read_get_400_and_change_nothing(web_server: RunningServer) -> None:
    """A form body no browser sends (bytes that are not UTF-8, an unknown charset, a broken multipart body, a NUL
    character), on the sign-in form as on a request's: 400 with a French page, never a 500, and nothing changed."""
    await add_mediator(web_server, "marie", ["lyon"])
    row = await create_request(web_server)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with DashboardClient(web_server) as marie:
        await marie.page(LOGIN)
        login_csrf = marie.csrf.encode()
        async with marie.session.post(
            LOGIN, data=b"csrf=" + login_csrf + b"&identifiant=marie&mot_de_passe=\xff\xfe", headers=form
        ) as response:
            assert response.status == 400
            assert "Formulaire illisible" in await response.text()
        await marie.sign_in("marie")
        await marie.page(f"/mediateurs/demandes/{row.id}")
        csrf = marie.csrf.encode()
        path = f"/mediateurs/demandes/{row.id}/note"
        for body, content_type in (
            (b"csrf=" + csrf + b"&note=\xff\xfe", form["Content-Type"]),
            (b"csrf=" + csrf + b"&note=x", "application/x-www-form-urlencoded; charset=nothing-known"),
            (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
            (b"csrf=" + csrf + b"&note=secret%00note", form["Content-Type"]),
        ):
            async with marie.session.post(path, data=body, headers={"Content-Type": content_type}) as response:
                assert response.status == 400, body
                assert "Formulaire illisible" in await response.text()
    assert [e[0] for e in await events(web_server, row.id)] == ["created"]


@on_server
async def test_an_unexpected_failure_is_logged_without_its_message(
    web_server: RunningServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """When an action fails unexpectedly, the mediator gets the French 500 page and the log names the failure and
    where, without the exceptions' messages (a database error quotes its parameters: a note, a phone number)."""
    await add_mediator(web_server, "marie", ["lyon"])
    row = await create_request(web_server)
    desk = web_server.app.desk
    assert desk is not None

    secret = "Mme Germaine au 06 12 34 56 78"

    async def failing(callback_id: str, actor: object, note: str, **_kwargs: object) -> None:
        try:
            raise ValueError(f"[parameters: ('+33612345678', {note!r})]")
        except ValueError as exc:
            raise RuntimeError(f"database error with {note!r}") from exc

    monkeypatch.setattr(desk, "add_note", failing)
    async with DashboardClient(web_server) as marie:
        await marie.sign_in("marie")
        with caplog.at_level(logging.ERROR, logger="bot.dashboard.routes"):
            response, text = await marie.act(row.id, "note", note=secret)
    assert response.status == 500
    assert "Quelque chose n'a pas marché" in text
    assert "dashboard: POST" in caplog.text
    assert "RuntimeError" in caplog.text
    assert "Germaine" not in caplog.text
    assert "612345678" not in caplog.text


@on_server
async def test_dashboard_files_are_served_and_unknown_pages_are_french(web_server: RunningServer) -> None:
    """/mediateurs redirects to /mediateurs/, the stylesheet is served, an unknown page is a French 404."""
    async with aiohttp.ClientSession(base_url=web_server.url) as http:
        async with http.get("/mediateurs", allow_redirects=False) as response:
            assert response.status == 308
            assert response.headers["Location"] == "/mediateurs/"
        async with http.get("/mediateurs/", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"].startswith(LOGIN)
        async with http.get("/mediateurs/static/dashboard.css") as response:
            assert response.status == 200
            assert ":focus-visible" in await response.text()
        async with http.get("/mediateurs/introuvable") as response:
            assert response.status == 404
            assert "Page introuvable" in await response.text()


@on_server
async def test_take_the_oldest_gives_each_mediator_a_different_request_oldest_first(web_server: RunningServer) -> None:
    """« Prendre la plus ancienne »: two mediators get the two waiting requests, oldest first, each their own page;
    with none left, a kind message and nothing taken; a request of another queue is never handed over."""
    await add_mediator(web_server, "marie", ["lyon"], name="Marie D.")
    await add_mediator(web_server, "paul", ["lyon"], name="Paul")
    first = await create_request(web_server, queue="lyon", first_name="Jeanne")
    second = await create_request(web_server, queue="lyon", first_name="Louis")
    elsewhere = await create_request(web_server, queue="isere", first_name="Ailleurs")
    async with DashboardClient(web_server) as marie, DashboardClient(web_server) as paul:
        await marie.sign_in("marie")
        await paul.sign_in("paul")
        response, page = await marie.post("/mediateurs/suivante")
        assert response.url.path == f"/mediateurs/demandes/{first.id}"
        assert "vous vous occupez de cette demande" in page
        response, _ = await paul.post("/mediateurs/suivante")
        assert response.url.path == f"/mediateurs/demandes/{second.id}"
        response, page = await paul.post("/mediateurs/suivante")
        assert response.url.path == LIST
        assert "Aucune demande n'attend dans vos files" in page
        response, _ = await paul.post("/mediateurs/suivante", csrf=False)
        assert response.status == 403
    desk = web_server.app.desk
    assert desk is not None
    holders = {r.id: r.claimed_by for r in await desk.listing(None)}
    assert holders == {first.id: "web:marie", second.id: "web:paul", elsewhere.id: None}


@on_server
async def test_rappeler_le_records_the_agreed_time_shows_it_and_refuses_what_cannot_be(
    web_server: RunningServer,
) -> None:
    """« Rappeler le … à … » is offered to the holder only; a time outside the team's hours or missing is refused
    with what to do (the hours given); an agreed time shows on the request's page, in its history and on the list's
    card, and once the reminder went (the jobs at that time) the card says it is due."""
    await add_mediator(web_server, "marie", ["lyon"], name="Marie D.")
    await add_mediator(web_server, "paul", ["lyon"], name="Paul")
    row = await create_request(web_server)
    desk = web_server.app.desk
    assert desk is not None
    queue = desk.queue_of(row)
    agreed = working_moment(queue)
    short = words.short(agreed, queue.hours.calendar.zone)
    page = f"/mediateurs/demandes/{row.id}"
    async with DashboardClient(web_server) as marie, DashboardClient(web_server) as paul:
        await marie.sign_in("marie")
        await paul.sign_in("paul")
        _, text = await marie.page(page)
        assert "Rappeler le … à …" not in text  # not before taking it
        await marie.act(row.id, "prendre")
        _, text = await paul.page(page)
        assert "Rappeler le … à …" not in text  # not for someone else
        _, text = await marie.page(page)
        assert "Rappeler le … à …" in text
        assert "du lundi au vendredi de 9 h à 12 h 30 et de 13 h 30 à 18 h, hors jours fériés" in text

        _, text = await marie.act(row.id, "rappeler", date=agreed.date().isoformat(), heure="20:00")
        assert "en dehors des horaires de l'équipe (du lundi au vendredi de 9 h à 12 h 30 et de 13 h 30" in text
        _, text = await marie.act(row.id, "rappeler", date="", heure="")
        assert "Indiquez la date et l'heure convenues" in text
        _, text = await paul.act(row.id, "rappeler", date=agreed.date().isoformat(), heure=f"{agreed:%H:%M}")
        assert "c'est à cette personne d'agir" in text
        stored = await desk.get(row.id)
        assert stored is not None
        assert stored.scheduled_at is None

        response, text = await marie.act(row.id, "rappeler", date=agreed.date().isoformat(), heure=f"{agreed:%H:%M}")
        assert response.url.path == page
        assert f"rappel programmé le {short}" in text
        assert f'Rappel prévu</dt><dd class="agreed">{short}</dd>' in text
        assert f"Rappel programmé le {short}" in text  # the history
        assert f'value="{agreed:%H:%M}"' in text  # the form shows the agreed time, to change it
        stored = await desk.get(row.id)
        assert stored is not None
        assert stored.scheduled_at == agreed
        _, text = await marie.page(LIST)
        assert f"Rappel prévu {short}" in text
        assert "c'est l'heure" not in text

        await CallbackJobs(desk).run_once(agreed)
        _, text = await marie.page(LIST)
        assert f"Rappel prévu {short} · <strong>c'est l'heure</strong>" in text
        _, text = await marie.page(page)
        assert "c'est l'heure : appelez maintenant" in text
        assert "Rappel envoyé aux médiateurs" in text
        assert f"Heure convenue : le {short}" in text
