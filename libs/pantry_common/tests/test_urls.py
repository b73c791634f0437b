"""The SSRF guard that the api (before an import) and the engine (every hop) both ask."""

from __future__ import annotations

import pytest

from pantry_common import AddressRefused, HostUnresolved, check_public_url


@pytest.mark.parametrize(
    ("scheme", "host", "reason"),
    [
        ("ftp", "example.com", "scheme 'ftp'"),
        ("http", "127.0.0.1", "loopback, private or reserved"),
        ("http", "10.1.2.3", "loopback, private or reserved"),
        ("https", "[::1]", "loopback, private or reserved"),
        ("http", "169.254.169.254", "loopback, private or reserved"),  # a cloud's metadata
        ("http", "[::ffff:127.0.0.1]", "loopback, private or reserved"),
        ("http", "224.0.0.1", "loopback, private or reserved"),
        ("http", "localhost", "local host name"),
        ("http", "LOCALHOST.", "local host name"),
        ("http", "printer.local", "local host name"),
        ("http", "api.localhost", "local host name"),
    ],
)
async def test_what_is_not_public_is_refused(scheme: str, host: str, reason: str) -> None:
    with pytest.raises(AddressRefused, match=reason):
        await check_public_url(scheme, host, 80)


@pytest.mark.parametrize("host", ["93.184.215.14", "[2606:4700:4700::1111]"])
async def test_a_public_address_passes(host: str) -> None:
    await check_public_url("https", host, 443)


async def test_a_name_that_does_not_resolve_is_not_refused_for_good() -> None:
    with pytest.raises(HostUnresolved):
        await check_public_url("https", "no-such-host.invalid", 443)
