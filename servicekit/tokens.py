"""JWT bearer tokens: minting them and verifying incoming ones; both APIs trust the same tokens.

Two ways to sign, chosen by configuration (`jwt_algorithm`), never by the token:

- HS256 with a shared secret (`jwt_secret`): the dev stack. Without a configured secret a service uses the built-in
  dev secret only in explicit dev mode (`CQRS_DEV_MODE=1`) on a loopback address; otherwise it refuses to start.
- EdDSA or RS256: the issuer signs with a private key (`jwt_private_key_file`); verifiers hold only the public keys,
  a JWKS file or URL (`jwt_jwks`), fetched with a timeout and cached.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import urlsplit

import jwt
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from servicekit.errors import Unauthenticated, Unavailable
from servicekit.principals import Principal, Role

Algorithm = Literal["HS256", "EdDSA", "RS256"]
# Long enough for HS256 (RFC 7518 asks for a key of at least 256 bits); public, so only honoured in dev mode.
DEV_JWT_SECRET = "dev-only-writer-secret-change-me-0123456789abcdef"
DEV_MODE_VARIABLE = "CQRS_DEV_MODE"
_MIN_SECRET_BYTES = 32
_ROLE_NAMES = frozenset(role.value for role in Role)


class TokenSettingsError(Exception):
    """The token settings cannot be used safely (no key configured, a weak or public one outside dev mode, …); the
    message names the setting to change. A service raising it refuses to start."""


class TokenKeysUnavailable(Unavailable):
    """The JWKS URL could not be fetched; not the caller's fault (503)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, retry_after_s=5)


class TokenSettings(BaseModel):
    """What signs and checks a token. Each service's settings model extends it, so the fields are read from that
    service's own variables (`CQRS_WRITER_JWT_SECRET`, `CQRS_READAPI_JWKS`, …); issuer and audience defaults are
    shared, so the read API accepts the writer's tokens as they are. Dev mode is one variable for every service."""

    model_config: ClassVar[SettingsConfigDict] = SettingsConfigDict(populate_by_name=True)  # `dev_mode=` too

    host: str = Field("127.0.0.1", description="bind address; the dev secret is honoured only on loopback")
    dev_mode: bool = Field(
        False,
        validation_alias=DEV_MODE_VARIABLE,
        description="accept the built-in dev secret when no secret is set (loopback hosts only)",
    )
    jwt_algorithm: Algorithm = "HS256"
    jwt_secret: SecretStr | None = Field(None, description="HS256: the shared secret (at least 32 bytes)")
    jwt_private_key_file: Path | None = Field(None, description="EdDSA/RS256: PEM private key, for minting only")
    jwt_key_id: str | None = Field(None, description="`kid` header of minted tokens (names the key in the JWKS)")
    jwt_jwks: str | None = Field(None, description="EdDSA/RS256: public keys, a JWKS file path or https:// URL")
    jwt_jwks_timeout_s: float = Field(3.0, gt=0, description="how long fetching the JWKS URL may take")
    jwt_jwks_cache_s: int = Field(300, ge=1, description="how long fetched public keys are trusted")
    jwt_issuer: str = "cqrs-dev"
    jwt_audience: str = "cqrs-writer"
    jwt_leeway_s: int = Field(5, ge=0, description="clock skew tolerated on exp/nbf/iat")

    def setting_name(self, field: str) -> str:
        """The environment variable of `field` for this service (`CQRS_WRITER_JWT_SECRET`)."""
        prefix = str(self.model_config.get("env_prefix", ""))
        return f"{prefix}{field}".upper()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def hs256_secret(settings: TokenSettings, *, serving: bool) -> str:
    """The HS256 secret; a service (`serving`) gets the dev secret only in dev mode on loopback."""
    dev_allowed = settings.dev_mode and is_loopback(settings.host)
    if settings.jwt_secret is None:
        if serving and not dev_allowed:
            raise TokenSettingsError(
                f"no JWT secret: set {settings.setting_name('jwt_secret')} (at least {_MIN_SECRET_BYTES} bytes), "
                f"or for a developer machine {DEV_MODE_VARIABLE}=1 with a loopback host (now {settings.host!r})"
            )
        return DEV_JWT_SECRET
    secret = settings.jwt_secret.get_secret_value()
    name = settings.setting_name("jwt_secret")
    if secret == DEV_JWT_SECRET and serving and not dev_allowed:
        raise TokenSettingsError(f"{name} is the public dev secret: set a secret of your own (or dev mode on loopback)")
    if len(secret.encode()) < _MIN_SECRET_BYTES:
        raise TokenSettingsError(f"{name} is too short: HS256 needs at least {_MIN_SECRET_BYTES} bytes")
    return secret


