"""`/ws`: the WebSocket side of the fan-out. A client subscribes to searches by id (at most 50
per connection), gets their events as JSON text frames, and is pinged every heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable

import orjson
from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect

from pantry_common import error_response, is_stream_id

from .hub import Client, Hub
from .settings import RealtimeSettings


def search_id_of(value: str | None) -> str | None:
    """A search's UUID in its canonical form, or None."""
    if not value or len(value) > 64:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def websocket_endpoint(settings: RealtimeSettings) -> Callable[[WebSocket], Awaitable[None]]:
    async def websocket(ws: WebSocket) -> None:
        hub: Hub = ws.app.state.hub
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

    return websocket


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
    search_id = search_id_of(
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
