"""What a path allows: the `Allow` header of a 405, and the answer to `OPTIONS`, both from the app's OpenAPI document.

Starlette answers a known path with an unknown method from the first route whose path matched, so a path served by
two routes (`GET /webhooks` and `POST /webhooks`) would advertise only one of them. The document lists every method
of each path, so `Allow` is read from it: the methods of the most specific documented path the request's path
matches (a literal segment wins over a parameter, as OpenAPI says), then OPTIONS, which every known path answers."""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

_METHODS = ("get", "head", "post", "put", "patch", "delete")
_PARAMETER = re.compile(r"\{[^/{}]*\}")


def allowed_methods(request: Request, *, fallback: str | None = None) -> str | None:
    """The `Allow` value for the request's path; `fallback` (Starlette's) for a path the document does not show."""
    documented = _documented_methods(request.app, request.url.path)
    if documented is None:
        return fallback
    return ", ".join([method.upper() for method in _METHODS if method in documented] + ["OPTIONS"])


def options_response(request: Request, *, fallback: str | None = None) -> Response:
    """`OPTIONS` on a known path: 204 with its `Allow` (no body, no authentication: it tells only what the
    document does)."""
    allowed = allowed_methods(request, fallback=fallback)
    return Response(status_code=204, headers={} if allowed is None else {"Allow": allowed})


def _documented_methods(app: FastAPI, path: str) -> set[str] | None:
    matching = [
        template
        for template in app.openapi().get("paths", {})
        if re.fullmatch("[^/]+".join(re.escape(part) for part in _PARAMETER.split(template)), path)
    ]
    if not matching:
        return None
    most_specific = min(matching, key=lambda template: len(_PARAMETER.findall(template)))
    return {key for key in app.openapi()["paths"][most_specific] if key in _METHODS}
