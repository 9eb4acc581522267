"""FerretDB 1.x (MongoDB wire protocol) built from the Go module proxy, on its SQLite backend.

Why SQLite: FerretDB 2.x needs Microsoft's DocumentDB extension in Postgres, which Debian does not ship; of 1.x's
backends, SQLite keeps the read model's store independent of the write model's Postgres (a Postgres outage in the
fault tests must not take the read side down with it).

The build carries one patch (`infra.install.FERRETDB_PATCHES`): lookups by `_id` use the `_id` index."""

from __future__ import annotations

from pathlib import Path

import pymongo
from pymongo.errors import PyMongoError

from infra import versions
from infra.install import FERRETDB_BUILD, cached, go_build_ferretdb
from infra.services.base import Service


class FerretDB(Service):
    name = "ferretdb"
    version = versions.FERRETDB

    @property
    def port(self) -> int:
        return self.settings.ports.ferretdb

    @property
    def extra_ports(self) -> tuple[int, ...]:
        return (self.settings.ports.ferretdb_debug,)

    @property
    def binary(self) -> Path:
        return self.cache_dir / f"ferretdb-{self.version}-{FERRETDB_BUILD}" / "bin" / "ferretdb"

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def install(self) -> None:
        cached(self.binary.parent.parent, go_build_ferretdb)

    def prepare(self) -> None:
        (self.data_dir / "sqlite").mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [
            str(self.binary),
            "--handler=sqlite",
            f"--sqlite-url=file:{self.data_dir / 'sqlite'}/",
            f"--state-dir={self.data_dir}",
            f"--listen-addr=127.0.0.1:{self.port}",
            f"--debug-addr=127.0.0.1:{self.settings.ports.ferretdb_debug}",
            "--telemetry=disable",
            "--log-level=warn",
            "--log-format=json",
        ]

    def healthy(self) -> bool:
        try:
            client: pymongo.MongoClient[dict[str, object]]
            with pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=2000) as client:
                client.admin.command("ping")
            return True
        except PyMongoError:
            return False
