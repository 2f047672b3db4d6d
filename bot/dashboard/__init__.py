"""The mediators' dashboard (/mediateurs/): accounts and sessions (accounts.py, commands.py for the command line),
passwords (passwords.py), the pages (routes.py: `install_dashboard`; http.py: cookies, CSRF, headers), the
activity export (export.py). Only routes.py and http.py import aiohttp."""
