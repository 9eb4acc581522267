"""`{data, pagination, meta}` written straight to bytes: a cached `data` is spliced in as stored, never re-parsed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from readapi.ports import ViewPosition
from readapi.stores.documents import timestamp


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class PageInfo:
    page: int
    limit: int
    total: int


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


def answer(data: bytes, meta: MetaInfo, page: PageInfo | None = None) -> Response:
    pagination = b"null" if page is None else dumps({"page": page.page, "limit": page.limit, "total": page.total})
    meta_json = dumps(
        {"lastUpdated": meta.last_updated, "version": meta.version, "cached": meta.cached, "stale": meta.stale}
    )
    body = b'{"data":' + data + b',"pagination":' + pagination + b',"meta":' + meta_json + b"}"
    return Response(body, media_type="application/json")
