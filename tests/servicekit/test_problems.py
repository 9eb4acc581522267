"""An unreachable store is the one 5xx bad luck a client can wait out: the writer, its webhook routes and the read
API must all answer it with the same retryable 503 (a client's retry logic keys on the slug and Retry-After)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from readapi.api.problems import problem_for as readapi_problem_for
from readapi.errors import StoreUnavailable as ReadStoreUnavailable
from servicekit.problems import Problem, problem_for
from streams.webhooks.errors import WebhookStoreUnavailable
from streams.webhooks.problems import webhook_problem
from writer.api.problems import problem_for as writer_problem_for
from writer.errors import StoreUnavailable as WriteStoreUnavailable

UNAVAILABLE = [
    pytest.param(lambda: writer_problem_for(WriteStoreUnavailable("pool timeout")), id="writer"),
    pytest.param(lambda: problem_for(WebhookStoreUnavailable("pool timeout"), webhook_problem), id="webhooks"),
    pytest.param(lambda: readapi_problem_for(ReadStoreUnavailable("orders-mongo", "timeout")), id="readapi"),
]


@pytest.mark.parametrize("answer", UNAVAILABLE)
def test_an_unreachable_store_is_one_retryable_503_in_every_api(answer: Callable[[], Problem]) -> None:
    problem = answer()
    assert (problem.status, problem.slug, problem.title) == (503, "unavailable", "The service is unavailable")
    assert problem.headers == {"Retry-After": "1"}
    assert "retry shortly" in problem.detail
    assert "pool timeout" not in problem.detail  # the cause is logged, never shown to the caller
