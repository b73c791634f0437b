"""One Redis subscription per process, fanned out in memory to every client.

Each event is framed once (an SSE frame and a WebSocket text) and the same bytes go to every
subscriber's bounded queue: a slow client fills its own queue, gets a final error and is closed;
nobody else waits for it. When Redis comes back after an outage the subscription is made again
(redis-py does not resubscribe by itself) and the gap is filled from each search's stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import UTC, datetime
from typing import Literal

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from pantry_common import Keys, background_transaction, read_since, split_live, watch_search

from .metrics import (
    CONNECTIONS,
    DELIVERED,
    DELIVERY_LAG,
    DROPPED,
    FANOUT_SECONDS,
    RECEIVED,
    REDIS_RECONNECTS,
)

log = logging.getLogger(__name__)

Kind = Literal["sse", "ws"]


def stream_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


class Frames:
    """One event, framed once for every client."""

    __slots__ = (
        "body",
        "event_type",
        "headers",
        "occurred_at",
        "search_id",
        "stream_id",
        "_sse",
        "_ws",
    )

    def __init__(self, search_id: str, stream_id: str, body: bytes) -> None:
        self.search_id = search_id
        self.stream_id = stream_id
        self.body = body
        self.headers: dict[str, str] = {}
        self.occurred_at: datetime | None = None
        try:
            event = orjson.loads(body)
            self.event_type = str(event.get("type", "message"))
            self.headers = event.get("headers") or {}
            self.occurred_at = datetime.fromisoformat(event["occurred_at"])
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            self.event_type = self.event_type if hasattr(self, "event_type") else "message"
        self._sse: bytes | None = None
        self._ws: str | None = None

    def sse(self) -> bytes:
        if self._sse is None:
            self._sse = (
                f"id: {self.stream_id}\nevent: {self.event_type}\ndata: ".encode()
                + self.body
                + b"\n\n"
            )
        return self._sse

    def ws(self) -> str:
        if self._ws is None:
            self._ws = (
                f'{{"type":"event","search_id":"{self.search_id}","id":"{self.stream_id}",'
                f'"event":"{self.event_type}","data":' + self.body.decode() + "}"
            )
        return self._ws


class Client:
    """One connection. Its queue holds frames; None ends it. The queue is bounded by `limit`
    for live events; a (re)subscription's backlog may go past it once."""

    __slots__ = ("closed", "kind", "last_id", "limit", "paused", "queue", "searches", "writer")

    def __init__(self, kind: Kind, limit: int) -> None:
        self.kind = kind
        self.limit = limit
        self.queue: asyncio.Queue[bytes | str | None] = asyncio.Queue()
        self.searches: set[str] = set()
        self.last_id: dict[str, tuple[int, int]] = {}
        self.paused: dict[str, list[Frames]] = {}
        self.closed = False
        self.writer: asyncio.Task[None] | None = None

    def _put(self, frames: Frames) -> None:
        key = stream_key(frames.stream_id)
        if self.last_id.get(frames.search_id, (-1, -1)) >= key:
            return  # already queued (the backlog and the live events overlap)
        self.queue.put_nowait(frames.sse() if self.kind == "sse" else frames.ws())
        self.last_id[frames.search_id] = key

    def offer(self, frames: Frames) -> bool:
        """Queue a live event; False when the client has fallen too far behind."""
        held = self.paused.get(frames.search_id)
        if held is not None:  # its backlog is being read: keep the order
            held.append(frames)
            return len(held) <= self.limit
        if self.queue.qsize() >= self.limit:
            return False
        self._put(frames)
        return True

    def resume(self, search_id: str, backlog: list[Frames]) -> None:
        """After reading the backlog: queue it, then what arrived meanwhile, in order."""
        held = self.paused.pop(search_id, [])
        for frames in (*backlog, *held):
            self._put(frames)

    def end(self, final: bytes | str | None) -> None:
        """Close with one last frame; it replaces whatever is still queued."""
        self.closed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        if final is not None:
            self.queue.put_nowait(final)
        self.queue.put_nowait(None)


STALLED_SECONDS = 10.0


def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None and not task.done():
        task.cancel()


def _closing_frame(kind: Kind, event: str, reason: str, retry_ms: int) -> bytes | str:
    data = orjson.dumps({"reason": reason}).decode()
    if kind == "sse":
        return f"retry: {retry_ms}\nevent: {event}\ndata: {data}\n\n".encode()
    return orjson.dumps({"type": event, "reason": reason}).decode()


