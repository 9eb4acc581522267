"""Where a webhook may be sent: https to a host whose every address is public (SSRF guard).

A webhook URL is chosen by whoever registers it, and the agent POSTs signed events there from inside our network;
so a URL naming (or resolving to) a private, loopback, link-local, multicast, unspecified, reserved or cloud-metadata
address would turn the agent into a proxy into that network. The check runs at registration (422 naming `url`) and
again at every connection (`streams.webhooks.transport`), since a name may resolve elsewhere by then (DNS rebinding).
Plain http, and loopback addresses, are allowed only in dev mode (a developer's receivers on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from streams.webhooks.errors import UnresolvableHost, UnsafeDestination

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""host, port → the addresses it resolves to (as strings); raises `socket.gaierror` if it does not resolve."""

# Instance metadata and platform services that answer without credentials; most are link-local or private anyway,
# listed so that a change in the generic test below cannot let them through (Azure's wire server is public space).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS DNS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
        "192.0.0.192",  # Oracle Cloud
    )
)
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """What the registry accepts and the agent connects to; `allow_loopback` is dev mode."""

    resolver: Resolver
    allow_loopback: bool = False

    def check_url(self, url: str) -> tuple[str, int]:
        """Scheme and host of a URL (no resolution): its (host, port), or `UnsafeDestination`."""
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            raise UnsafeDestination("the URL has no host")
        if host in METADATA_HOSTS or host.endswith(".internal"):
            raise UnsafeDestination("the host is a cloud metadata or internal name")
        if parts.scheme == "http":
            if not (self.allow_loopback and _is_loopback_name(host)):
                raise UnsafeDestination("must be https (plain http only to loopback, in dev mode)")
        elif parts.scheme != "https":
            raise UnsafeDestination("must be https")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise UnsafeDestination("the port is not valid") from None
        return host, port

    async def check(self, url: str) -> None:
        """The full registration check: the URL's form, then every address its host resolves to now."""
        host, port = self.check_url(url)
        await self.resolve(host, port)

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The host's addresses, every one allowed; `UnsafeDestination` if any is not (a name that resolves to a
        public and a private address is refused: which one a client would use is not ours to guess)."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                answers = await self.resolver(host, port)
            except (OSError, UnicodeError):
                raise UnresolvableHost("the host does not resolve") from None
            addresses = [ipaddress.ip_address(answer.split("%", 1)[0]) for answer in answers]
            if not addresses:
                raise UnresolvableHost("the host does not resolve")
        for address in addresses:
            if reason := self.refusal(address):
                raise UnsafeDestination(f"the host resolves to {reason}")
        return addresses

    def refusal(self, address: IPAddress) -> str | None:
        """Why this address may not be connected to (a category, never the address), or None."""
        address = _embedded_ipv4(address)
        if address in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if address.is_loopback:
            return None if self.allow_loopback else "a loopback address"
        if address.is_unspecified:
            return "an unspecified address"
        if address.is_link_local:
            return "a link-local address"
        if address.is_multicast:
            return "a multicast address"
        if address.is_private or address.is_reserved or not address.is_global:
            return "a private or reserved address"
        return None


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) IPv6 address: the
    packets go to it, and Python 3.11's `is_private` does not look inside."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _is_loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver (getaddrinfo), TCP addresses only."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def destination_policy(*, dev_mode: bool, resolver: Resolver = system_resolver) -> DestinationPolicy:
    return DestinationPolicy(resolver=resolver, allow_loopback=dev_mode)
