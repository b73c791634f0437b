"""The hot path: a search whose response is cached is answered here, before routing.

A cache hit is one Redis GET and the stored bytes, so everything else a request costs shows. This
plain ASGI layer parses the query string, normalises it with the same `build_query` as the
route, and on a hit sends the bytes. Anything else (a miss, Redis away, a parameter that does not
validate, another path) goes on to the application unchanged, which answers it as always.
"""

from __future__ import annotations

import functools
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from pantry_common import CACHE_RESULTS, QueryError, build_query

from .deps import API_PREFIX
from .state import AppState

SEARCH_PATH = f"{API_PREFIX}/recipes/search"
_HEADERS = [(b"content-type", b"application/json"), (b"x-cache", b"hit")]
_LIST_PARAMS = ("have", "exclude", "diet")
_KNOWN = frozenset(
    {"q", "have", "exclude", "diet", "max_time", "cuisine", "sort", "limit", "cursor"}
)


def _params(query_string: bytes) -> dict[str, str | None]:
    """The route's parameters as it would read them."""
    single: dict[str, str] = {}
    lists: dict[str, list[str]] = {name: [] for name in _LIST_PARAMS}
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in lists:
            lists[name].append(value)
        elif name in _KNOWN:
            single[name] = value  # the last one wins, as in the route
    out: dict[str, str | None] = dict(single)
    for name, values in lists.items():
        out[name] = ",".join(values) if values else None
    return out


class CacheHitFastPath:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        # The same query string is the same cache key: remember the last few thousand.
        self._key_of = functools.lru_cache(maxsize=8192)(self._key)

    def _key(self, query_string: bytes) -> str | None:
        state: AppState = self.app.state.pantry
        params = _params(query_string)
        try:
            max_time, limit = params.get("max_time"), params.get("limit")
            query = build_query(
                state.vocab,
                q=params.get("q"),
                have=params.get("have"),
                exclude=params.get("exclude"),
                diet=params.get("diet"),
                max_time=int(max_time) if max_time is not None else None,
                cuisine=params.get("cuisine"),
                sort=params.get("sort"),
                limit=int(limit) if limit is not None else 20,
                cursor=params.get("cursor"),
            )
        except (QueryError, ValueError):
            return None  # the route answers it, with the 422
        return query.cache_key(state.common.redis_prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != SEARCH_PATH
            or scope["method"] not in ("GET", "HEAD")
        ):
            await self.app(scope, receive, send)
            return
        state: AppState | None = getattr(self.app.state, "pantry", None)
        key = self._key_of(scope["query_string"]) if state is not None else None
        body = None
        if state is not None and key is not None:
            _, body = await state.cache.get(key)
        if body is None:
            await self.app(scope, receive, send)
            return
        CACHE_RESULTS.labels("hit").inc()
        scope["pantry.route"] = SEARCH_PATH
        headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": body if scope["method"] == "GET" else b""}
        )
