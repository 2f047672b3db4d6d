"""The Jinja2 environment of the web pages: HTML escaped everywhere, unknown variables an error."""

from __future__ import annotations

from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).with_name("templates")


def environment(*folders: Path) -> jinja2.Environment:
    """Templates looked up in `folders` first (a page's own, e.g. bot/dashboard/templates), then the shared ones
    in bot/channels/web/templates. Autoescape is on for every template: values never become markup."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([*folders, TEMPLATES]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
