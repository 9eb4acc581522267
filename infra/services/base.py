"""The shape every native service has: install once, prepare its data dir, a command line, a real health probe."""

from __future__ import annotations

import signal
import socket
from abc import ABC, abstractmethod
from pathlib import Path

from infra.settings import StackSettings


class Service(ABC):
    name: str
    version: str
    depends_on: tuple[str, ...] = ()
    stop_signal: signal.Signals = signal.SIGTERM

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings

    @property
    @abstractmethod
    def port(self) -> int: ...

    @property
    def extra_ports(self) -> tuple[int, ...]:
        return ()

    @abstractmethod
    def install(self) -> None:
        """Fetch or build what the service needs into the cache; a no-op when already there."""

    def prepare(self) -> None:  # noqa: B027 - optional hook, most services need nothing
        """Create data dir and config on first start; must be idempotent and keep existing data."""

    @abstractmethod
    def command(self) -> list[str]: ...

    def env(self) -> dict[str, str]:
        return {}

    @abstractmethod
    def healthy(self) -> bool:
        """Does the service answer a real request (not just an open port)?"""

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir / self.name

    @property
    def conf_dir(self) -> Path:
        return self.settings.conf_dir / self.name

    @property
    def log_path(self) -> Path:
        return self.settings.log_dir / f"{self.name}.log"

    @property
    def cache_dir(self) -> Path:
        return self.settings.cache_dir


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def render(template: str, **values: object) -> str:
    """Fill `{{name}}` placeholders of a config template (configs stay readable files, not code)."""
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", str(value))
    return template
