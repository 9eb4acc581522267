"""What a read answers besides its data: the page and the freshness metadata, and the JSON bytes they are written in.

The web layer (`readapi.api.envelope`) wraps these into `{data, pagination, meta}`; the read flows (`readapi.reads`)
build them, so they live below both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from readapi.ports import ViewPosition
from readapi.stores.documents import timestamp


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class PageInfo:
    page: int
    limit: int
    total: int
    cursor: str | None = None
    """Lists: where the next page starts (keyset); None on the last page, and for other views."""
    estimated: bool = False
    """Lists: `total` is an estimate (more matched than are counted exactly)."""


@dataclass(frozen=True, slots=True)
class MetaInfo:
    last_updated: str | None
    version: int | None
    cached: bool = False
    stale: bool = False

    @classmethod
    def of_view(cls, position: ViewPosition, *, cached: bool = False, stale: bool = False) -> MetaInfo:
        return cls(epoch_ms_text(position.last_event_ms), position.position, cached, stale)


def epoch_ms_text(ms: int | None) -> str | None:
    return None if ms is None else timestamp(datetime.fromtimestamp(ms / 1000, UTC))
