"""The receiver helper the docs show: genuine deliveries pass; tampering, old timestamps and bad secrets do not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time

import pytest
from pydantic import ValidationError

from streams.webhooks.routes import RegisterWebhookBody
from streams.webhooks.signature import (
    SECRET_PATTERN,
    SECRET_PREFIX,
    InvalidSecret,
    new_secret,
    secret_key,
    signed_headers,
)
from streams.webhooks.verify import InvalidSignature, MissingHeaders, StaleTimestamp, verify

BODY = b'{"eventId":"9b2f6a3c-1d4e-4f5a-8b6c-7d8e9f0a1b2c","eventType":"OrderCreated"}'
EVENT_ID = "9b2f6a3c-1d4e-4f5a-8b6c-7d8e9f0a1b2c"


def test_a_genuine_delivery_verifies() -> None:
    secret = new_secret()
    verify(secret, signed_headers(secret, EVENT_ID, int(time.time()), BODY), BODY)


def test_signature_is_standard_webhooks_hmac_of_id_timestamp_and_body() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    headers = signed_headers(secret, "msg_1", 1_700_000_000, b"{}")
    digest = hmac.new(b"k" * 32, b"msg_1.1700000000.{}", hashlib.sha256).digest()
    assert headers == {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def test_a_tampered_body_is_rejected() -> None:
    secret = new_secret()
    headers = signed_headers(secret, EVENT_ID, int(time.time()), BODY)
    with pytest.raises(InvalidSignature):
        verify(secret, headers, BODY.replace(b"OrderCreated", b"OrderShipped"))


def test_a_tampered_signature_or_id_is_rejected() -> None:
    secret = new_secret()
    headers = signed_headers(secret, EVENT_ID, int(time.time()), BODY)
    forged = headers | {"webhook-signature": headers["webhook-signature"][:-6] + "AAAAA="}
    with pytest.raises(InvalidSignature):
        verify(secret, forged, BODY)
    with pytest.raises(InvalidSignature):
        verify(secret, headers | {"webhook-id": "another-id"}, BODY)


def test_another_secret_does_not_verify() -> None:
    headers = signed_headers(new_secret(), EVENT_ID, int(time.time()), BODY)
    with pytest.raises(InvalidSignature):
        verify(new_secret(), headers, BODY)


def test_a_replayed_old_delivery_is_rejected_even_with_a_valid_signature() -> None:
    secret = new_secret()
    old = int(time.time()) - 301
    with pytest.raises(StaleTimestamp):
        verify(secret, signed_headers(secret, EVENT_ID, old, BODY), BODY)
    with pytest.raises(StaleTimestamp):  # from the future: a forgery or a broken clock
        verify(secret, signed_headers(secret, EVENT_ID, int(time.time()) + 301, BODY), BODY)
    verify(secret, signed_headers(secret, EVENT_ID, old, BODY), BODY, tolerance_s=600)


def test_one_valid_signature_among_several_is_enough_during_a_secret_rotation() -> None:
    old_secret, new = new_secret(), new_secret()
    now = int(time.time())
    both = " ".join(signed_headers(s, EVENT_ID, now, BODY)["webhook-signature"] for s in (old_secret, new))
    headers = signed_headers(new, EVENT_ID, now, BODY) | {"webhook-signature": both}
    verify(old_secret, headers, BODY)
    verify(new, headers, BODY)


def test_missing_headers_and_malformed_secrets_are_named_errors() -> None:
    with pytest.raises(MissingHeaders):
        verify(new_secret(), {"webhook-id": EVENT_ID}, BODY)
    for bad in ("plain", "whsec_not*base64", "whsec_" + base64.b64encode(b"short").decode()):
        with pytest.raises(InvalidSecret):
            secret_key(bad)


def test_the_documented_secret_pattern_accepts_exactly_what_registration_accepts() -> None:
    # The OpenAPI document shows SECRET_PATTERN; the registration body's validator is what refuses. A client generated
    # from the document must never send a secret the server refuses, nor be kept from one it accepts.
    pattern = re.compile(SECRET_PATTERN)
    candidates = [SECRET_PREFIX + base64.b64encode(os.urandom(size)).decode() for size in range(0, 80)]
    candidates += ["whsec_" + "A" * 33, "whsec_" + "A" * 32 + "=", "WHSEC_" + "A" * 32, "whsec_" + "A" * 31 + "!"]
    for candidate in candidates:
        try:
            RegisterWebhookBody.model_validate({"url": "https://hooks.example.com/in", "secret": candidate})
            accepted = True
        except ValidationError:
            accepted = False
        assert bool(pattern.match(candidate)) == accepted, candidate
