"""The realtime app: `GET /events` (SSE) here, `/ws` (WebSocket) from `ws.py`, health routes."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from pantry_common import (
    JSON_ERRORS,
    CommonSettings,
    Keys,
    check_redis,
    create_redis,
    error_response,
    health_routes,
    is_stream_id,
    up_when,
)

from .hub import Frames, Hub
from .settings import RealtimeSettings
from .sse import EventStream
from .ws import search_id_of, websocket_endpoint

log = logging.getLogger(__name__)


def create_app(
    common: CommonSettings | None = None, settings: RealtimeSettings | None = None
) -> Starlette:
    common = common or CommonSettings()
    settings = settings or RealtimeSettings()
    keys = Keys(common.redis_prefix)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = create_redis(common)
        # The subscription's own client: no read timeout (it waits for events), pinged instead.
        listener = Redis.from_url(
            str(common.redis_url), socket_connect_timeout=2, health_check_interval=5
        )
        hub = Hub(
            redis,
            listener,
            keys,
            queue_size=settings.client_queue_size,
            retry_ms=settings.retry_ms,
        )
        hub.start()
        app.state.hub, app.state.redis = hub, redis
        gc.collect()
        gc.freeze()  # start-up objects out of the collector's way: no long pauses in fan-out
        try:
            yield
        finally:
            hub.shutdown()
            await hub.stop()
            await listener.aclose()
            await redis.aclose()

    def hub_of(request: Request | WebSocket | Starlette) -> Hub:
        app_ = request if isinstance(request, Starlette) else request.app
        hub: Hub = app_.state.hub
        return hub

    async def events(request: Request) -> Response | EventStream:
        hub = hub_of(request)
        search_id = search_id_of(request.query_params.get("search_id"))
        if search_id is None:
            return error_response(
                422,
                "search_id must be a search's UUID",
                errors=[{"parameter": "search_id", "message": "not a UUID"}],
            )
        last = request.headers.get("last-event-id") or request.query_params.get("lastEventId")
        if last is not None and not is_stream_id(last):
            return error_response(
                422,
                "Last-Event-ID is not an event id",
                errors=[{"parameter": "Last-Event-ID", "message": "not an event id"}],
            )
        if hub.shutting_down:
            return error_response(503, "shutting down; reconnect", retry_after=1)
        if len(hub.clients) >= settings.max_connections:
            return error_response(503, "too many connections on this process")
        try:
            if not await hub.known(search_id):
                return error_response(404, f"no search {search_id}")
        except (RedisError, OSError):
            return error_response(503, "redis is unavailable", dependency="redis")
        client = hub.connect("sse")
        try:
            await hub.subscribe(client, search_id, last)
        except (RedisError, OSError):
            hub.disconnect(client)
            return error_response(503, "redis is unavailable", dependency="redis")

        return EventStream(
            hub, client, retry_ms=settings.retry_ms, heartbeat=settings.heartbeat_seconds
        )

    app: Starlette  # the checks read what its lifespan opened

    def hub() -> Hub:
        return hub_of(app)

    checks = {
        "redis": lambda: check_redis(app.state.redis),
        "subscription": lambda: up_when(hub().connected.is_set),
    }
    app = Starlette(
        routes=[
            Route("/events", events),
            WebSocketRoute("/ws", websocket_endpoint(settings)),
            *health_routes(
                checks,
                service="realtime",
                required=checks,
                details=lambda: {"connections": len(hub().clients)},
                stopping=lambda: hub().shutting_down,
            ),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=settings.origins,
                allow_methods=["GET"],
                allow_headers=["Last-Event-ID", "Cache-Control"],
                max_age=600,
            )
        ],
        exception_handlers=JSON_ERRORS,
        lifespan=lifespan,
    )
    return app


__all__ = ["Frames", "create_app"]
