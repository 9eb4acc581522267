"""Health probes, Prometheus metrics, OpenAPI, and problem answers for unknown routes and methods."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.writer.helpers import PROBLEM_JSON, assert_problem, new_order

Auth = Callable[..., dict[str, str]]


async def test_liveness_and_readiness_answer_without_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/health/ready")).json() == {"status": "ready"}


async def test_metrics_count_commands_by_outcome(client: httpx.AsyncClient, auth: Auth) -> None:
    await client.post("/orders", json=new_order(), headers=auth())
    await client.post("/orders/00000000-0000-4000-8000-000000000000/confirm", headers=auth())
    text = (await client.get("/metrics")).text
    assert 'writer_commands_total{command="create-order",outcome="accepted"}' in text
    assert 'writer_commands_total{command="confirm-order",outcome="order-not-found"}' in text
    assert 'writer_command_duration_seconds_bucket{command="create-order",le="0.015",outcome="accepted"}' in text
    assert "writer_commands_in_flight 0.0" in text
    assert 'writer_events_stored_total{event_type="OrderCreated"}' in text


async def test_unknown_route_and_wrong_method_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/no/such/route"), 404)
    wrong_method = await client.put("/orders")
    assert_problem(wrong_method, 405)
    assert wrong_method.headers["allow"] == "POST, OPTIONS"  # the documented methods, and OPTIONS


async def test_openapi_documents_every_command_route_with_problem_responses(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    command_routes = [
        ("/commands/create-order", "post"),
        ("/commands/add-item-to-order", "post"),
        ("/commands/remove-item-from-order", "post"),
        ("/commands/cancel-order", "post"),
        ("/commands/confirm-order", "post"),
        ("/commands/ship-order", "post"),
        ("/orders", "post"),
        ("/orders/{orderId}/items", "post"),
        ("/orders/{orderId}/items/{itemId}", "delete"),
        ("/orders/{orderId}/cancel", "post"),
        ("/orders/{orderId}/confirm", "post"),
        ("/orders/{orderId}/ship", "post"),
    ]
    for path, method in command_routes:
        responses = document["paths"][path][method]["responses"]
        assert "CommandAccepted" in str(responses["202"]), path
        for status in ("401", "403", "404", "409", "413", "422"):
            assert PROBLEM_JSON in responses[status]["content"], (path, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "ProblemDetails" in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
