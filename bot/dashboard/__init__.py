"""The mediators' dashboard (/mediateurs/): accounts and sessions (accounts.py; their commands are a tool),
passwords (passwords.py), the pages (routes.py: `Dashboard`, mounted by the composition root; pages.py: templates,
error pages; http.py: cookies, CSRF, headers), the activity export (export.py). Only routes.py, pages.py and http.py
import aiohttp."""
