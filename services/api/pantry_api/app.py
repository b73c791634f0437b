"""The FastAPI application and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pantry_common import CommonSettings, FoodVocabulary, ResponseCache, create_pool, create_redis

from .errors import install_error_handlers
from .middleware import AccessMiddleware
from .routes import api_router, metrics_router
from .settings import ApiSettings
from .state import AppState

log = logging.getLogger(__name__)


def create_app(
    common: CommonSettings | None = None, settings: ApiSettings | None = None
) -> FastAPI:
    common = common or CommonSettings()
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        vocab = FoodVocabulary.default()
        pool = await create_pool(common, wait_seconds=settings.startup_wait_seconds)
        redis = create_redis(common)
        cache = ResponseCache(
            redis,
            ttl_seconds=settings.cache_ttl_seconds,
            cooldown_seconds=settings.redis_cooldown_seconds,
        )
        app.state.pantry = AppState(
            common=common, settings=settings, vocab=vocab, pool=pool, redis=redis, cache=cache
        )
        log.info("api ready", extra={"port": settings.port, "environment": common.environment})
        try:
            yield
        finally:
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
    app.include_router(api_router)
    app.include_router(metrics_router)
    app.add_middleware(AccessMiddleware, access_log=settings.access_log)
    return app
