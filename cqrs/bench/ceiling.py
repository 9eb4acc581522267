"""The same-run reference of `cqrs bench readapi`: uvicorn, with the read API's server options and workers, answering
every request with fixed bytes of a cached detail's size. No framework, no store: what the server and the load
generator cost on this machine at this moment, so the read API's figures can be read as a share of it."""

from __future__ import annotations

import sys

from starlette.types import ASGIApp, Receive, Scope, Send

from servicekit.serving import run_under_uvicorn

ANSWER = b'{"data":{"padding":"' + b"x" * 700 + b'"},"pagination":null,"meta":{}}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]


def create_app() -> ASGIApp:
    async def fixed_answer(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": ANSWER})

    return fixed_answer


if __name__ == "__main__":  # python -m cqrs.bench.ceiling PORT WORKERS
    run_under_uvicorn(
        "cqrs.bench.ceiling:create_app", host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2])
    )
