"""What every web page of the server shares (the people's chat, the mediators' dashboard): headers, static
files, request checks.

- `install_shared(app)`: the static files of bot/channels/web/static at /static/, and on every response (error pages and
  static files included) a strict Content-Security-Policy (no inline script or style, nothing from other
  sites, no framing), nosniff and no referrer. A handler that needs another value sets its own header: it is
  kept.
- `cross_site(request)`: True when the browser says the request comes from another site (Origin or
  Sec-Fetch-Site); state-changing endpoints refuse it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Cross-Origin-Opener-Policy": "same-origin",
}
STATIC_DIR = Path(__file__).with_name("static")
STATIC_PREFIX = "/static/"
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})  # "none": typed in the address bar, a bookmark


async def _add_headers(_request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def install_shared(app: web.Application) -> None:
    app.on_response_prepare.append(_add_headers)
    app.router.add_static(STATIC_PREFIX, STATIC_DIR)


def static_url(name: str) -> str:
    """The URL of a static file, with a short hash of its content so that browsers fetch a new version."""
    digest = hashlib.blake2s((STATIC_DIR / name).read_bytes(), digest_size=4).hexdigest()
    return f"{STATIC_PREFIX}{name}?v={digest}"


def is_https(request: web.Request) -> bool:
    """The browser reached us over https (directly, or through a TLS proxy saying so): cookies get `Secure`."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def cross_site(request: web.Request) -> bool:
    """The browser says another site made this request. Sec-Fetch-Site, which every current browser sends, decides
    when present: under `Referrer-Policy: no-referrer` some browsers send `Origin: null` even for a page's own
    POSTs. Without it, an Origin must be this host's. Absent headers (curl, old browsers) are no proof of
    anything and pass: the SameSite cookie and the JSON content type still stand in the way."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site.lower() not in SAME_SITE_FETCHES
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc.lower() != request.host.lower()
