"""schemathesis over the read API's OpenAPI document, against the real server (`python -m readapi.cli serve`) on the
seeded sandbox: whatever it generates, valid or not, no answer is a 5xx and every answer matches its schema."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.readapi.conftest import token
from tests.readapi.seed import Seeded
from tests.streams.pipeline import cli_env
from writer.security import Role

pytestmark = pytest.mark.stack
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    env = cli_env(seeded.streams) | {
        # Generated minVersions name orders that never reach them: wait briefly, or the run takes minutes.
        "CQRS_READAPI_WAIT_MAX_S": "0.05",
        "CQRS_READAPI_LOG_LEVEL": "warning",
    }
    log_path: Path = tmp_path_factory.mktemp("readapi") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "readapi.cli", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_5xx_or_an_answer_outside_its_schema(server: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    # Staff and analyst at once: every operation is reachable (the auth matrix is tested on its own).
    headers = {"Authorization": f"Bearer {token([Role.STAFF, Role.ANALYST])}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8

    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not operation.query and not operation.path_parameters:
            continue  # nothing to get wrong (/health, /metrics): hypothesis would find no input at all

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def answers_within_schema(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=server, headers=headers, checks=CHECKS)

        answers_within_schema()
