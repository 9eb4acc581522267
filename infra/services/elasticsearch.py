"""A real Elasticsearch 8 node: the JDK-less integ-test distribution from Maven Central, on the machine's JDK 17."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import httpx

from infra import versions
from infra.install import cached, java_home, maven_copy, unzip_single_root
from infra.process import as_unprivileged
from infra.services.base import Service, render
from infra.settings import REPO_ROOT

HEAP = "-Xms512m\n-Xmx512m\n"


class Elasticsearch(Service):
    name = "elasticsearch"
    version = versions.ELASTICSEARCH

    @property
    def port(self) -> int:
        return self.settings.ports.elasticsearch

    @property
    def extra_ports(self) -> tuple[int, ...]:
        return (self.settings.ports.elasticsearch_transport,)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def home(self) -> Path:
        return self.cache_dir / f"elasticsearch-{self.version}"

    def install(self) -> None:
        java_home(self.settings)
        cached(self.home, self._fetch)

    def _fetch(self, out: Path) -> None:
        with tempfile.TemporaryDirectory() as download:
            maven_copy(self.name, "elasticsearch/pom.xml", {"elasticsearch.version": self.version}, Path(download))
            unzip_single_root(self.name, Path(download) / f"elasticsearch-{self.version}.zip", out)

    def prepare(self) -> None:
        if not self.conf_dir.exists():
            shutil.copytree(self.home / "config", self.conf_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        es_logs = self.settings.log_dir / "elasticsearch-node"
        es_logs.mkdir(parents=True, exist_ok=True)
        template = (REPO_ROOT / "infra" / "config" / "elasticsearch.yml").read_text()
        (self.conf_dir / "elasticsearch.yml").write_text(
            render(
                template,
                data_dir=self.data_dir,
                log_dir=es_logs,
                port=self.port,
                transport_port=self.settings.ports.elasticsearch_transport,
            )
        )
        (self.conf_dir / "jvm.options.d").mkdir(exist_ok=True)
        (self.conf_dir / "jvm.options.d" / "heap.options").write_text(HEAP)

    def command(self) -> list[str]:
        # Elasticsearch refuses to run as root; see as_unprivileged.
        return as_unprivileged([str(self.home / "bin" / "elasticsearch")])

    def env(self) -> dict[str, str]:
        return {"ES_PATH_CONF": str(self.conf_dir), "ES_JAVA_HOME": str(java_home(self.settings))}

    def healthy(self) -> bool:
        try:
            health = httpx.get(f"{self.url}/_cluster/health", timeout=3).json()
        except (httpx.HTTPError, ValueError):
            return False
        return health.get("status") in ("green", "yellow")
