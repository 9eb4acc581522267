"""The schemathesis harness (tests/openapi_fuzz.py, tests/schemathesis_hooks.py).

It sends each generated case as generated: a negative case that leaves the bearer token out (to see a 401) must go
without it. With the token put back as a fixed header, such a case was a valid request, got its 200, and was reported
as bad data accepted (a flaky failure of the read API's fuzz). And the refusals it lets pass as "no schema can state
this" are exactly the named ones, on their operations."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Annotated

import pytest
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from schemathesis.generation import GenerationMode

from tests.openapi_fuzz import fuzz
from tests.schemathesis_hooks import KEY_REUSED, refused_for_what_no_schema_states
from tests.servers import free_port

TOKEN = "the-one-token"
bearer = HTTPBearer(auto_error=False)
app = FastAPI()


async def authenticated(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    """Before the query is validated, as in both APIs: a request without the token is a 401 whatever it asks."""
    if credentials is None or credentials.credentials != TOKEN:
        raise HTTPException(401, "no valid bearer token", headers={"WWW-Authenticate": "Bearer"})


@app.get("/things", responses={401: {"description": "No valid bearer token."}}, dependencies=[Depends(authenticated)])
async def things(limit: Annotated[int, Query(ge=1, le=5)] = 1) -> list[int]:
    ANSWERED.append(limit)
    return list(range(limit))


ANSWERED: list[int] = []
"""The limits of the requests that got past the token check: the harness did send the token."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    served = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not served.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("mode", [GenerationMode.NEGATIVE, GenerationMode.POSITIVE])
def test_a_case_that_leaves_the_token_out_is_sent_without_it(server: str, mode: GenerationMode) -> None:
    ANSWERED.clear()
    fuzz(server, token=TOKEN, mode=mode, max_examples=60, min_operations=1, coverage=True)
    if mode is GenerationMode.POSITIVE:
        assert len(ANSWERED) >= 30  # every other case carries the token: valid data must get past the check


def _invalid(*fields: str) -> dict[str, object]:
    return {
        "type": "urn:cqrs-orders:problem:validation-failed",
        "errors": [{"field": f, "message": "…"} for f in fields],
    }


@pytest.mark.parametrize(
    ("label", "problem", "allowed"),
    [
        ("GET /orders/search", _invalid("page"), True),  # page * limit past the result window
        ("GET /orders/search", _invalid("filters"), False),  # the document has the grammar: a real mismatch
        ("GET /orders/search", _invalid("page", "filters"), False),
        ("GET /orders", _invalid("cursor"), True),
        ("GET /orders", _invalid("customerId"), False),
        ("GET /orders/{orderId}", _invalid("cursor"), False),  # the rule is the list's only
        ("POST /orders", {"type": KEY_REUSED}, True),
        ("POST /orders", _invalid("If-Match"), False),
        ("POST /orders/{orderId}/confirm", _invalid("expectedVersion"), True),  # disagrees with If-Match
        ("GET /orders", _invalid("expectedVersion"), False),
        ("GET /orders", {"type": "urn:cqrs-orders:problem:validation-failed"}, False),  # names nothing
    ],
)
def test_only_the_named_refusals_pass_as_what_no_schema_states(
    label: str, problem: dict[str, object], allowed: bool
) -> None:
    assert refused_for_what_no_schema_states(label, problem) is allowed
