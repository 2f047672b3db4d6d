"""A throw-away PostgreSQL server for the tests: a real server, never a mock.

One cluster per test process (each parallel worker has its own: about 1.4 s of processor time to start, less
trouble than sharing one between processes), started on first use: initdb in a temporary folder, bound to
127.0.0.1 on a free port, trust authentication, durability off (fsync, synchronous_commit, full_page_writes: it is
thrown away), stopped with `pg_ctl stop -m immediate` and removed at the end (a process killed before that has its
cluster reaped by the next session). Each test gets a new database of its own (`new_database`, created ahead of
time on a background thread, then `drop_database`).

The binaries come from Debian's packages (/usr/lib/postgresql/VERSION/bin, the highest version). When none is
installed, Debian's `postgresql` package is installed (as root, or through `sudo -n`); when that is impossible
the set-up fails with a message saying what to install: CI must run these tests, so they are never skipped.
PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user and its commands run
through `runuser -u postgres --`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import pwd
import queue
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

PACKAGE_ROOT = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"  # the superuser role of the cluster, and the system user running it when we are root
START_TIMEOUT = 30  # seconds


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be found, installed or started: the message says why and what to do."""


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name)) or (0,)


def find_binaries(root: Path = PACKAGE_ROOT) -> Path | None:
    """The bin folder of the highest installed PostgreSQL version holding initdb and pg_ctl, if any."""
    found = [p.parent for p in root.glob("*/bin/pg_ctl") if (p.parent / "initdb").is_file()]
    return max(found, key=_version_key) if found else None


def _privileged(command: Sequence[str]) -> list[str] | None:
    """`command` as root: as is when we are root, through `sudo -n` when that works without a password."""
    if os.geteuid() == 0:
        return list(command)
    sudo = shutil.which("sudo")
    if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True, check=False).returncode == 0:
        return [sudo, "-n", *command]
    return None