def mint_token(
    settings: TokenSettings,
    *,
    subject: str,
    roles: Iterable[Role],
    ttl: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> str:
    """A signed token for `subject` with `roles`, valid for `ttl` (negative: already expired, for tests).

    HS256 without a configured secret signs with the dev secret, which only a dev-mode service accepts."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": subject,
        "roles": sorted(role.value for role in roles),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued,
        "exp": issued + ttl,
    }
    headers = {"kid": settings.jwt_key_id} if settings.jwt_key_id else None
    return jwt.encode(claims, _signing_key(settings), algorithm=settings.jwt_algorithm, headers=headers)


def _signing_key(settings: TokenSettings) -> str:
    if settings.jwt_algorithm == "HS256":
        return hs256_secret(settings, serving=False)
    if settings.jwt_private_key_file is None:
        name = settings.setting_name("jwt_private_key_file")
        raise TokenSettingsError(f"{settings.jwt_algorithm} tokens are signed with a private key: set {name}")
    try:
        return settings.jwt_private_key_file.read_text()
    except OSError as error:
        raise TokenSettingsError(f"cannot read {settings.jwt_private_key_file}: {error.strerror}") from None


class _Keys(Protocol):
    def key_for(self, token: str) -> Any: ...


class _SharedSecret:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def key_for(self, token: str) -> Any:
        return self._secret


class _JwksFile:
    """Public keys read once from a JWKS file; the token's `kid` picks one (a single key needs no `kid`)."""

    def __init__(self, path: Path, algorithm: Algorithm) -> None:
        try:
            self._keys = jwt.PyJWKSet.from_json(path.read_text())
        except OSError as error:
            raise TokenSettingsError(f"cannot read the JWKS file {path}: {error.strerror}") from None
        except (jwt.PyJWKSetError, json.JSONDecodeError) as error:
            raise TokenSettingsError(f"the JWKS file {path} holds no usable key: {error}") from None
        usable = [key for key in self._keys.keys if key.algorithm_name == algorithm]
        if not usable:
            raise TokenSettingsError(f"the JWKS file {path} holds no {algorithm} key")
        self._usable = usable

    def key_for(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        if kid is None and len(self._usable) == 1:
            return self._usable[0].key
        for key in self._usable:
            if key.key_id == kid:
                return key.key
        raise jwt.InvalidTokenError(f"no public key with kid {kid!r}")


class _JwksUrl:
    """Public keys fetched from a JWKS URL (with a timeout) and cached; an unknown `kid` triggers one refetch."""

    def __init__(self, url: str, settings: TokenSettings) -> None:
        self._client = jwt.PyJWKClient(
            url, cache_keys=True, lifespan=settings.jwt_jwks_cache_s, timeout=settings.jwt_jwks_timeout_s
        )

    def key_for(self, token: str) -> Any:
        try:
            return self._client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as error:
            raise TokenKeysUnavailable(f"cannot fetch the JWKS: {error}") from None


def check_token_settings(settings: TokenSettings) -> None:
    """Raise `TokenSettingsError` naming the setting to fix if a service may not verify tokens with `settings`."""
    _verification_keys(settings)


def _verification_keys(settings: TokenSettings) -> _Keys:
    if settings.jwt_algorithm == "HS256":
        return _SharedSecret(hs256_secret(settings, serving=True))
    source = settings.jwt_jwks
    if not source:
        name = settings.setting_name("jwt_jwks")
        raise TokenSettingsError(f"{settings.jwt_algorithm} tokens are checked with public keys: set {name}")
    if source.startswith(("https://", "http://")):
        if source.startswith("http://") and not is_loopback(_url_host(source)):
            raise TokenSettingsError(f"{settings.setting_name('jwt_jwks')} must be an https:// URL (or a file)")
        return _JwksUrl(source, settings)
    return _JwksFile(Path(source), settings.jwt_algorithm)


def _url_host(url: str) -> str:
    return urlsplit(url).hostname or ""


class TokenVerifier:
    """Verifies tokens with the configured keys, with a small cache of tokens already verified (checked for expiry on
    every use). Building it checks the settings: a service that builds one with unsafe settings refuses to start.

    A client sends the same token with every request until it expires; checking its signature once instead of
    each time saves a noticeable share of a command's CPU. Only valid tokens are cached.
    """

    def __init__(self, settings: TokenSettings, *, capacity: int = 4096) -> None:
        self._settings = settings
        self._keys = _verification_keys(settings)
        self._capacity = capacity
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; `Unauthenticated` saying what is wrong otherwise."""
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires_at = cached
            if time.time() < expires_at + self._settings.jwt_leeway_s:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, expires_at = self._verify(token)
        self._verified[token] = (principal, expires_at)
        if len(self._verified) > self._capacity:
            self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        settings = self._settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._keys.key_for(token),
                algorithms=[settings.jwt_algorithm],  # pinned: never let the token choose (alg=none, RS/HS confusion)
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                leeway=settings.jwt_leeway_s,
                options={"require": ["sub", "exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired", token_presented=True) from None
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"the token is invalid: {error}", token_presented=True) from None
        return Principal(subject=_subject(claims), roles=_roles(claims)), float(claims["exp"])


def verify_token(settings: TokenSettings, token: str) -> Principal:
    """The principal of a valid token; `Unauthenticated` saying what is wrong otherwise."""
    return TokenVerifier(settings, capacity=0).verify(token)


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
