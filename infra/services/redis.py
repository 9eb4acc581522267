"""Redis from Debian: read-model cache and the projections' "version applied" announcements (pub/sub)."""

from __future__ import annotations

import shutil

import redis

from infra import versions
from infra.install import apt_install
from infra.services.base import Service


class Redis(Service):
    name = "redis"
    version = "7.0"

    @property
    def port(self) -> int:
        return self.settings.ports.redis

    def install(self) -> None:
        if shutil.which("redis-server") is None:
            apt_install(self.name, [versions.REDIS_DEBIAN_PACKAGE])

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        # A cache and a notification bus: nothing in it is the only copy of anything, so no persistence.
        return [
            shutil.which("redis-server") or "redis-server",
            "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.data_dir),
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
            "--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru",
        ]  # fmt: skip

    def healthy(self) -> bool:
        try:
            client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)
            return bool(client.ping())
        except redis.RedisError:
            return False
