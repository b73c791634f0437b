"""The one guard against fetching what is not on the public internet (SSRF).

The api checks a URL before it accepts an import; the engine checks every hop of a fetch,
redirects included (a public name may lead to a private address later). Both ask this.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

_LOCAL_NAMES = ("localhost", "localhost.localdomain")


class AddressRefused(ValueError):
    """A URL that is never fetched: not http(s), a local name, or an address that is not
    public. Asking again cannot help."""


class HostUnresolved(OSError):
    """The host name does not resolve (now: it may later)."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


async def check_public_url(scheme: str, host: str, port: int | None = None) -> None:
    """Raise `AddressRefused` or `HostUnresolved` unless every address of the host is public."""
    if scheme not in ("http", "https"):
        raise AddressRefused(f"scheme {scheme!r} is not fetched")
    bare = host.strip("[]")
    try:
        addresses = [str(ipaddress.ip_address(bare))]
    except ValueError:
        name = bare.lower().rstrip(".")
        if name in _LOCAL_NAMES or name.endswith((".local", ".localhost")):
            raise AddressRefused("the URL points at a local host name") from None
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                bare, port or (443 if scheme == "https" else 80), type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise HostUnresolved(f"{bare} does not resolve") from exc
        addresses = [str(info[4][0]) for info in infos]
    if not all(_public(address) for address in addresses):
        raise AddressRefused("the URL points at a loopback, private or reserved address")
