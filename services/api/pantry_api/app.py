"""The FastAPI application and its lifespan."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from pantry_common import (
    CommonSettings,
    FoodVocabulary,
    Keys,
    OutboxRelay,
    RefreshGate,
    check_postgres,
    check_redis,
    create_pool,
    create_redis,
    health_routes,
    up_when,
)

from .cache import ResponseCache
from .deps import API_PREFIX
from .errors import install_error_handlers
from .fastpath import CacheHitFastPath
from .middleware import AccessMiddleware, HeadAsGet
from .ratelimit import RateLimiter
from .routes import api_routers, page_router
from .settings import ApiSettings
from .state import AppState

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"


class Static(StaticFiles):
    """The page's files. Another method than GET or HEAD is a 405 with its `Allow`."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(405, headers={"Allow": "GET, HEAD"})
        return await super().get_response(path, scope)


class PantryApi:
    """The ASGI application as served: the access log, HEAD as GET, then the cache-hit fast
    path (which also takes the rate limits), then FastAPI. A cached search never reaches
    FastAPI's middleware, routing or validation."""

    def __init__(self, fastapi: FastAPI, *, access_log: bool) -> None:
        self.fastapi = fastapi
        self._app = AccessMiddleware(HeadAsGet(CacheHitFastPath(fastapi)), access_log=access_log)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def create_app(
    common: CommonSettings | None = None, settings: ApiSettings | None = None
) -> PantryApi:
    common = common or CommonSettings()
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        vocab = FoodVocabulary.default()
        pool = await create_pool(common, wait_seconds=settings.startup_wait_seconds)
        redis = create_redis(common)
        keys = Keys(common.redis_prefix)
        cache = ResponseCache(
            redis,
            keys,
            ttl_seconds=settings.effective_cache_ttl,
            cooldown_seconds=settings.redis_cooldown_seconds,
        )
        relay = OutboxRelay(pool, str(common.rabbitmq_url))
        relay.start()
        gate = RefreshGate(pool, redis, keys, interval_seconds=settings.refresh_interval_seconds)
        app.state.pantry = AppState(
            common=common,
            settings=settings,
            vocab=vocab,
            pool=pool,
            redis=redis,
            cache=cache,
            keys=keys,
            relay=relay,
            gate=gate,
            limiter=RateLimiter.from_settings(redis, keys, cache, settings),
        )
        # What start-up loaded (the vocabulary, the parser) lives as long as the process: keep it
        # out of the collector's way, so that full collections do not pause requests.
        gc.collect()
        gc.freeze()
        log.info("api ready", extra={"port": settings.port, "environment": common.environment})
        try:
            yield
        finally:
            await relay.stop()
            await redis.aclose()
            await pool.close()

    app = FastAPI(
        title="Pantry Chef API",
        version="0.1.0",
        summary="What can I cook? Recipe search by free text and by the foods you have.",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    install_error_handlers(app)
    for router in api_routers:
        app.include_router(router)

    # Readiness needs PostgreSQL only: without Redis the api answers from PostgreSQL
    # (`X-Cache: bypass`); without RabbitMQ refresh requests wait in the outbox.
    def pantry() -> AppState:
        state: AppState = app.state.pantry
        return state

    checks = {
        "postgres": lambda: check_postgres(pantry().pool),
        "redis": lambda: check_redis(pantry().redis),
        "rabbitmq": lambda: up_when(lambda: pantry().relay.rabbitmq_up),
    }
    app.router.routes.extend(
        health_routes(checks, service="api", required=["postgres"], prefix=API_PREFIX)
    )
    app.include_router(page_router)
    app.mount("/static", Static(directory=STATIC, check_dir=False), name="static")
    return PantryApi(app, access_log=settings.access_log)
