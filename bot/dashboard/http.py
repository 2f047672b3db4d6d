"""The dashboard's HTTP rules: its paths and cookies, which forms pass (same site, CSRF token), the headers of its
responses. Used by routes.py."""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiDictProxy

from bot.channels.web.http import SAME_SITE_FETCHES, SECURITY_HEADERS, is_https
from bot.core.errors import failure_frames, failure_summary
from bot.dashboard.accounts import Mediator

log = logging.getLogger("bot.dashboard.routes")  # the pages' failures, under the pages' name

PREFIX = "/mediateurs"
LOGIN_PATH = f"{PREFIX}/connexion"
STATIC_PATH = f"{PREFIX}/static/"
SESSION_COOKIE = "passerelle_session"
LOGIN_COOKIE = "passerelle_connexion"  # the sign-in form's CSRF token, before any session exists
LOGIN_COOKIE_AGE = 3600
CSRF_FIELD = "csrf"
ID_PATTERN = r"[A-Za-z0-9_-]{1,32}"
NEXT_PATTERN = re.compile(rf"{PREFIX}/(demandes/{ID_PATTERN})?")  # where to go after signing in
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,100}")


@dataclass(frozen=True, slots=True)
class Posted:
    """A POST that passed the checks: the signed-in mediator (None for the sign-in form) and the form."""

    mediator: Mediator | None
    form: MultiDictProxy[Any]

    def field(self, name: str) -> str:
        value = self.form.get(name, "")
        return value if isinstance(value, str) else ""

    @property
    def who(self) -> Mediator:
        assert self.mediator is not None, "only the sign-in form is posted without a session"
        return self.mediator


def csrf_matches(given: object, expected: str) -> bool:
    """The form's token is the expected one (compared in constant time); an empty expectation never matches."""
    return isinstance(given, str) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int | None) -> None:
    """A dashboard cookie: HttpOnly, SameSite=Strict, only under /mediateurs, Secure when the browser uses https."""
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="Strict", path=PREFIX, secure=is_https(request)
    )


def forget_cookie(response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path=PREFIX)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every dashboard response, error pages included: the shared security headers, and no-store but on the
    stylesheet."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(STATIC_PATH):
        response.headers.setdefault("Cache-Control", "public, max-age=86400")  # versioned URLs (?v=…)
    else:
        response.headers["Cache-Control"] = "no-store"  # pages show phone numbers: never kept by the browser


def cross_site_form(request: web.Request) -> bool:
    """The browser says another site sent this form. Unlike the web chat's `cross_site` (for fetch calls), an
    `Origin: null` passes: under `Referrer-Policy: no-referrer` browsers send it for a page's own forms. Sec-Fetch-Site,
    when sent, is decisive; the CSRF token and the SameSite=Strict cookie stand in any case."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site.lower() not in SAME_SITE_FETCHES
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return False
    return urlsplit(origin).netloc.lower() != request.host.lower()


def next_path(path: str) -> str:
    """A dashboard path to come back to after signing in; "" for anything else (no open redirect)."""
    return path if NEXT_PATTERN.fullmatch(path) else ""


def csv_download(text: str, kind: str, chosen: str, since: date, until: date) -> web.Response:
    """A CSV to save (« passerelle-activite-lyon-2026-11-01-2026-11-30.csv »)."""
    name = f"passerelle-{kind}-{chosen + '-' if chosen else ''}{since.isoformat()}-{until.isoformat()}.csv"
    response = web.Response(body=text.encode("utf-8"), content_type="text/csv", charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def log_failure(request: web.Request, exc: BaseException) -> None:
    """Where a page failed, without the exceptions' messages: a database error quotes its SQL parameters (a phone
    number, a note)."""
    log.error(
        "dashboard: %s %s failed: %s\n%s", request.method, request.path, failure_summary(exc), failure_frames(exc)
    )
