"""The dashboard's pages as HTML: its templates rendered with what every page shows (the stylesheet, the signed-in
mediator, the form token, the flash), its error pages, and the sign-in form with its cookie. Used by routes.py."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.channels.web.templates import environment
from bot.dashboard.accounts import Mediator
from bot.dashboard.http import LOGIN_COOKIE, LOGIN_COOKIE_AGE, PREFIX, STATIC_PATH, TOKEN_PATTERN, set_cookie

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")


class Pages:
    def __init__(self) -> None:
        self.templates = environment(TEMPLATES)
        self.css = f"{STATIC_PATH}dashboard.css?v={_digest(STATIC / 'dashboard.css')}"
        self.js = f"{STATIC_PATH}dashboard.js?v={_digest(STATIC / 'dashboard.js')}"

    def page(self, template: str, mediator: Mediator | None, *, status: int = 200, **context: Any) -> web.Response:
        html = self.templates.get_template(template).render(
            css=self.css,
            js=self.js,
            prefix=PREFIX,
            mediator=mediator,
            csrf=mediator.csrf_token if mediator else context.pop("csrf", ""),
            flash=mediator.flash if mediator else None,
            **context,
        )
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def login_form(
        self,
        request: web.Request,
        *,
        notice: str = "",
        error: str = "",
        login: str = "",
        after: str = "",
        status: int = 200,
    ) -> web.Response:
        """The sign-in form, with the token its POST must bring back (double submit: before any session, the
        browser keeps it in a short-lived cookie)."""
        csrf = request.cookies.get(LOGIN_COOKIE, "")
        if not TOKEN_PATTERN.fullmatch(csrf):
            csrf = secrets.token_urlsafe(32)
        response = self.page(
            "login.html", None, csrf=csrf, notice=notice, error=error, login=login, after=after, status=status
        )
        set_cookie(response, request, LOGIN_COOKIE, csrf, LOGIN_COOKIE_AGE)
        return response

    def error(self, status: int, title: str, text: str) -> web.Response:
        return self.page("error.html", None, status=status, title=title, text=text)

    def unreadable(self) -> web.Response:
        return self.error(
            400,
            "Formulaire illisible",
            "Ce formulaire n'a pas pu être lu. Rien n'a été modifié. Revenez à la page, rechargez-la et recommencez.",
        )

    def forbidden(self) -> web.Response:
        return self.error(
            403,
            "Action refusée",
            "Ce formulaire n'est plus valable : il a peut-être été ouvert il y a longtemps, ou ailleurs que sur "
            "Passerelle. Rien n'a été modifié. Revenez à la page, rechargez-la et recommencez.",
        )


def _digest(path: Path) -> str:
    return hashlib.blake2s(path.read_bytes(), digest_size=4).hexdigest()
