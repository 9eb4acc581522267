"""Where a read region runs on this machine: its ports and its names, derived from the region's name alone.

Each known region has a block of loopback ports (read API, command proxy, projection metrics); its read models are
the primary's names with the region's suffix (`StreamsSettings.in_region`). A region not listed here needs a block
added to `KNOWN` (ports must not collide on one machine; in compose each region has its own servers instead).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.settings import StreamsSettings

KNOWN = ("eu", "us", "ap")
"""Regions with a port block on this machine, in block order."""
PRIMARY = "primary"


class UnknownRegion(ValueError):
    """A region this machine has no port block for."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown region {name[:20]!r}; known: {', '.join(KNOWN)}")


class RegionSettings(BaseSettings):
    """One read region; `CQRS_REGION_WAN_DELAY_MS` etc. tune every region started from this environment."""

    model_config = SettingsConfigDict(env_prefix="CQRS_REGION_")

    name: str = "eu"
    wan_delay_ms: float = Field(0.0, ge=0, description="added before each forwarded command (WAN to the primary)")
    # Above the kernel's ephemeral range (32768-60999 by default), so no outgoing connection can hold them.
    readapi_base: int = 61100
    proxy_base: int = 61101
    metrics_base: int = 61500
    block: int = Field(20, description="ports between two regions' blocks")

    @property
    def index(self) -> int:
        if self.name not in KNOWN:
            raise UnknownRegion(self.name)
        return KNOWN.index(self.name)

    @property
    def readapi_port(self) -> int:
        return self.readapi_base + self.block * self.index

    @property
    def proxy_port(self) -> int:
        return self.proxy_base + self.block * self.index

    @property
    def metrics_port(self) -> int:
        """The first projection worker's metrics port (the others follow, as for the primary)."""
        return self.metrics_base + self.block * self.index

    @property
    def readapi_url(self) -> str:
        return f"http://127.0.0.1:{self.readapi_port}"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def streams(self, base: StreamsSettings | None = None) -> StreamsSettings:
        """The region's read-model names (and everything else as `base`, by default the environment's)."""
        return (base or StreamsSettings()).in_region(self.name)


def region_settings(name: str, **overrides: Any) -> RegionSettings:
    """The region `name` (`UnknownRegion` if this machine has no block for it), the rest from the environment."""
    settings = RegionSettings(name=name, **overrides)
    settings.index  # noqa: B018 - refuses an unknown region now, not at the first port
    return settings
