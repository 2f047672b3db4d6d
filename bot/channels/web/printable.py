"""The printable list of places of a web-chat conversation (« Garder la liste »): one server-rendered page in
large type, with the names, addresses, phones and opening hours of the places the conversation showed, and a
print stylesheet.

It has its own address (`LIST_PATH`) but no id in it: the conversation is the browser's own, read from the chat's
cookie (a random 63-bit id, HttpOnly), so only that browser reaches that list. Without a conversation, or before
any place was shown, the page says there is no list yet.
"""

from __future__ import annotations

from aiohttp import web

from bot.channels.web.chat import COOKIE
from bot.channels.web.http import static_url
from bot.channels.web.notices import KEY_PREFIX, web_chat_id
from bot.channels.web.templates import environment
from bot.engine.engine import Engine
from bot.places.catalogue import hours
from bot.places.display import phone_display

LIST_PATH = "/liste"


class PrintableList:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.templates = environment()

    def install(self, app: web.Application) -> None:
        app.router.add_get(LIST_PATH, self.page)

    async def page(self, request: web.Request) -> web.Response:
        chat_id = web_chat_id(KEY_PREFIX + request.cookies.get(COOKIE, ""))
        offers = await self.engine.kept_places(f"{KEY_PREFIX}{chat_id}") if chat_id is not None else []
        now = hours.now_paris()
        places = [
            {
                "name": offer.name,
                "address": offer.address,
                "phone": phone_display(offer.phone),
                "tel": offer.phone,
                "opening": offer.next_opening,
                "week": hours.week(offer.hours, now, hours.timezone_for(offer.postcode)) if offer.hours else (),
            }
            for offer in offers
        ]
        html = self.templates.get_template("places.html").render(
            css=static_url("places.css"),
            js=static_url("places.js"),
            icon=static_url("icon.svg"),
            intro=self.engine.text("kept_list_intro").replace(" :", "\u00a0:"),  # the colon never alone on a line
            empty=self.engine.text("kept_list_empty"),
            places=places,
        )
        response = web.Response(text=html, content_type="text/html", charset="utf-8", status=200 if places else 404)
        # the list is personal to this browser: never kept by a shared cache, never indexed
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
        return response
