"""schemathesis over the writer's OpenAPI document, against the real server as it is served (`python -m
cqrs.writer_cli serve`: the writer with the `/webhooks` routes mounted) on this run's private database, migrated
for both: whatever it generates, valid or not, every check `schemathesis run -c all` makes of an answer passes (no
5xx, everything as documented, valid data accepted, invalid data refused, `Allow` as documented)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
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
def test_every_generated_request_is_answered_as_the_document_says(
    server: str, settings: WriterSettings, role: Role, mode: GenerationMode
) -> None:
    token = mint_token(settings, subject=f"fuzz-{role}", roles=[role])
    fuzz(
        server,
        token=token,
        mode=mode,
        max_examples=EXAMPLES_PER_RUN,
        min_operations=20,
        coverage=role is Role.OPERATOR,  # the coverage phase is about the document: once, past every role check
        # Each NDJSON line gets its own result, a bad one included (with its problem): the batch itself is a 200.
        answers_bad_input_with_success={f"POST {BATCH_PATH}"},
    )
