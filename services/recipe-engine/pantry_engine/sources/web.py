"""Web pages with schema.org Recipe data, for imports by URL.

Fetched with httpx (timeouts, a size limit, bounded redirects, every hop's address checked by
the shared guard against loopback and private ranges), parsed with extruct (JSON-LD and
microdata, no hand-written scraping).
"""

from __future__ import annotations

import asyncio
from typing import Any

import extruct
import httpx

from pantry_common import AddressRefused, HostUnresolved, SearchCriteria, check_public_url

from ._base import Candidate, SourceError


class UrlRefused(SourceError):
    """A URL the engine will not fetch (scheme, address); retrying cannot help."""


async def check_address(url: httpx.URL) -> None:
    """The shared guard, for one hop: a refused address is permanent, a name that does not
    resolve may resolve on a retry."""
    try:
        await check_public_url(url.scheme, url.host, url.port)
    except AddressRefused as exc:
        raise UrlRefused(str(exc)) from exc
    except HostUnresolved as exc:
        raise SourceError(str(exc)) from exc


def _find_recipes(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, list):
        for item in node:
            found.extend(_find_recipes(item))
    elif isinstance(node, dict):
        kind = node.get("@type")
        if kind == "Recipe" or (isinstance(kind, list) and "Recipe" in kind):
            found.append(node)
        else:
            for key in ("@graph", "mainEntity", "itemListElement"):
                if key in node:
                    found.extend(_find_recipes(node[key]))
    return found


def extract_recipes(html: str, url: str) -> list[dict[str, Any]]:
    data = extruct.extract(html, base_url=url, syntaxes=["json-ld", "microdata"], uniform=True)
    return _find_recipes(data.get("json-ld", [])) + _find_recipes(data.get("microdata", []))


class WebPageSource:
    name = "web"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_bytes: int,
        max_redirects: int,
        allow_private: bool,
    ) -> None:
        self.client = client
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.allow_private = allow_private

    async def fetch(self, url: str) -> Candidate:
        """The recipe of one page; its canonical URL is where the redirects ended."""
        current = httpx.URL(url)
        for _ in range(self.max_redirects + 1):
            if not self.allow_private:
                await check_address(current)
            try:
                async with self.client.stream("GET", current, follow_redirects=False) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise SourceError("a redirect without a location")
                        current = current.join(location)
                        continue
                    response.raise_for_status()
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body.extend(chunk)
                        if len(body) > self.max_bytes:
                            raise UrlRefused(f"the page is larger than {self.max_bytes} bytes")
                    encoding = response.encoding or "utf-8"
            except httpx.HTTPStatusError as exc:
                code = exc.response.status_code
                if 400 <= code < 500 and code != 429:
                    raise UrlRefused(f"the page answered {code}") from exc
                raise SourceError(f"the page answered {code}") from exc
            except httpx.HTTPError as exc:
                raise SourceError(f"fetch failed: {type(exc).__name__}") from exc
            html = bytes(body).decode(encoding, errors="replace")
            recipes = await asyncio.to_thread(extract_recipes, html, str(current))
            if not recipes:
                raise UrlRefused("the page has no schema.org Recipe data")
            # The address it was fetched from, not the URL the page claims for itself.
            return Candidate(doc=recipes[0], source=self.name, canonical_url=str(current))
        raise UrlRefused(f"more than {self.max_redirects} redirects")

    async def search(self, criteria: SearchCriteria, limit: int) -> list[Candidate]:
        """Web pages are imported by URL, not searched."""
        del criteria, limit
        return []
