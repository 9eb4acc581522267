"""PostgreSQL 15 from Debian: the write model's cluster (`postgres`, logical WAL for Debezium) and the read store's
(`readdb`, the list projection's tables), two clusters of one class, each with its own port, data dir and config."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import psycopg

from infra import versions
from infra.errors import ServiceUnhealthy
from infra.install import apt_install
from infra.process import as_unprivileged
from infra.readdb_roles import ensure_roles
from infra.services.base import Service, render
from infra.settings import REPO_ROOT

BIN_DIR = Path(f"/usr/lib/postgresql/{versions.POSTGRES_MAJOR}/bin")
APP_DATABASE = "orders"
READ_DATABASE = "readmodels"
SUPERUSER = "postgres"


def dsn(port: int, database: str = APP_DATABASE) -> str:
    return f"host=127.0.0.1 port={port} user={SUPERUSER} dbname={database} connect_timeout=3"


class Postgres(Service):
    """A PostgreSQL cluster; subclasses change only the names: service (which is also the port's name in `Ports` and
    the data dir), the database it creates, and the config template under `infra/config/`."""

    name = "postgres"
    version = versions.POSTGRES_MAJOR
    database = APP_DATABASE
    config = "postgresql.conf"
    # SIGTERM is a "smart" shutdown that waits for every client (pools, the replication connection) to leave;
    # SIGINT is the fast one: clients are disconnected, and the shutdown is still clean.
    stop_signal = signal.SIGINT

    @property
    def port(self) -> int:
        return int(getattr(self.settings.ports, self.name))

    def install(self) -> None:
        if not (BIN_DIR / "postgres").exists():
            apt_install(self.name, [f"postgresql-{versions.POSTGRES_MAJOR}"])

    def prepare(self) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            initdb = [
                str(BIN_DIR / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
            ]
            result = subprocess.run(as_unprivileged([*initdb, "--no-locale"]), capture_output=True, text=True)
            if result.returncode != 0:
                raise ServiceUnhealthy(self.name, f"initdb failed:\n{result.stderr[-2000:]}", "see the error above")
        main_conf = self.data_dir / "postgresql.conf"
        if "include_if_exists 'cqrs.conf'" not in main_conf.read_text():
            with main_conf.open("a") as conf:
                conf.write("\ninclude_if_exists 'cqrs.conf'\n")
        template = (REPO_ROOT / "infra" / "config" / self.config).read_text()
        (self.data_dir / "cqrs.conf").write_text(render(template, port=self.port))

    def command(self) -> list[str]:
        return as_unprivileged([str(BIN_DIR / "postgres"), "-D", str(self.data_dir)])

    def healthy(self) -> bool:
        try:
            with psycopg.connect(dsn(self.port, "postgres"), autocommit=True) as conn:
                conn.execute("SELECT 1")
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
                if exists is None:
                    conn.execute(f'CREATE DATABASE "{self.database}"')
            return True
        except psycopg.Error:
            return False


class ReadDb(Postgres):
    """The read store of the list projection: not the write database, and no logical WAL (nothing replicates it).
    Healthy once its database and its two roles exist (`infra/readdb_roles.py`): the workers write as one, the read
    API reads as the other."""

    name = "readdb"
    database = READ_DATABASE
    config = "readdb.conf"

    def healthy(self) -> bool:
        if not super().healthy():
            return False
        try:
            with psycopg.connect(dsn(self.port, self.database), autocommit=True) as conn:
                ensure_roles(conn)
            return True
        except psycopg.Error:
            return False
