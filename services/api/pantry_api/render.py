"""The bytes of a search answer: rendered once, cached as they are, served as they are."""

from __future__ import annotations

from typing import Any

import orjson

from pantry_common import CacheState, RefreshStatus, SearchPage, SearchQuery


def render_search(
    query: SearchQuery,
    page: SearchPage,
    *,
    cache: CacheState,
    status: RefreshStatus = "complete",
    events_url: str | None = None,
) -> bytes:
    """The response bytes. A cached copy is rendered with `cache="hit"` and served as it is."""
    body: dict[str, Any] = {
        "search_id": query.search_id,
        "query": query.as_dict(),
        "cache": cache,
        "status": status,
        "events_url": events_url,
        "total": page.total,
        "results": page.results,
        "next_cursor": query.next_cursor(page.total),
    }
    if page.corrected and page.corrected != query.text:
        body["corrected_q"] = page.corrected
    return orjson.dumps(body)
