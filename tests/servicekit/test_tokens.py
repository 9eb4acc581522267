"""Tokens: minted tokens verify, the verification cache never outlives a token's expiry, no service trusts the
public dev secret outside explicit dev mode on loopback, and asymmetric tokens verify with public keys only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from readapi.settings import ReadApiSettings
from servicekit.errors import Unauthenticated
from servicekit.principals import Role
from servicekit.tokens import (
    DEV_JWT_SECRET,
    TokenKeysUnavailable,
    TokenSettings,
    TokenSettingsError,
    TokenVerifier,
    mint_token,
)
from writer.settings import WriterSettings

DEV = TokenSettings(dev_mode=True)


def test_a_minted_token_names_its_subject_and_roles() -> None:
    token = mint_token(DEV, subject="alice", roles=[Role.CUSTOMER, Role.ANALYST])
    principal = TokenVerifier(DEV).verify(token)
    assert principal.subject == "alice"
    assert principal.roles == {Role.CUSTOMER, Role.ANALYST}


def test_a_cached_token_is_refused_once_it_has_expired() -> None:
    settings = DEV.model_copy(update={"jwt_leeway_s": 0})
    verifier = TokenVerifier(settings)
    token = mint_token(settings, subject="alice", roles=[Role.CUSTOMER], ttl=timedelta(seconds=1))
    assert verifier.verify(token).subject == "alice"
    time.sleep(1.1)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    forged = mint_token(
        DEV.model_copy(update={"jwt_secret": SecretStr("another-secret-that-is-long-enough-for-hs256!!")}),
        subject="mallory",
        roles=[Role.STAFF],
    )
    with pytest.raises(Unauthenticated, match="invalid"):
        TokenVerifier(DEV).verify(forged)


# --- the public dev secret: only in explicit dev mode, only on loopback ---------------------------------------


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        (WriterSettings(dev_mode=False), "CQRS_WRITER_JWT_SECRET"),
        (ReadApiSettings.model_validate({"dev_mode": False}), "CQRS_READAPI_JWT_SECRET"),
    ],
    ids=["writer", "readapi"],
)
def test_a_service_without_a_secret_refuses_the_built_in_one(settings: TokenSettings, variable: str) -> None:
    with pytest.raises(TokenSettingsError, match=variable):
        TokenVerifier(settings)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "writer.example.com"])
def test_dev_mode_is_not_honoured_on_a_public_address(host: str) -> None:
    with pytest.raises(TokenSettingsError, match="loopback"):
        TokenVerifier(WriterSettings(dev_mode=True, host=host))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_dev_mode_on_loopback_accepts_dev_tokens(host: str) -> None:
    settings = WriterSettings(dev_mode=True, host=host)
    assert TokenVerifier(settings).verify(mint_token(settings, subject="dev", roles=[Role.STAFF])).subject == "dev"


@pytest.mark.parametrize(("dev_mode", "host"), [(False, "127.0.0.1"), (False, "0.0.0.0"), (True, "0.0.0.0")])
def test_the_public_dev_secret_configured_by_name_is_refused_outside_dev_mode_on_loopback(
    dev_mode: bool, host: str
) -> None:
    with pytest.raises(TokenSettingsError, match="public dev secret"):
        TokenVerifier(WriterSettings(dev_mode=dev_mode, jwt_secret=DEV_JWT_SECRET, host=host))


def test_a_secret_too_short_for_hs256_is_refused() -> None:
    with pytest.raises(TokenSettingsError, match="CQRS_WRITER_JWT_SECRET is too short"):
        TokenVerifier(WriterSettings(jwt_secret="hunter2"))


def test_a_configured_secret_needs_no_dev_mode_on_any_address() -> None:
    settings = WriterSettings(dev_mode=False, host="0.0.0.0", jwt_secret="a-real-secret-of-the-deployment-0123456789")
    assert TokenVerifier(settings).verify(mint_token(settings, subject="s", roles=[Role.STAFF])).subject == "s"


def test_serve_refuses_to_start_without_a_secret_and_names_the_setting() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CQRS_")}
    result = subprocess.run(
        [sys.executable, "-m", "writer.cli", "serve", "--port", "1"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "CQRS_WRITER_JWT_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


# --- asymmetric: the issuer signs with a private key, verifiers hold a JWKS of public keys ---------------------


def _keypair(tmp_path: Path, kid: str) -> tuple[Path, dict[str, object]]:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
    key_file = tmp_path / f"{kid}.pem"
    key_file.write_bytes(pem)
    public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))
    return key_file, {**public, "kid": kid, "alg": "EdDSA", "use": "sig"}


@pytest.fixture
def eddsa(tmp_path: Path) -> tuple[TokenSettings, TokenSettings]:
    """(issuer settings with the private key, verifier settings with only the JWKS file)."""
    key_file, public = _keypair(tmp_path, "k1")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [public]}))
    issuer = TokenSettings(jwt_algorithm="EdDSA", jwt_private_key_file=key_file, jwt_key_id="k1")
    verifier = TokenSettings(jwt_algorithm="EdDSA", jwt_jwks=str(jwks), host="0.0.0.0")
    return issuer, verifier


def test_an_eddsa_token_verifies_with_the_public_keys_alone(eddsa: tuple[TokenSettings, TokenSettings]) -> None:
    issuer, verifier = eddsa
    token = mint_token(issuer, subject="alice", roles=[Role.CUSTOMER])
    assert TokenVerifier(verifier).verify(token).roles == {Role.CUSTOMER}


def test_an_eddsa_token_of_another_key_is_refused(tmp_path: Path, eddsa: tuple[TokenSettings, TokenSettings]) -> None:
    _, verifier = eddsa
    other_key, _ = _keypair(tmp_path, "k1")  # same kid, other key: a forger's
    forged = mint_token(TokenSettings(jwt_algorithm="EdDSA", jwt_private_key_file=other_key, jwt_key_id="k1"),
                        subject="mallory", roles=[Role.STAFF])  # fmt: skip
    with pytest.raises(Unauthenticated, match="invalid"):
        TokenVerifier(verifier).verify(forged)


def test_the_token_cannot_choose_hs256_with_the_public_key_as_secret(
    eddsa: tuple[TokenSettings, TokenSettings],
) -> None:
    _, verifier = eddsa
    claims = {"sub": "mallory", "roles": ["staff"], "iss": "cqrs-dev", "aud": "cqrs-writer", "exp": 4_102_444_800}
    public_jwk = json.loads(Path(str(verifier.jwt_jwks)).read_text())["keys"][0]
    forged = jwt.encode(claims, json.dumps(public_jwk) + "-padding-to-32-bytes", "HS256", headers={"kid": "k1"})
    unsigned = jwt.encode(claims, None, "none", headers={"kid": "k1"})  # type: ignore[arg-type]
    for token in (forged, unsigned):
        with pytest.raises(Unauthenticated, match="invalid"):
            TokenVerifier(verifier).verify(token)


def test_an_asymmetric_verifier_without_a_jwks_refuses_to_start() -> None:
    with pytest.raises(TokenSettingsError, match="CQRS_READAPI_JWT_JWKS"):
        TokenVerifier(ReadApiSettings.model_validate({"jwt_algorithm": "EdDSA"}))


class _JwksServer:
    """A JWKS over HTTP on loopback, counting fetches; `stall` makes it never answer."""

    def __init__(self, jwks: dict[str, object], *, stall: bool = False) -> None:
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                if stall:
                    time.sleep(5)
                body = json.dumps(jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_server(eddsa: tuple[TokenSettings, TokenSettings]) -> Iterator[_JwksServer]:
    jwks = json.loads(Path(str(eddsa[1].jwt_jwks)).read_text())
    server = _JwksServer(jwks)
    yield server
    server.close()


def test_a_jwks_url_is_fetched_once_and_cached(
    eddsa: tuple[TokenSettings, TokenSettings], jwks_server: _JwksServer
) -> None:
    issuer, _ = eddsa
    verifier = TokenVerifier(TokenSettings(jwt_algorithm="EdDSA", jwt_jwks=jwks_server.url))
    for subject in ("alice", "bob", "carol"):
        assert verifier.verify(mint_token(issuer, subject=subject, roles=[Role.STAFF])).subject == subject
    assert jwks_server.fetches == 1


def test_a_stalled_jwks_url_times_out_as_unavailable(eddsa: tuple[TokenSettings, TokenSettings]) -> None:
    issuer, _ = eddsa
    server = _JwksServer({"keys": []}, stall=True)
    try:
        settings = TokenSettings(jwt_algorithm="EdDSA", jwt_jwks=server.url, jwt_jwks_timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(TokenKeysUnavailable):
            TokenVerifier(settings).verify(mint_token(issuer, subject="alice", roles=[Role.STAFF]))
        assert time.monotonic() - started < 3
    finally:
        server.close()


def test_a_jwks_url_must_be_https_unless_on_loopback() -> None:
    with pytest.raises(TokenSettingsError, match="https"):
        TokenVerifier(TokenSettings(jwt_algorithm="EdDSA", jwt_jwks="http://keys.example.com/jwks.json"))