def install_postgresql() -> None:
    """Install Debian's `postgresql` package (the set-up's only network use, and only when it is missing)."""
    update = _privileged(["apt-get", "update"])
    install = _privileged(["apt-get", "install", "-y", "--no-install-recommends", "postgresql"])
    if update is None or install is None or shutil.which("apt-get") is None:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no initdb/pg_ctl under /usr/lib/postgresql/*/bin) and cannot be installed "
            "here (apt-get needs root or password-less sudo). Install it: "
            "`sudo apt-get install postgresql` (Debian/Ubuntu)."
        )
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # No default cluster on port 5432 (the package would create and start one): the tests make their own.
    no_main_cluster = _privileged(
        ["sh", "-c", "test -e /etc/postgresql-common/createcluster.conf || { mkdir -p /etc/postgresql-common && "
         "echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf; }"]
    )  # fmt: skip
    if no_main_cluster is not None:
        subprocess.run(no_main_cluster, capture_output=True, check=False)
    for command in (update, install):
        done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"installing PostgreSQL failed: `{' '.join(command)}` exited {done.returncode}:\n{done.stderr[-2000:]}"
            )


def binaries() -> Path:
    """PostgreSQL's bin folder, installing the package first when it is missing."""
    found = find_binaries()
    if found is None:
        install_postgresql()
        found = find_binaries()
    if found is None:
        raise PostgresUnavailable(
            "the `postgresql` package is installed but no initdb/pg_ctl is under /usr/lib/postgresql"
        )
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _traversable_by_all(folder: Path) -> bool:
    """Every folder from the root down to `folder` can be entered by any user (the server's user must)."""
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [folder, *folder.parents])


def _scratch_folder() -> Path:
    """An empty temporary folder that the server's user can reach (short: the socket path has a length limit)."""
    for parent in (tempfile.gettempdir(), "/tmp"):
        if _traversable_by_all(Path(parent)):
            return Path(tempfile.mkdtemp(prefix="passerelle-pg-", dir=parent))
    raise PostgresUnavailable("no temporary folder that the postgres user can enter (tried $TMPDIR and /tmp)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans(bin_dir: Path) -> None:
    """Stop and remove the clusters of test sessions that were killed (SIGKILL, timeout) before their clean-up."""
    for parent in {Path(tempfile.gettempdir()), Path("/tmp")}:
        for base in parent.glob("passerelle-pg-*"):
            try:
                owner = int((base / "owner").read_text())
            except (OSError, ValueError):
                continue  # still being set up, or not ours
            if _alive(owner):
                continue
            if (base / "data" / "postmaster.pid").exists():
                cluster = PostgresCluster(bin_dir, base)
                cluster._running = True
                cluster.stop()
            else:
                shutil.rmtree(base, ignore_errors=True)


class _DatabaseSupply:
    """Empty databases created ahead of need, on a thread of their own: CREATE DATABASE (a copy of template1)
    takes a fifth of a second, spent by the server while the previous test runs instead of before the next."""

    AHEAD = 2

    def __init__(self, cluster: PostgresCluster) -> None:
        self._cluster = cluster
        self._ready: queue.Queue[str] = queue.Queue(maxsize=self.AHEAD)
        self._stopping = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._fill(),), name="test-databases", daemon=True)
        self._thread.start()

    async def _fill(self) -> None:
        try:
            connection = await self._cluster._admin()
            try:
                while not self._stopping.is_set():
                    name = f"test_{uuid.uuid4().hex[:16]}"
                    await connection.execute(f'CREATE DATABASE "{name}"')
                    while not self._stopping.is_set():
                        try:
                            self._ready.put(name, timeout=0.1)
                            break
                        except queue.Full:
                            continue
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()
        except Exception as exc:
            self._failure = exc

    def take(self) -> str:
        """The name of a new, empty database (waits for one when none is ready yet)."""
        while True:
            try:
                return self._ready.get(timeout=0.1)
            except queue.Empty:
                if self._failure is not None or not self._thread.is_alive():
                    raise PostgresUnavailable(f"creating a test database failed: {self._failure!r}") from None

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)


class PostgresCluster:
    """A running throw-away cluster; `url(name)` is the SQLAlchemy URL of one of its databases."""

    def __init__(self, bin_dir: Path, base: Path | None = None) -> None:
        self.bin_dir = bin_dir
        self.base = base or _scratch_folder()
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = 0
        self._as_root = os.geteuid() == 0
        self._running = False
        self._supply: _DatabaseSupply | None = None

    # ----- running the server's commands ------------------------------------------------------------------
    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bin_dir / program), *args]
        return ["runuser", "-u", SERVER_USER, "--", *command] if self._as_root else command

    def _run(self, program: str, *args: str, timeout: float = START_TIMEOUT) -> None:
        done = subprocess.run(
            self._command(program, *args), capture_output=True, text=True, timeout=timeout, check=False, cwd=self.base
        )
        if done.returncode != 0:
            server_log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"`{program} {' '.join(args)}` exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
                f"\n{server_log}"
            )

    def start(self) -> None:
        (self.base / "owner").write_text(str(os.getpid()))  # for reap_orphans, should this process be killed
        if self._as_root:
            try:
                user = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root, PostgreSQL needs the system user {SERVER_USER!r} (created by Debian's "
                    "`postgresql` package) to run the test server"
                ) from None
            os.chown(self.base, user.pw_uid, user.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", SERVER_USER, "-A", "trust", "-E", "UTF8", "--locale=C",
            "--no-sync", "--no-instructions",
        )  # fmt: skip
        (self.data / "pg_hba.conf").write_text(
            "# The throw-away test cluster: trust, from its own socket and from 127.0.0.1 only.\n"
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        for attempt in range(3):  # the free port may be taken between the probe and the start: try another
            self.port = free_port()
            settings = {
                "listen_addresses": "'127.0.0.1'",
                "port": str(self.port),
                "unix_socket_directories": f"'{self.base}'",
                "fsync": "off",
                "synchronous_commit": "off",
                "full_page_writes": "off",
                "max_connections": "200",
                "wal_level": "minimal",  # no replica: less WAL per CREATE DATABASE and per table created
                "max_wal_senders": "0",
                "wal_init_zero": "off",  # new WAL files are not zero-filled first (16 MB each)
                "shared_buffers": "32MB",
                "log_min_messages": "warning",
            }
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.write("\n# the tests' throw-away cluster\n")
                conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
            try:
                self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(START_TIMEOUT))
            except PostgresUnavailable:
                if attempt == 2:
                    raise
                continue
            self._running = True
            return

    def stop(self) -> None:
        """Stop at once (nothing to keep) and remove every file; safe to call twice."""
        if self._supply is not None:
            self._supply.stop()
            self._supply = None
        if self._running:
            self._running = False
            with contextlib.suppress(PostgresUnavailable, subprocess.TimeoutExpired):
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        shutil.rmtree(self.base, ignore_errors=True)

    # ----- databases ---------------------------------------------------------------------------------------
    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(host="127.0.0.1", port=self.port, user=SERVER_USER, database="postgres")

    async def new_database(self) -> str:
        """The name of a new, empty database of the caller's own (created ahead of time, see _DatabaseSupply)."""
        if self._supply is None:
            self._supply = _DatabaseSupply(self)
        return await asyncio.to_thread(self._supply.take)

    async def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        connection = await self._admin()
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.url(name)

    async def drop_database(self, name: str) -> None:
        """Drop it, closing whatever connection a test left open."""
        connection = await self._admin()
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def start_cluster() -> PostgresCluster:
    """Find (or install) PostgreSQL and start a throw-away cluster; it is also stopped at interpreter exit."""
    bin_dir = binaries()
    reap_orphans(bin_dir)
    cluster = PostgresCluster(bin_dir)
    atexit.register(cluster.stop)  # a safety net; the session fixture stops it first
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


async def raw_sql(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Run one statement straight on the database of `url` (SQLite file or PostgreSQL), bypassing the code under
    test, committed; its rows as tuples. For tests that check what is really stored."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database
        with contextlib.closing(sqlite3.connect(parsed.database, timeout=10)) as connection:
            rows = connection.execute(sql).fetchall()
            connection.commit()
            return rows
    connection = await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password, database=parsed.database
    )
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()
