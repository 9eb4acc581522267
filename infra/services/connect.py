"""Kafka Connect (distributed mode) with Debezium's PostgreSQL connector and outbox event router on its plugin path."""

from __future__ import annotations

from pathlib import Path

import httpx

from infra import versions
from infra.install import cached, java_home, maven_copy, pom_digest
from infra.services.base import Service, render
from infra.services.jvm import java_command
from infra.settings import REPO_ROOT

POSTGRES_CONNECTOR_CLASS = "io.debezium.connector.postgresql.PostgresConnector"
OUTBOX_ROUTER_CLASS = "io.debezium.transforms.outbox.EventRouter"


class Connect(Service):
    name = "connect"
    version = versions.KAFKA
    depends_on = ("kafka", "postgres")

    @property
    def port(self) -> int:
        return self.settings.ports.connect

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def libs(self) -> Path:
        return self.cache_dir / f"kafka-connect-{versions.KAFKA}-{pom_digest('connect/pom.xml')}"

    @property
    def plugin_path(self) -> Path:
        return self.cache_dir / f"connect-plugins-debezium-{versions.DEBEZIUM}-{pom_digest('debezium/pom.xml')}"

    def install(self) -> None:
        java_home(self.settings)
        cached(
            self.libs,
            lambda out: maven_copy(self.name, "connect/pom.xml", {"kafka.version": versions.KAFKA}, out),
        )
        cached(self.plugin_path, self._fetch_debezium)

    def _fetch_debezium(self, out: Path) -> None:
        # plugin.path holds one folder per plugin; Connect isolates each folder's jars in its own class loader.
        plugin = out / "debezium-connector-postgres"
        maven_copy(self.name, "debezium/pom.xml", {"debezium.version": versions.DEBEZIUM}, plugin)

    def prepare(self) -> None:
        template = (REPO_ROOT / "infra" / "config" / "connect-distributed.properties").read_text()
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self._properties.write_text(
            render(template, port=self.port, kafka_port=self.settings.ports.kafka, plugin_path=self.plugin_path)
        )

    @property
    def _properties(self) -> Path:
        return self.conf_dir / "connect-distributed.properties"

    def command(self) -> list[str]:
        main = "org.apache.kafka.connect.cli.ConnectDistributed"
        return java_command(self.settings, self.libs, main, 512, str(self._properties))

    def healthy(self) -> bool:
        try:
            plugins = httpx.get(f"{self.url}/connector-plugins", timeout=3).json()
        except (httpx.HTTPError, ValueError):
            return False
        return any(plugin.get("class") == POSTGRES_CONNECTOR_CLASS for plugin in plugins)