class Hub:
    def __init__(
        self, redis: Redis, listener: Redis, keys: Keys, *, queue_size: int, retry_ms: int
    ) -> None:
        self.redis = redis  # commands, with short timeouts
        self.listener = listener  # the subscription: no read timeout, health-checked
        self.keys = keys
        self.queue_size = queue_size
        self.retry_ms = retry_ms
        self.subscribers: dict[str, set[Client]] = defaultdict(set)
        self.clients: set[Client] = set()
        self.last_seen: dict[str, str] = {}
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._channel_prefix = keys.events("").encode()
        self.shutting_down = False

    # ----------------------------------------------------------------- clients

    def connect(self, kind: Kind) -> Client:
        client = Client(kind, self.queue_size)
        self.clients.add(client)
        CONNECTIONS.labels(kind).inc()
        return client

    async def subscribe(self, client: Client, search_id: str, after: str | None) -> None:
        """Live events from now on, after the backlog since `after` (all of it without)."""
        client.searches.add(search_id)
        client.paused[search_id] = []
        self.subscribers[search_id].add(client)
        try:
            backlog = await self.backlog(search_id, after)
        except BaseException:
            self.unsubscribe(client, search_id)
            raise
        client.resume(search_id, backlog)
        try:  # someone waits on it: the engine takes its refresh ahead of the queue
            await watch_search(self.redis, self.keys, search_id)
        except (RedisError, OSError) as exc:
            log.warning("search not marked watched", extra={"error": repr(exc)})

    def unsubscribe(self, client: Client, search_id: str) -> None:
        client.searches.discard(search_id)
        client.paused.pop(search_id, None)
        subs = self.subscribers.get(search_id)
        if subs is not None:
            subs.discard(client)
            if not subs:
                del self.subscribers[search_id]
                self.last_seen.pop(search_id, None)

    def disconnect(self, client: Client) -> None:
        for search_id in list(client.searches):
            self.unsubscribe(client, search_id)
        if client in self.clients:
            self.clients.discard(client)
            CONNECTIONS.labels(client.kind).dec()

    async def backlog(self, search_id: str, after: str | None) -> list[Frames]:
        """The events of a search after `after` (all of them without it)."""
        entries = await read_since(self.redis, self.keys, search_id, after)
        return [Frames(search_id, ident, body) for ident, body in entries]

    async def known(self, search_id: str) -> bool:
        """A search the api has seen: it has a refresh state or events."""
        found = await self.redis.exists(self.keys.stream(search_id), self.keys.refresh(search_id))
        return bool(found)

    # ----------------------------------------------------------------- fan-out

    def dispatch(self, frames: Frames) -> None:
        previous = self.last_seen.get(frames.search_id)
        if previous is None or stream_key(previous) < stream_key(frames.stream_id):
            self.last_seen[frames.search_id] = frames.stream_id
        for client in tuple(self.subscribers.get(frames.search_id, ())):
            if client.closed:
                continue
            if client.offer(frames):
                DELIVERED.labels(client.kind).inc()
            else:
                DROPPED.labels(client.kind).inc()
                log.warning("slow client closed", extra={"kind": client.kind})
                client.end(
                    _closing_frame(
                        client.kind, "error", "too slow: events were dropped", self.retry_ms
                    )
                )
                self.disconnect(client)

    def deliver(self, frames: Frames) -> None:
        """Fan one live event out, as a transaction that continues the engine's trace."""
        with (
            background_transaction(f"deliver {frames.event_type}", "Realtime", frames.headers),
            FANOUT_SECONDS.time(),
        ):
            self.dispatch(frames)
            if frames.occurred_at is not None:
                lag = datetime.now(UTC) - frames.occurred_at
                DELIVERY_LAG.observe(max(lag.total_seconds(), 0.0))
            log.info(
                "event delivered",
                extra={
                    "search_id": frames.search_id,
                    "event": frames.event_type,
                    "event_id": frames.stream_id,
                    "clients": len(self.subscribers.get(frames.search_id, ())),
                },
            )

    async def _fill_gaps(self) -> None:
        for search_id in list(self.subscribers):
            for frames in await self.backlog(search_id, self.last_seen.get(search_id)):
                self.dispatch(frames)

    async def _listen_once(self) -> None:
        pubsub = self.listener.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.psubscribe(self.keys.events_pattern)
            self.connected.set()
            await self._fill_gaps()
            while True:
                message = await pubsub.get_message(timeout=5.0)
                if message is None:
                    continue
                channel, data = message["channel"], message["data"]
                if not isinstance(data, bytes) or not channel.startswith(self._channel_prefix):
                    continue
                search_id = channel[len(self._channel_prefix) :].decode()
                stream_id, body = split_live(data)
                RECEIVED.inc()
                if search_id in self.subscribers:
                    self.deliver(Frames(search_id, stream_id, body))
        finally:
            self.connected.clear()
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def run(self) -> None:
        delay = 0.2
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("redis subscription lost", extra={"error": repr(exc), "retry_s": delay})
                REDIS_RECONNECTS.inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                delay = 0.2

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="redis-subscription")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def shutdown(self) -> None:
        """Tell every client to reconnect (to another process) and end its stream."""
        self.shutting_down = True
        for client in list(self.clients):
            if not client.closed:
                client.end(
                    _closing_frame(client.kind, "reconnect", "server shutting down", self.retry_ms)
                )
