"""`{data, pagination, meta}` written straight to bytes: a cached `data` is spliced in as stored, never re-parsed."""

from __future__ import annotations

from starlette.responses import Response

from readapi.answers import MetaInfo, PageInfo, dumps
from readapi.api.region import region_meta


def answer(data: bytes, meta: MetaInfo, page: PageInfo | None = None) -> Response:
    pagination = b"null" if page is None else dumps(_pagination(page))
    meta_json = dumps(
        {"lastUpdated": meta.last_updated, "version": meta.version, "cached": meta.cached, "stale": meta.stale}
        | region_meta()
    )
    body = b'{"data":' + data + b',"pagination":' + pagination + b',"meta":' + meta_json + b"}"
    return Response(body, media_type="application/json")


def _pagination(page: PageInfo) -> dict[str, object]:
    shown: dict[str, object] = {"page": page.page, "limit": page.limit, "total": page.total}
    if page.cursor is not None or page.estimated:
        shown |= {"totalIsEstimate": page.estimated, "cursor": page.cursor}
    return shown


def composed(data: dict[str, object], meta: dict[str, object]) -> Response:
    """A composed answer (one resource, no pagination) whose `meta` carries more than one view's freshness."""
    body = {"data": data, "pagination": None, "meta": meta | region_meta()}
    return Response(dumps(body), media_type="application/json")
