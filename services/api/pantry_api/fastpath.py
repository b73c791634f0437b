"""The hot path: a search whose response is cached is answered here, before routing.

A cache hit is one Redis round trip and the stored bytes, so everything else a request costs
shows. This plain ASGI layer reads the query string with the route's own parser (`params.py`),
and on a hit sends the bytes. Anything else (a miss, Redis away, a parameter that does not
validate, another path) goes on to the application unchanged, which answers it as always.

The per-client rate limits (`ratelimit.py`) are taken here too, for every search and every
import, before routing: a refused request costs no more than a hit. For a search, the bucket's
script and the cache's go to Redis in one pipeline: the limit adds no round trip.
"""

from __future__ import annotations

import functools

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from pantry_common import QueryError

from .deps import API_PREFIX
from .metrics import CACHE_RESULTS, RATE_LIMITED
from .params import search_query
from .ratelimit import too_many_requests
from .state import AppState

SEARCH_PATH = f"{API_PREFIX}/recipes/search"
IMPORT_PATH = f"{API_PREFIX}/recipes/import"
_HEADERS = [(b"content-type", b"application/json"), (b"x-cache", b"hit")]


class CacheHitFastPath:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        # The same query string is the same cache key: remember the last few thousand.
        self._key_of = functools.lru_cache(maxsize=8192)(self._key)

    def _key(self, query_string: bytes) -> str | None:
        state: AppState = self.app.state.pantry
        try:
            query = search_query(state.vocab, query_string)
        except QueryError:
            return None  # the route answers it, with the 422
        return query.cache_key(state.common.redis_prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: AppState | None = getattr(self.app.state, "pantry", None)
        if scope["type"] != "http" or state is None:
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if path == IMPORT_PATH and method == "POST":
            decision = await state.limiter.take("import", state.limiter.client_of(scope))
            if not decision.allowed:
                RATE_LIMITED.labels("import").inc()
                scope["pantry.route"] = IMPORT_PATH
                await too_many_requests("import", decision)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # A HEAD arrives here as GET (`middleware.HeadAsGet` drops the body).
        if path != SEARCH_PATH or method != "GET":
            await self.app(scope, receive, send)
            return
        key = self._key_of(scope["query_string"])
        decision, body = await state.limiter.take_and_get(
            "search", state.limiter.client_of(scope), key
        )
        if not decision.allowed:
            RATE_LIMITED.labels("search").inc()
            scope["pantry.route"] = SEARCH_PATH
            await too_many_requests("search", decision)(scope, receive, send)
            return
        if body is None:
            await self.app(scope, receive, send)
            return
        CACHE_RESULTS.labels("hit").inc()
        scope["pantry.route"] = SEARCH_PATH
        headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
