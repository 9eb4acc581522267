"""The agent's HTTP transport: every connection goes to an address the destination policy has just checked.

httpx would resolve the URL's host itself, after any check of ours, and a name can answer differently the second
time (DNS rebinding: public at the check, 169.254.169.254 at the connection). So the network backend under the
connection pool resolves the host once, refuses it if any address is not allowed, and connects to a checked address
by number. Everything above the socket still uses the URL's name: the `Host` header, TLS's SNI and certificate check.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx
from httpcore import AsyncNetworkBackend, AsyncNetworkStream
from httpcore._backends.auto import AutoBackend
from httpcore._backends.base import SOCKET_OPTION as SocketOption

from streams.webhooks.destinations import DestinationPolicy
from streams.webhooks.errors import UnsafeDestination


class RefusedDestination(httpcore.ConnectError):
    """The host resolved to an address the policy refuses; httpx raises it as a `ConnectError` caused by this."""


class PinnedBackend(AsyncNetworkBackend):
    def __init__(self, policy: DestinationPolicy, backend: AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._backend = backend or AutoBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        try:
            addresses = await self._policy.resolve(host, port)
        except UnsafeDestination as refused:
            raise RefusedDestination(str(refused)) from refused
        failure: Exception | None = None
        for address in addresses:  # each one checked above; try the next if one does not answer
            try:
                return await self._backend.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None  # `resolve` returns at least one address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        raise RefusedDestination("webhooks are not delivered to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """`httpx.AsyncHTTPTransport` whose pool connects through `PinnedBackend`; no proxy (a proxy would resolve the
    name itself, out of our sight)."""

    def __init__(self, policy: DestinationPolicy, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx builds its pool without a network backend parameter; the pool is rebuilt here the same way with
        # ours (tests/streams/webhooks/test_destinations.py proves connections go through it).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(policy),
        )
