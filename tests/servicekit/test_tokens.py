"""Dev tokens: minted tokens verify, and the verification cache never outlives a token's expiry."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from pydantic import SecretStr

from servicekit.errors import Unauthenticated
from servicekit.principals import Role
from servicekit.tokens import TokenSettings, TokenVerifier, mint_token


def test_a_minted_token_names_its_subject_and_roles() -> None:
    settings = TokenSettings()
    token = mint_token(settings, subject="alice", roles=[Role.CUSTOMER, Role.ANALYST])
    principal = TokenVerifier(settings).verify(token)
    assert principal.subject == "alice"
    assert principal.roles == {Role.CUSTOMER, Role.ANALYST}


def test_a_cached_token_is_refused_once_it_has_expired() -> None:
    settings = TokenSettings(jwt_leeway_s=0)
    verifier = TokenVerifier(settings)
    token = mint_token(settings, subject="alice", roles=[Role.CUSTOMER], ttl=timedelta(seconds=1))
    assert verifier.verify(token).subject == "alice"
    time.sleep(1.1)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    settings = TokenSettings()
    forged = mint_token(
        settings.model_copy(update={"jwt_secret": SecretStr("another-secret-that-is-long-enough-for-hs256!!")}),
        subject="mallory",
        roles=[Role.STAFF],
    )
    with pytest.raises(Unauthenticated, match="invalid"):
        TokenVerifier(settings).verify(forged)
