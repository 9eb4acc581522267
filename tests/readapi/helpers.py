"""Assertions shared by the read API tests."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"


def ok(response: httpx.Response) -> dict[str, Any]:
    """A 200 envelope `{data, pagination, meta}`; returns it."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"data", "pagination", "meta"}
    assert set(body["meta"]) == {"lastUpdated", "version", "cached", "stale", "region", "lagSeconds"}
    return body


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert {"type", "title", "detail", "instance"} <= problem.keys()
    return problem
