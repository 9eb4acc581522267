"""What the delivery log says about a failed attempt: a category, never an address, a host name or an exception's
text (the log is served to API users). Every endpoint here is on loopback (dev mode)."""

from __future__ import annotations

from streams.webhooks.delivery import Sender
from streams.webhooks.destinations import DestinationPolicy
from streams.webhooks.receiver import Receiver
from streams.webhooks.signature import new_secret
from tests.servers import free_port
from tests.streams.webhooks.test_destinations import StubResolver, delivery, endpoint, settings


async def attempt_error(url: str, secret: str, **overrides: object) -> tuple[str | None, int | None]:
    policy = DestinationPolicy(resolver=StubResolver(["127.0.0.1"]), allow_loopback=True)
    sender = Sender(settings(dev_mode=True, **overrides), policy=policy)
    target = endpoint(url, secret)
    try:
        (attempt,) = await sender.deliver(target, delivery(target), attempts=1)
    finally:
        await sender.close()
    return attempt.error, attempt.http_status


async def test_connection_refused_is_named_without_the_address() -> None:
    port = free_port()
    assert await attempt_error(f"http://127.0.0.1:{port}/hooks", new_secret()) == ("connection refused", None)


async def test_a_slow_endpoint_is_a_timeout() -> None:
    secret = new_secret()
    with Receiver(secret, delay_s=1.0) as slow:
        assert await attempt_error(slow.url, secret, timeout_s=0.2) == ("timeout", None)


async def test_tls_to_a_plain_http_server_is_a_tls_error() -> None:
    secret = new_secret()
    with Receiver(secret) as plain:
        assert await attempt_error(plain.url.replace("http://", "https://"), secret) == ("TLS error", None)


async def test_a_refusing_endpoint_is_its_http_status() -> None:
    secret = new_secret()
    with Receiver(secret, fail_first=1) as refusing:
        assert await attempt_error(refusing.url, secret) == ("HTTP status 503", 503)


async def test_a_host_that_no_longer_resolves_is_host_not_found() -> None:
    async def nowhere(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    sender = Sender(settings(), policy=DestinationPolicy(resolver=nowhere))
    target = endpoint("https://gone.example.com/hooks")
    try:
        (attempt,) = await sender.deliver(target, delivery(target), attempts=1)
    finally:
        await sender.close()
    assert attempt.error == "host not found"
