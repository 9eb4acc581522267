"""schemathesis over the writer's OpenAPI document, against the real server as it is served (`python -m
cqrs.writer_cli serve`: the writer with the `/webhooks` routes mounted) on this run's private database, migrated
for both: whatever it generates, valid or not, no answer is a 5xx and every answer matches its schema."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.generation import GenerationMode

from cqrs.writer_api import migrate
from infra.stack import Stack
from servicekit.principals import Role
from servicekit.tokens import mint_token
from tests.openapi_fuzz import fuzz
from tests.servers import served
from writer.api.routes_batch import BATCH_PATH
from writer.settings import WriterSettings

pytestmark = pytest.mark.stack


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_: schemathesis.SerializationContext, value: Any) -> bytes:
    """POST /commands/batch documents one line's schema: a generated line is sent as a one-line batch."""
    return json.dumps(value).encode() + b"\n"


@pytest.fixture(scope="module")
def server(stack: Stack, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        **os.environ,
        "CQRS_WRITER_DATABASE_URL": database_url,
        "CQRS_WRITER_POOL_MIN_SIZE": "1",
        "CQRS_WRITER_POOL_MAX_SIZE": "4",
        "CQRS_WRITER_LOG_LEVEL": "warning",
    }
    migrate(database_url)  # the webhook tables too: the writer's own tests need only the writer's
    with served(["cqrs.writer_cli", "serve"], env=env, log=tmp_path_factory.mktemp("writer") / "server.log") as url:
        yield url


# One token per role, both generation modes: each role's own answers (its 403s included) must match the document,
# and every operation, /webhooks included, is reachable by some role. Few examples per run keep the eight runs near
# the time two runs of 12 took (tests/openapi_fuzz.py).
EXAMPLES_PER_RUN = 5


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("role", list(Role))
def test_no_generated_request_gets_a_5xx_or_an_answer_outside_its_schema(
    server: str, settings: WriterSettings, role: Role, mode: GenerationMode
) -> None:
    token = mint_token(settings, subject=f"fuzz-{role}", roles=[role])
    fuzz(
        server,
        headers={"Authorization": f"Bearer {token}"},
        mode=mode,
        max_examples=EXAMPLES_PER_RUN,
        min_operations=20,
        # Each NDJSON line gets its own result, a bad one included (with its problem): the batch itself is a 200.
        answers_bad_input_with_success={f"POST {BATCH_PATH}"},
    )
