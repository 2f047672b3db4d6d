"""The tests' throw-away PostgreSQL server (tests/support/postgres.py): which binaries it picks, how it is set up."""

from __future__ import annotations

from pathlib import Path

from tests.support.postgres import PostgresCluster, find_binaries, raw_sql


def test_the_highest_installed_version_is_picked(tmp_path: Path) -> None:
    """Among installed versions, the highest numerically (16 over 9.6) holding both initdb and pg_ctl is used;
    none installed gives None (the set-up then installs Debian's package)."""
    assert find_binaries(tmp_path) is None
    for version, programs in (("9.6", ("initdb", "pg_ctl")), ("15", ("initdb", "pg_ctl")), ("16", ("pg_ctl",))):
        folder = tmp_path / version / "bin"
        folder.mkdir(parents=True)
        for program in programs:
            (folder / program).write_text("")
    assert find_binaries(tmp_path) == tmp_path / "15" / "bin"
    (tmp_path / "16" / "bin" / "initdb").write_text("")
    assert find_binaries(tmp_path) == tmp_path / "16" / "bin"


async def test_the_server_is_local_throw_away_and_each_test_has_its_own_database(
    postgres_cluster: PostgresCluster, postgres_url: str
) -> None:
    """The server listens on 127.0.0.1 only, runs without durability (it is thrown away), and the test's
    database is a new, empty one."""
    settings = dict(
        await raw_sql(
            postgres_url,
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('listen_addresses', 'fsync', 'synchronous_commit', 'full_page_writes', 'max_connections')",
        )
    )
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
    }
    assert postgres_url.startswith(f"postgresql+asyncpg://postgres@127.0.0.1:{postgres_cluster.port}/test_")
    tables = await raw_sql(postgres_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    assert tables == [(0,)]
