"""`GET /events` (SSE) and `/ws` (WebSocket): the events of searches, as they happen."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import uuid
from collections.abc import AsyncIterator

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

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

from .hub import Client, Frames, Hub
from .settings import RealtimeSettings
from .sse import EventStream

log = logging.getLogger(__name__)


def _search_id(value: str | None) -> str | None:
    if not value or len(value) > 64:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


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
        search_id = _search_id(request.query_params.get("search_id"))
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

    async def websocket(ws: WebSocket) -> None:
        hub = hub_of(ws)
        if hub.shutting_down or len(hub.clients) >= settings.max_connections:
            await ws.send_denial_response(
                error_response(503, "too many connections on this process")
            )
            return
        await ws.accept()
        client = hub.connect("ws")
        sender = asyncio.create_task(_ws_sender(ws, client))
        pinger = asyncio.create_task(_ws_pinger(client, settings.heartbeat_seconds))
        try:
            while not client.closed:
                try:
                    raw = await ws.receive_text()
                except KeyError:  # a binary frame
                    await ws.send_text(_ws_error("send JSON text frames"))
                    continue
                await _ws_command(hub, client, ws, raw)
        except WebSocketDisconnect:
            pass
        finally:
            hub.disconnect(client)
            client.end(None)
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender

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
            WebSocketRoute("/ws", websocket),
            *health_routes(
                checks,
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


def _ws_error(message: str) -> str:
    return orjson.dumps({"type": "error", "message": message}).decode()


async def _ws_sender(ws: WebSocket, client: Client) -> None:
    while True:
        frame = await client.queue.get()
        if frame is None:
            with contextlib.suppress(Exception):
                await ws.close(code=1012 if client.closed else 1000)
            return
        await ws.send_text(frame if isinstance(frame, str) else frame.decode())


async def _ws_pinger(client: Client, every: float) -> None:
    ping = orjson.dumps({"type": "ping"}).decode()
    while not client.closed:
        await asyncio.sleep(every)
        with contextlib.suppress(asyncio.QueueFull):
            client.queue.put_nowait(ping)


async def _ws_command(hub: Hub, client: Client, ws: WebSocket, raw: str) -> None:
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        await ws.send_text(_ws_error("not JSON"))
        return
    if not isinstance(message, dict):
        await ws.send_text(_ws_error("send a JSON object"))
        return
    kind = message.get("type")
    if kind == "ping":
        await ws.send_text('{"type":"pong"}')
        return
    if kind not in ("subscribe", "unsubscribe"):
        await ws.send_text(_ws_error("type is subscribe, unsubscribe or ping"))
        return
    search_id = _search_id(
        message.get("search_id") if isinstance(message.get("search_id"), str) else None
    )
    if search_id is None:
        await ws.send_text(_ws_error("search_id must be a search's UUID"))
        return
    if kind == "unsubscribe":
        hub.unsubscribe(client, search_id)
        await ws.send_text(orjson.dumps({"type": "unsubscribed", "search_id": search_id}).decode())
        return
    last = message.get("last_event_id")
    if last is not None and (not isinstance(last, str) or not is_stream_id(last)):
        await ws.send_text(_ws_error("last_event_id is not an event id"))
        return
    if len(client.searches) >= 50:
        await ws.send_text(_ws_error("at most 50 searches per connection"))
        return
    try:
        if not await hub.known(search_id):
            await ws.send_text(_ws_error(f"no search {search_id}"))
            return
        await ws.send_text(orjson.dumps({"type": "subscribed", "search_id": search_id}).decode())
        await hub.subscribe(client, search_id, last)
    except (RedisError, OSError):
        await ws.send_text(_ws_error("redis is unavailable; try again"))


__all__ = ["Frames", "create_app"]
