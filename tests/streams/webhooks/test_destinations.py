"""SSRF: the agent refuses to connect to internal addresses, even when a name resolves to one only at connect time
(DNS rebinding), and connects to the address it checked. No traffic leaves loopback: a stub resolver answers the
names, and the receivers listen on 127.0.0.x."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import httpcore
import pytest

from streams.webhooks.delivery import Delivery, Sender
from streams.webhooks.destinations import DestinationPolicy
from streams.webhooks.endpoints import Endpoint
from streams.webhooks.errors import UnsafeDestination
from streams.webhooks.receiver import Receiver
from streams.webhooks.settings import WebhookSettings
from streams.webhooks.signature import new_secret
from streams.webhooks.transport import PinnedBackend, RefusedDestination
from tests.servers import free_port

PUBLIC = "93.184.215.14"
INTERNAL = [
    "10.1.2.3", "172.16.0.1", "192.168.1.10", "127.0.0.1", "::1", "0.0.0.0", "::", "169.254.169.254",
    "169.254.170.2", "fd00:ec2::254", "fe80::1", "224.0.0.251", "ff02::1", "100.64.0.1", "100.100.100.200",
    "168.63.129.16", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "240.0.0.1",
]  # fmt: skip


class StubResolver:
    """Answers from a script, one answer per call (the last one repeats), and counts the calls."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


def settings(**overrides: object) -> WebhookSettings:
    defaults: dict[str, object] = {"dev_mode": False, "max_attempts": 1, "timeout_s": 2.0, "metrics_port": 0}
    return WebhookSettings(**(defaults | overrides))  # type: ignore[arg-type]


def endpoint(url: str, secret: str | None = None) -> Endpoint:
    return Endpoint(uuid.uuid4(), url, frozenset(), secret or new_secret(), datetime.now(UTC))


def delivery(to: Endpoint) -> Delivery:
    return Delivery(
        endpoint_id=to.id, event_id=str(uuid.uuid4()), event_type="OrderCreated", order_id="o-1", version=1,
        sequence=0, source="events.Order:0:1", body=b'{"aggregateId":"o-1"}',
    )  # fmt: skip


@pytest.mark.parametrize("address", INTERNAL)
async def test_a_host_resolving_to_an_internal_or_metadata_address_is_refused(address: str) -> None:
    policy = DestinationPolicy(resolver=StubResolver([address]))
    with pytest.raises(UnsafeDestination) as refused:
        await policy.check("https://hooks.example.com/orders")
    assert address not in str(refused.value)  # the reason is a category: it does not tell what the name resolves to


@pytest.mark.parametrize("address", ["10.1.2.3", "169.254.169.254", "[fd00:ec2::254]", "[::ffff:127.0.0.1]"])
async def test_an_internal_address_written_in_the_url_is_refused_without_resolving(address: str) -> None:
    resolver = StubResolver([PUBLIC])
    with pytest.raises(UnsafeDestination):
        await DestinationPolicy(resolver=resolver).check(f"https://{address}/orders")
    assert resolver.calls == []


async def test_a_name_resolving_to_one_public_and_one_private_address_is_refused() -> None:
    with pytest.raises(UnsafeDestination):
        await DestinationPolicy(resolver=StubResolver([PUBLIC, "10.0.0.7"])).check("https://hooks.example.com/")


@pytest.mark.parametrize(
    "url",
    ["http://hooks.example.com/orders", "http://127.0.0.1:8080/hooks", "ftp://hooks.example.com/",
     "https://metadata.google.internal/computeMetadata/v1/", "https://db.corp.internal/"],
)  # fmt: skip
async def test_plain_http_and_metadata_names_are_refused_outside_dev_mode(url: str) -> None:
    with pytest.raises(UnsafeDestination):
        await DestinationPolicy(resolver=StubResolver([PUBLIC])).check(url)


async def test_dev_mode_allows_plain_http_to_loopback_only() -> None:
    dev = DestinationPolicy(resolver=StubResolver(["127.0.0.1"]), allow_loopback=True)
    await dev.check("http://127.0.0.1:8080/hooks")
    await dev.check("http://localhost:8080/hooks")
    for url in ("http://hooks.example.com/", "http://10.0.0.5/", "https://169.254.169.254/"):
        with pytest.raises(UnsafeDestination):
            await DestinationPolicy(resolver=StubResolver([PUBLIC]), allow_loopback=True).check(url)


async def test_a_public_https_host_is_allowed() -> None:
    await DestinationPolicy(resolver=StubResolver([PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])).check(
        "https://hooks.example.com/orders"
    )


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Stands in for the sockets: records where a connection would go, and connects nowhere."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, *args: object, **kwargs: object) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        raise httpcore.ConnectError("recorded")


async def test_dns_rebinding_to_the_metadata_address_is_refused_at_connect_time() -> None:
    """Public when registered, 169.254.169.254 when connected: the connection is refused, and none is made."""
    resolver = StubResolver([PUBLIC], ["169.254.169.254"])
    policy = DestinationPolicy(resolver=resolver)
    await policy.check("https://rebind.example.com/hooks")  # registration: looks fine
    sockets = RecordingBackend()
    with pytest.raises(RefusedDestination):
        await PinnedBackend(policy, sockets).connect_tcp("rebind.example.com", 443)
    assert sockets.connected == []


async def test_the_connection_goes_to_the_address_checked_by_number_resolving_once() -> None:
    resolver = StubResolver([PUBLIC])
    sockets = RecordingBackend()
    with pytest.raises(httpcore.ConnectError):
        await PinnedBackend(DestinationPolicy(resolver=resolver), sockets).connect_tcp("hooks.example.com", 443)
    assert sockets.connected == [(PUBLIC, 443)]  # the checked number, not the name (which could resolve anew)
    assert resolver.calls == ["hooks.example.com"]


async def test_the_sender_refuses_a_rebound_name_and_logs_only_a_category() -> None:
    """End to end through httpx: the name resolves to the metadata address at delivery; nothing is sent."""
    secret = new_secret()
    with Receiver(secret) as receiver:
        port = int(receiver.url.split(":")[2].split("/")[0])
        policy = DestinationPolicy(resolver=StubResolver(["169.254.169.254"]), allow_loopback=True)
        sender = Sender(settings(dev_mode=True), policy=policy)
        target = endpoint(f"http://localhost:{port}/hooks/orders", secret)
        try:
            (attempt,) = await sender.deliver(target, delivery(target), attempts=1)
        finally:
            await sender.close()
    assert attempt.outcome == "failed"
    assert attempt.error == "destination not allowed"
    assert receiver.host_headers == []


async def test_the_sender_connects_to_the_resolved_address_and_keeps_the_host_name() -> None:
    """The receiver listens on 127.0.0.2 only; the stub resolves `localhost` there. Delivered means the client
    connected to the address the policy checked (the system's `localhost` is 127.0.0.1, where nothing listens on
    this port), and the Host header still names the URL's host."""
    secret = new_secret()
    port = free_port()
    with Receiver(secret, host="127.0.0.2", port=port) as receiver:
        resolver = StubResolver(["127.0.0.2"])
        sender = Sender(settings(dev_mode=True), policy=DestinationPolicy(resolver=resolver, allow_loopback=True))
        target = endpoint(f"http://localhost:{port}/hooks/orders", secret)
        try:
            (attempt,) = await sender.deliver(target, delivery(target), attempts=1)
        finally:
            await sender.close()
    assert attempt.outcome == "delivered", attempt.error
    assert receiver.host_headers == [f"localhost:{port}"]
    assert resolver.calls == ["localhost"]
