"""The composition root: everything built and started in one place (root.py), the web server (server.py), reload."""
