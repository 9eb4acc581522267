"""JWT bearer tokens (HS256): minting dev tokens and verifying incoming ones; both APIs trust the same tokens."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pydantic import BaseModel, Field, SecretStr

from servicekit.errors import Unauthenticated
from servicekit.principals import Principal, Role

ALGORITHM = "HS256"
# Long enough for HS256 (RFC 7518 asks for a key of at least 256 bits); never use it outside a laptop.
DEV_JWT_SECRET = "dev-only-writer-secret-change-me-0123456789abcdef"
_ROLE_NAMES = frozenset(role.value for role in Role)


class TokenSettings(BaseModel):
    """What signs and checks a token. Each service's settings model extends it, so the fields are read from that
    service's own variables (`CQRS_WRITER_JWT_SECRET`, `CQRS_READAPI_JWT_SECRET`, …); the defaults are shared, so
    the read API accepts the writer's tokens as they are."""

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = "cqrs-dev"
    jwt_audience: str = "cqrs-writer"
    jwt_leeway_s: int = Field(5, ge=0, description="clock skew tolerated on exp/nbf/iat")


def mint_token(
    settings: TokenSettings,
    *,
    subject: str,
    roles: Iterable[Role],
    ttl: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> str:
    """A signed token for `subject` with `roles`, valid for `ttl` (negative: already expired, for tests)."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": subject,
        "roles": sorted(role.value for role in roles),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)


class TokenVerifier:
    """`verify_token` with a small cache of tokens already verified, checked for expiry on every use.

    A client sends the same token with every request until it expires; checking its signature once instead of
    each time saves a noticeable share of a command's CPU. Only valid tokens are cached.
    """

    def __init__(self, settings: TokenSettings, *, capacity: int = 4096) -> None:
        self._settings = settings
        self._capacity = capacity
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires_at = cached
            if time.time() < expires_at + self._settings.jwt_leeway_s:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, expires_at = _verify(self._settings, token)
        self._verified[token] = (principal, expires_at)
        if len(self._verified) > self._capacity:
            self._verified.popitem(last=False)
        return principal


def verify_token(settings: TokenSettings, token: str) -> Principal:
    """The principal of a valid token; `Unauthenticated` saying what is wrong otherwise."""
    return _verify(settings, token)[0]


def _verify(settings: TokenSettings, token: str) -> tuple[Principal, float]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],  # pinned: never let the token choose (alg=none, RS/HS confusion)
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_s,
            options={"require": ["sub", "exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired", token_presented=True) from None
    except jwt.InvalidTokenError as error:
        raise Unauthenticated(f"the token is invalid: {error}", token_presented=True) from None
    return Principal(subject=_subject(claims), roles=_roles(claims)), float(claims["exp"])


def _subject(claims: dict[str, Any]) -> str:
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject.strip():
        raise Unauthenticated("the token's subject must be a non-empty string", token_presented=True)
    return subject


def _roles(claims: dict[str, Any]) -> frozenset[Role]:
    raw = claims.get("roles", [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise Unauthenticated("the token's roles claim must be a list of strings", token_presented=True)
    # Unknown roles grant nothing; they are ignored rather than rejected so new roles can roll out first.
    return frozenset(Role(value) for value in raw if isinstance(value, str) and value in _ROLE_NAMES)
