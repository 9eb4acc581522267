"""Dev tokens: minted tokens verify, and the verification cache never outlives a token's expiry."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from pydantic import SecretStr

from writer.errors import Unauthenticated
from writer.security import Role
from writer.settings import WriterSettings
from writer.tokens import TokenVerifier, mint_token


def test_a_minted_token_names_its_subject_and_roles() -> None:
    settings = WriterSettings(database_url="postgresql://unused@127.0.0.1/none")
    token = mint_token(settings, subject="alice", roles=[Role.CUSTOMER, Role.ANALYST])
    principal = TokenVerifier(settings).verify(token)
    assert principal.subject == "alice"
    assert principal.roles == {Role.CUSTOMER, Role.ANALYST}


def test_a_cached_token_is_refused_once_it_has_expired() -> None:
    settings = WriterSettings(database_url="postgresql://unused@127.0.0.1/none", jwt_leeway_s=0)
    verifier = TokenVerifier(settings)
    token = mint_token(settings, subject="alice", roles=[Role.CUSTOMER], ttl=timedelta(seconds=1))
    assert verifier.verify(token).subject == "alice"
    time.sleep(1.1)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    settings = WriterSettings(database_url="postgresql://unused@127.0.0.1/none")
    forged = mint_token(
        settings.model_copy(update={"jwt_secret": SecretStr("another-secret-that-is-long-enough-for-hs256!!")}),
        subject="mallory",
        roles=[Role.STAFF],
    )
    with pytest.raises(Unauthenticated, match="invalid"):
        TokenVerifier(settings).verify(forged)
