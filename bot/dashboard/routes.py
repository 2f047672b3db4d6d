"""The mediators' dashboard: plain HTML pages and forms under /mediateurs/ (no JavaScript), on the web server.

    GET  /mediateurs/                      the requests of my queues, oldest first (filters: bot/dashboard/listing.py)
    GET  /mediateurs/etat.json             what an open list polls to refresh itself (a version, how many wait)
    GET  /mediateurs/connexion             sign-in form;  POST: sign in
    POST /mediateurs/deconnexion           sign out
    GET  /mediateurs/demandes/{id}         one request: who to call, answers, places, history, actions
    POST /mediateurs/demandes/{id}/{action}  prendre | reprendre | liberer | appel-fait | injoignable | rappeler | note
                                           (reprendre: confirmer=oui, a colleague's request taken over)
                                           (rappeler: date=YYYY-MM-DD, heure=HH:MM in the queue's time zone)
    GET  /mediateurs/export.csv?du=YYYY-MM-DD&au=YYYY-MM-DD[&file=Q]   activity of a period (no personal data)
    GET  /mediateurs/export-cra.csv?du=…&au=…[&file=Q]   its calls made, as the Coop's CRA individuel (same rules)
    GET  /mediateurs/recherche             « Rechercher un numéro »;  POST: the requests of my queues with that
                                           number (a POST: the number never goes into a URL, hence into logs)

Security, in one place (`_guard`): every POST needs the form's CSRF token (the session's, or before sign-in
the one of a short-lived cookie: double submit), compared in constant time, and must not come from another
site; otherwise 403 and nothing happens. The session cookie is HttpOnly, SameSite=Strict, Secure over https,
limited to /mediateurs. Pages show phone numbers: never stored by the browser (Cache-Control: no-store).
Actions end in a redirect (Post/Redirect/Get); their outcome is shown once on the next page (the session's flash).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Literal

from aiohttp import web

from bot.callbacks import when as words
from bot.callbacks.desk import CallbackDesk
from bot.callbacks.rules import OUTCOMES, STATUS_LABELS, Actor, Refused
from bot.callbacks.view import Describer, local_time
from bot.core.clock import PARIS, now
from bot.core.text import parse_phone
from bot.dashboard.accounts import WINDOW, Accounts, Denied, Mediator
from bot.dashboard.coop import cra_csv
from bot.dashboard.export import PeriodError, activity_csv, asked_period, period, words_of
from bot.dashboard.http import (
    CSRF_FIELD,
    ID_PATTERN,
    LOGIN_COOKIE,
    LOGIN_PATH,
    NEXT_PATTERN,
    PREFIX,
    SESSION_COOKIE,
    TOKEN_PATTERN,
    Posted,
    cross_site_form,
    csrf_matches,
    csv_download,
    forget_cookie,
    log_failure,
    next_path,
    security_headers,
    set_cookie,
)
from bot.dashboard.listing import STATES, listed, live_state, one_page, read_filters
from bot.dashboard.pages import STATIC, Pages
from bot.dashboard.present import ListItem, agreed, full_time, history_lines, waiting
from bot.storage.records import CallbackRow

ACTIONS = ("prendre", "reprendre", "liberer", "appel-fait", "injoignable", "rappeler", "note")
MAX_TYPED_NUMBER = 40  # characters of a searched number: parse_phone reads no more
REASONS = {
    "expiree": "Votre session a expiré : connectez-vous de nouveau.",
    "deconnecte": "Vous êtes déconnecté·e. À bientôt !",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Dashboard:
    def __init__(
        self,
        desk: CallbackDesk,
        describer: Describer,
        accounts: Accounts,
        *,
        clock: Callable[[], datetime] = now,
        refresh: int = 10,
    ) -> None:
        self.desk = desk
        self.refresh = refresh  # seconds between an open list's checks for news
        self.describer = describer
        self.accounts = accounts
        self.clock = clock
        self.pages = Pages()
        self._checked: dict[int, Posted] = {}  # the POSTs being handled, by id(request), once _guard passed them

    def install(self, web_app: web.Application) -> None:
        sub = web.Application(middlewares=[self._errors, self._guard])
        sub.on_response_prepare.append(security_headers)
        sub.router.add_get("/", self.queue_list)
        sub.router.add_get("/etat.json", self.live)
        sub.router.add_get("/connexion", self.login_page)
        sub.router.add_post("/connexion", self.login)
        sub.router.add_post("/deconnexion", self.logout)
        sub.router.add_get(f"/demandes/{{id:{ID_PATTERN}}}", self.request_page)
        sub.router.add_post(f"/demandes/{{id:{ID_PATTERN}}}/{{action:{'|'.join(ACTIONS)}}}", self.act)
        sub.router.add_post("/suivante", self.take_next)
        sub.router.add_get("/export.csv", self.export)
        sub.router.add_get("/export-cra.csv", self.export_cra)
        sub.router.add_get("/recherche", self.search_page)
        sub.router.add_post("/recherche", self.search)
        sub.router.add_static("/static/", STATIC)
        web_app.router.add_get(PREFIX, _to_dashboard)
        web_app.add_subapp(PREFIX, sub)

    # ----- middlewares ----------------------------------------------------------------------------------------
    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """French pages for errors; a failure is logged (method and path: a request id at most) and answered 500."""
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status in (404, 405):
                return self.pages.error(exc.status, "Page introuvable", "Cette page n'existe pas, ou plus.")
            raise
        except Exception as exc:
            log_failure(request, exc)
            return self.pages.error(
                500, "Erreur", "Quelque chose n'a pas marché de notre côté. Réessayez dans un instant."
            )

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every POST: same site, and the form's CSRF token; POST handlers find the mediator and the form checked
        here with `_posted(request)`."""
        if request.method != "POST":
            return await handler(request)
        if cross_site_form(request):
            return self.pages.forbidden()
        try:
            form = await request.post()
        except web.HTTPException:
            raise  # 413: a body over the server's limit
        except Exception:  # undecodable text, an unknown charset, a broken multipart body: the sender's error
            return self.pages.unreadable()
        if any(isinstance(value, str) and "\x00" in value for value in form.values()):
            return self.pages.unreadable()  # no browser form holds a NUL, and PostgreSQL refuses to store one
        mediator = None
        if request.path == LOGIN_PATH:
            expected = request.cookies.get(LOGIN_COOKIE, "")
        else:
            mediator = await self._signed_in(request)
            expected = mediator.csrf_token
        if not csrf_matches(form.get(CSRF_FIELD), expected):
            return self.pages.forbidden()
        self._checked[id(request)] = Posted(mediator, form)
        try:
            return await handler(request)
        finally:
            del self._checked[id(request)]

    def _posted(self, request: web.Request) -> Posted:
        return self._checked[id(request)]  # a KeyError (500) for a POST that escaped _guard: never silently allowed

    # ----- signing in and out ---------------------------------------------------------------------------------
    async def login_page(self, request: web.Request) -> web.StreamResponse:
        token = request.cookies.get(SESSION_COOKIE)
        if token and isinstance(await self.accounts.session(token), Mediator):
            raise web.HTTPSeeOther(f"{PREFIX}/")
        notice = REASONS.get(request.query.get("raison", ""), "")
        return self.pages.login_form(request, notice=notice, after=next_path(request.query.get("suite", "")))

    async def login(self, request: web.Request) -> web.StreamResponse:
        posted = self._posted(request)
        login, password = posted.field("identifiant"), posted.field("mot_de_passe")
        after = next_path(posted.field("suite"))
        result = await self.accounts.sign_in(login, password, request.remote or "")
        if isinstance(result, Denied):
            if result.reason == "limited":
                minutes = int(WINDOW.total_seconds() // 60)
                response = self.pages.login_form(
                    request,
                    error=f"Trop d'essais de connexion. Par sécurité, attendez {minutes} minutes avant de réessayer.",
                    login=login,
                    after=after,
                    status=429,
                )
                response.headers["Retry-After"] = str(int(WINDOW.total_seconds()))
                return response
            return self.pages.login_form(
                request, error="Identifiant ou mot de passe incorrect.", login=login, after=after
            )
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            await self.accounts.sign_out(old)
        response = web.HTTPSeeOther(after or f"{PREFIX}/")
        set_cookie(response, request, SESSION_COOKIE, result.token, None)
        forget_cookie(response, LOGIN_COOKIE)
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        token = request.cookies.get(SESSION_COOKIE, "")
        await self.accounts.sign_out(token)
        response = web.HTTPSeeOther(f"{LOGIN_PATH}?raison=deconnecte")
        forget_cookie(response, SESSION_COOKIE)
        raise response

    # ----- pages ----------------------------------------------------------------------------------------------
    async def queue_list(self, request: web.Request) -> web.StreamResponse:
        mediator = await self._signed_in(request, take_flash=True)
        mine = tuple(mediator.queues)
        filters = read_filters(request.query, mine)
        live = await live_state(self.desk, mine)  # before the rows: a change in between refreshes the list again
        found = await one_page(self.desk, listed(filters, mine, mediator.actor_id), filters.page)
        totals: dict[str, int] = {}
        for (_queue, status), count in (await self.desk.counts([filters.queue] if filters.queue else mine)).items():
            totals[status] = totals.get(status, 0) + count
        at = self.clock()
        items = [self._item(row, at) for row in found.rows]
        today = at.astimezone(PARIS).date()
        return self.pages.page(
            "list.html",
            mediator,
            queues=self._queue_choices(mediator),
            filters=filters,
            states=list(STATES.items()),
            communes=await self.desk.communes(mine),
            counts=[(status, label, totals.get(status, 0)) for status, label in STATUS_LABELS.items()],
            items=items,
            found=found,
            live=live,
            refresh=self.refresh,
            export_from=today.replace(day=1).isoformat(),
            export_to=today.isoformat(),
        )

    async def live(self, request: web.Request) -> web.StreamResponse:
        """For an open list's script: a JSON object `{"version", "waiting"}` (nothing personal)."""
        mediator = await self._signed_in(request)
        return web.json_response(await live_state(self.desk, tuple(mediator.queues)))

    async def request_page(self, request: web.Request) -> web.StreamResponse:
        mediator = await self._signed_in(request, take_flash=True)
        row = await self._row(request.match_info["id"], mediator)
        mine = row.claimed_by == mediator.actor_id
        open_ = row.status in ("new", "claimed")
        view, queue, at = self.describer.view(row), self.desk.queue_of(row), self.clock()
        local = (row.scheduled_at or at).astimezone(words.zone_of(queue))  # the form shows the agreed time, or today
        return self.pages.page(
            "request.html",
            mediator,
            view=view,
            created=full_time(row.created_at),
            due=full_time(self.desk.queue_of(row).due_at(row.created_at)) if row.created_at else "",
            waiting=waiting(row, queue, at),
            agreed=agreed(view, at),
            agreed_day=local.date().isoformat(),
            agreed_time=local.strftime("%H:%M") if row.scheduled_at else "",
            hours=words.hours_words(queue.hours),
            claimed_at=full_time(row.claimed_at),
            resolved_at=full_time(row.resolved_at),
            mine=mine,
            can_claim=row.status == "new",
            can_release=row.status == "claimed" and mine,
            can_resolve=open_ and row.status == "claimed" and mine,  # done or unreachable: once taken, by its holder
            outcomes=list(OUTCOMES.items()),
            max_attempts=self.desk.queue_of(row).max_attempts,
            history=history_lines(await self.desk.history(row.id)),
        )

    async def act(self, request: web.Request) -> web.StreamResponse:
        posted = self._posted(request)
        mediator = posted.who
        callback_id, action = request.match_info["id"], request.match_info["action"]
        actor = Actor(mediator.actor_id, mediator.name, "dashboard")
        note = posted.field("note") or None
        page = f"{PREFIX}/demandes/{callback_id}"
        after = page
        kind: Literal["ok", "error"] = "ok"
        try:
            if action == "prendre":
                row = await self.desk.claim(callback_id, actor, queues=mediator.queues)
                text = "C'est noté : vous vous occupez de cette demande. Appelez la personne au numéro ci-dessous."
            elif action == "reprendre" and posted.field("confirmer") != "oui":
                raise Refused("confirm_take_over")
            elif action == "reprendre":
                row = await self.desk.take_over(callback_id, actor, queues=mediator.queues)
                text = "C'est noté : vous reprenez cette demande. Appelez la personne au numéro ci-dessous."
            elif action == "liberer":
                row = await self.desk.release(callback_id, actor, queues=mediator.queues)
                text = "Demande libérée : elle est de nouveau en attente pour toute l'équipe."
            elif action == "appel-fait":
                outcome = posted.field("resultat") or None
                row = await self.desk.call_done(callback_id, actor, outcome=outcome, note=note, queues=mediator.queues)
                text = f"Demande {row.id[:4]} close : appel fait ({OUTCOMES.get(row.outcome or '', '')})."
                after = f"{PREFIX}/"
            elif action == "rappeler":
                when = words.parse_local(posted.field("date"), posted.field("heure"))  # in the queue's time zone
                row = await self.desk.schedule(callback_id, actor, when, queues=mediator.queues)
                text = (
                    f"C'est noté : rappel programmé le {self.describer.view(row).agreed}. La personne est prévenue ; "
                    "vous serez rappelé·e à l'heure dite."
                )
            elif action == "injoignable":
                row = await self.desk.unreachable(callback_id, actor, note=note, queues=mediator.queues)
                text = (
                    f"Demande {row.id[:4]} remise en attente : {row.attempts} appel(s) sans réponse."
                    if row.status == "new"
                    else f"Demande {row.id[:4]} close : personne injoignable après {row.attempts} appels."
                )
                after = f"{PREFIX}/"
            else:
                await self.desk.add_note(callback_id, actor, note or "", queues=mediator.queues)
                text = "Note ajoutée."
        except Refused as refused:
            if refused.code in ("not_found", "not_allowed"):
                raise web.HTTPNotFound() from None
            text, kind, after = refused.message, "error", page
        await self.accounts.flash(mediator, kind, text)
        raise web.HTTPSeeOther(after)

    async def take_next(self, request: web.Request) -> web.StreamResponse:
        """« Prendre la plus ancienne »: the request waiting longest in my queues (or the chosen one), claimed at
        once; requests other mediators are taking at this very moment are skipped (FOR UPDATE SKIP LOCKED)."""
        posted = self._posted(request)
        mediator = posted.who
        chosen = posted.field("file") or ""
        queues = [chosen] if chosen in mediator.queues else list(mediator.queues)
        row = await self.desk.claim_next(Actor(mediator.actor_id, mediator.name, "dashboard"), queues)
        if row is None:
            await self.accounts.flash(mediator, "ok", "Aucune demande n'attend dans vos files : tout est pris.")
            raise web.HTTPSeeOther(f"{PREFIX}/")
        text = "C'est noté : vous vous occupez de cette demande. Appelez la personne au numéro ci-dessous."
        await self.accounts.flash(mediator, "ok", text)
        raise web.HTTPSeeOther(f"{PREFIX}/demandes/{row.id}")

    async def search_page(self, request: web.Request) -> web.StreamResponse:
        mediator = await self._signed_in(request, take_flash=True)
        return self.pages.page("search.html", mediator, typed="", error="", items=None)

    async def search(self, request: web.Request) -> web.StreamResponse:
        """The requests of the mediator's queues made with the number typed, found by its keyed digest (numbers are
        stored encrypted); others' queues are not searched. Neither the number nor the result is logged."""
        posted = self._posted(request)
        mediator = posted.who
        typed = posted.field("numero").strip()[:MAX_TYPED_NUMBER]
        phone = parse_phone(typed) if typed else None
        if phone is None:
            error = "Ce numéro n'est pas reconnu. Écrivez-le par exemple 06 12 34 56 78 ou +33 6 12 34 56 78."
            return self.pages.page("search.html", mediator, typed=typed, error=error, items=None)
        at = self.clock()
        items = [self._item(row, at) for row in await self.desk.find_by_phone(mediator.queues, phone)]
        return self.pages.page("search.html", mediator, typed=typed, error="", items=items)

    async def export(self, request: web.Request) -> web.StreamResponse:
        asked = await self._export_asked(request)
        if isinstance(asked, web.Response):
            return asked
        queues, since, until, chosen = asked
        rows = await self.desk.changed_between(queues, *period(since, until))
        return csv_download(activity_csv(rows, words_of(self.describer)), "activite", chosen, since, until)

    async def export_cra(self, request: web.Request) -> web.StreamResponse:
        """« Bilan pour la Coop »: the calls made in the period, as the Coop de la médiation numérique's CRA."""
        asked = await self._export_asked(request)
        if isinstance(asked, web.Response):
            return asked
        queues, since, until, chosen = asked
        rows = await self.desk.done_between(queues, *period(since, until))
        return csv_download(cra_csv(rows), "coop-cra", chosen, since, until)

    async def _export_asked(self, request: web.Request) -> tuple[list[str], date, date, str] | web.Response:
        """An export's queues (the chosen one, else all the mediator's: 404 for another's) and period (?du=&au=), or
        the error page of a period that cannot be exported."""
        mediator = await self._signed_in(request)
        chosen = request.query.get("file", "")
        if chosen and chosen not in mediator.queues:
            raise web.HTTPNotFound()
        today = self.clock().astimezone(PARIS).date()
        try:
            since, until = asked_period(request.query.get("du"), request.query.get("au"), today)
        except PeriodError as exc:
            return self.pages.error(400, exc.title, exc.text)
        return [chosen] if chosen else list(mediator.queues), since, until, chosen

    # ----- helpers --------------------------------------------------------------------------------------------
    async def _signed_in(self, request: web.Request, *, take_flash: bool = False) -> Mediator:
        """The signed-in mediator; otherwise a redirect to the sign-in page (which comes back here after)."""
        token = request.cookies.get(SESSION_COOKIE, "")
        found = await self.accounts.session(token, take_flash=take_flash) if TOKEN_PATTERN.fullmatch(token) else None
        if isinstance(found, Mediator):
            return found
        reason = "raison=expiree&" if found == "expired" else ""
        after = request.path if request.method == "GET" and NEXT_PATTERN.fullmatch(request.path) else ""
        response = web.HTTPSeeOther(f"{LOGIN_PATH}?{reason}suite={after or PREFIX + '/'}")
        if token:
            forget_cookie(response, SESSION_COOKIE)
        raise response

    async def _row(self, callback_id: str, mediator: Mediator) -> CallbackRow:
        """The request, if it belongs to one of the mediator's queues: 404 otherwise (others' requests do not exist)."""
        row = await self.desk.get(callback_id)
        if row is None or row.queue not in mediator.queues:
            raise web.HTTPNotFound()
        return row

    def _item(self, row: CallbackRow, at: datetime) -> ListItem:
        view = self.describer.view(row)
        return ListItem(view, local_time(row.created_at), waiting(row, self.desk.queue_of(row), at), agreed(view, at))

    def _queue_choices(self, mediator: Mediator) -> list[tuple[str, str]]:
        queues = self.desk.queues
        return [(name, q.label if (q := queues.get(name)) else name) for name in mediator.queues]


async def _to_dashboard(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect(f"{PREFIX}/")
