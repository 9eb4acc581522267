"""Apache Kafka 4 (KRaft, one broker+controller) from Maven Central."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import subprocess
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from infra import versions
from infra.errors import ServiceUnhealthy
from infra.install import cached, java_home, maven_copy, pom_digest
from infra.services.base import Service, render
from infra.services.jvm import java_command
from infra.settings import REPO_ROOT


class Kafka(Service):
    name = "kafka"
    version = versions.KAFKA

    @property
    def port(self) -> int:
        return self.settings.ports.kafka

    @property
    def extra_ports(self) -> tuple[int, ...]:
        return (self.settings.ports.kafka_controller,)

    @property
    def libs(self) -> Path:
        return self.cache_dir / f"kafka-{self.version}-{pom_digest('kafka/pom.xml')}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def install(self) -> None:
        java_home(self.settings)
        cached(
            self.libs,
            lambda out: maven_copy(self.name, "kafka/pom.xml", {"kafka.version": self.version}, out),
        )

    def prepare(self) -> None:
        template = (REPO_ROOT / "infra" / "config" / "kafka-server.properties").read_text()
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self._properties.write_text(
            render(
                template,
                port=self.port,
                controller_port=self.settings.ports.kafka_controller,
                log_dirs=self.data_dir,
            )
        )
        if not (self.data_dir / "meta.properties").exists():
            self._format_storage()

    @property
    def _properties(self) -> Path:
        return self.conf_dir / "server.properties"

    def _format_storage(self) -> None:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        argv = java_command(
            self.settings, self.libs, "kafka.tools.StorageTool", 256,
            "format", "-t", cluster_id, "-c", str(self._properties),
        )  # fmt: skip
        result = subprocess.run(argv, capture_output=True, text=True)
        if result.returncode != 0:
            raise ServiceUnhealthy(self.name, f"storage format failed:\n{result.stdout}{result.stderr}"[-2000:], "")

    def command(self) -> list[str]:
        return java_command(self.settings, self.libs, "kafka.Kafka", 512, str(self._properties))

    def healthy(self) -> bool:
        # Until the broker listens, each probe's client would log `Unable connect to …` (an error line per probe
        # on every start-up): a refused TCP connect answers "not yet" silently, and so does a probe that fails.
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        quiet = logging.getLogger("aiokafka")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            return asyncio.run(self._describe_cluster())
        finally:
            quiet.setLevel(level)

    async def _describe_cluster(self) -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            return bool(cluster.get("brokers"))
        except (KafkaError, OSError):
            return False
        finally:
            await admin.close()
