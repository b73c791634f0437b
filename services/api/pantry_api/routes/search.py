"""`GET /api/v1/recipes/search`: cache-first, then one ranked PostgreSQL query."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from pantry_common import (
    WORDS_TAG,
    Basis,
    CacheState,
    RefreshStatus,
    SearchPage,
    catch_up,
    search_recipes,
)

from ..cache import answer_tags
from ..deps import API_PREFIX, State
from ..errors import postgres_required
from ..metrics import CACHE_RESULTS
from ..models import TOO_MANY_REQUESTS, ErrorBody, SearchResponse
from ..params import OPENAPI_PARAMETERS, search_query
from ..render import render_search

router = APIRouter(prefix=API_PREFIX, tags=["search"])


@router.get(
    "/recipes/search",
    response_model=None,
    responses={
        200: {"model": SearchResponse, "description": "Ranked recipes; `X-Cache` says where from."},
        422: {"model": ErrorBody, "description": "A parameter that cannot be used, named."},
        429: TOO_MANY_REQUESTS,
        503: {"model": ErrorBody, "description": "PostgreSQL is unavailable."},
    },
    openapi_extra={"parameters": OPENAPI_PARAMETERS},
)
async def search(state: State, request: Request) -> Response:
    # The same reading of the query string as the cache-hit fast path's.
    query = search_query(state.vocab, request.scope["query_string"])
    key = query.cache_key(state.common.redis_prefix)
    usable, cached = await state.cache.get(key)
    if isinstance(cached, bytes):
        CACHE_RESULTS.labels("hit").inc()
        return Response(cached, media_type="application/json", headers={"X-Cache": "hit"})

    events_url = state.events_url(query.search_id)

    async def produce() -> tuple[SearchPage, RefreshStatus, CacheState]:
        # Read before the query: a recipe announced after this makes the answer stale.
        clock = await state.cache.clock() if usable else None
        outcome: CacheState = "miss" if usable else "bypass"
        page = None
        with postgres_required():
            if cached is not None:
                page = await catch_up(state.pool, query, state.vocab, cached)
                outcome = "delta" if page is not None else outcome
            if page is None:
                page = await search_recipes(state.pool, query, state.vocab)
        status = await state.gate.request(query)
        if status == "refreshing":
            state.relay.wake()
        if clock is not None:
            with postgres_required():
                tags = await answer_tags(state.pool, query, page, state.vocab)
            # Stored as a hit: the next request returns these bytes as they are.
            stored = render_search(query, page, cache="hit", status=status, events_url=events_url)
            await state.cache.set(
                key,
                stored,
                clock=clock,
                tags=tags,
                refreshing=query.search_id if status == "refreshing" else None,
                # A corrected text can change with a word first known later: computed anew.
                basis=None if WORDS_TAG in tags else Basis.of(page),
            )
        return page, status, outcome

    page, status, outcome = await state.single_flight(key, produce)
    CACHE_RESULTS.labels(outcome).inc()
    return Response(
        render_search(query, page, cache=outcome, status=status, events_url=events_url),
        media_type="application/json",
        headers={"X-Cache": outcome},
    )
