"""Browser tests' set-up: Debian's Chromium (installed with apt-get when missing), Playwright launched on it with
no network beyond loopback, the whole server (`bot.app.server.serve`) running in-process on a free loopback port
with a temporary SQLite file, and a folder for screenshots.

Reused by the fixtures of tests/conftest.py (`chromium`, `web_server`, `page`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.app.root import App
from bot.app.server import serve
from bot.config import Settings

if TYPE_CHECKING:
    from playwright.async_api import Browser, Playwright, Route

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
INSTALL_COMMAND = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium"
INSTALL_TIMEOUT = 900  # seconds: a slow mirror and about 100 MB of packages
LOOPBACK = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


class BrowserSetupError(RuntimeError):
    """Chromium is missing and could not be installed: the message says what to do."""


def ensure_chromium(executable: Path = CHROMIUM) -> Path:
    """Debian's Chromium at `executable`, installed with apt-get when missing (CI runs as root). Raises
    BrowserSetupError with what to do when that is impossible; browser tests never skip silently."""
    if _runs(executable):
        return executable
    if shutil.which("apt-get") is None:
        raise BrowserSetupError(f"{executable} is missing and apt-get is not available: install Chromium there")
    if os.geteuid() != 0:
        raise BrowserSetupError(f"{executable} is missing; install it as root: {INSTALL_COMMAND}")
    # One installer at a time, even with several test processes.
    with open("/tmp/passerelle-chromium-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _runs(executable):
            return executable
        started = time.monotonic()
        try:
            result = subprocess.run(
                ["sh", "-c", INSTALL_COMMAND],
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BrowserSetupError(f"`{INSTALL_COMMAND}` took more than {INSTALL_TIMEOUT} s") from exc
        if result.returncode != 0 or not _runs(executable):
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise BrowserSetupError(
                f"`{INSTALL_COMMAND}` failed (exit {result.returncode}); {executable} is still missing:\n{tail}"
            )
        print(f"\nChromium installed with apt-get in {time.monotonic() - started:.0f} s")
    return executable


def _runs(executable: Path) -> bool:
    return executable.is_file() and os.access(executable, os.X_OK)


def artifacts_dir() -> Path:
    """Where screenshots go: $PASSERELLE_ARTIFACTS, else tests/artifacts/ (ignored by git)."""
    folder = Path(os.environ.get("PASSERELLE_ARTIFACTS") or ROOT / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def launch_chromium(playwright: Playwright, executable: Path = CHROMIUM) -> Browser:
    """Headless Chromium that resolves no host name but loopback (pages also block other URLs: `block_outside`)."""
    return await playwright.chromium.launch(
        executable_path=str(executable),
        headless=True,
        args=[
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
            "--no-proxy-server",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-domain-reliability",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-dev-shm-usage",
            # Debian's Chromium runs as root in CI containers: the sandbox needs user namespaces they lack.
            "--no-sandbox",
        ],
    )


async def block_outside(route: Route) -> None:
    """A context route: requests to anything but loopback are aborted (no test touches the internet)."""
    host = urlsplit(route.request.url).hostname or ""
    scheme = urlsplit(route.request.url).scheme
    if scheme in ("data", "blob", "about") or host in LOOPBACK:
        await route.continue_()
    else:
        await route.abort("blockedbyclient")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def web_settings(database: Path, port: int | None = None, **extra: str) -> Settings:
    """Settings of a server without Telegram on loopback, on a SQLite file, with the shipped flow and catalogue."""
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "HOST": "127.0.0.1",
        "PORT": str(port or free_port()),
        "FLOWS_DIR": str(ROOT / "flows"),
        "CATALOGUE_DIR": str(ROOT / "catalogue"),
        **extra,
    }
    return Settings.from_env(env)


@dataclass(frozen=True, slots=True)
class RunningServer:
    app: App
    settings: Settings

    @property
    def url(self) -> str:
        """The server's base URL, without the final slash: f"{server.url}/api/chat"."""
        return f"http://{self.settings.host}:{self.settings.port}"


@contextlib.asynccontextmanager
async def running_server(settings: Settings) -> AsyncIterator[RunningServer]:
    """`bot.app.server.serve` until the block ends, then stopped as on SIGTERM."""
    stop = asyncio.Event()
    ready: asyncio.Future[RunningServer] = asyncio.get_running_loop().create_future()

    def on_ready(app: App, _channel: object) -> None:
        ready.set_result(RunningServer(app, settings))

    task = asyncio.create_task(serve(settings, stop=stop, on_ready=on_ready))
    done, _ = await asyncio.wait({task, ready}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what stopped it
        raise AssertionError("the server stopped before it was ready")
    if ready not in done:
        task.cancel()
        raise TimeoutError("the server was not ready within 60 s")
    try:
        yield ready.result()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
