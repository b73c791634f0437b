"""Realtime: SSE and WebSocket delivery, resume, bad input, slow clients, Redis outages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from pantry_common import (
    AcceptedData,
    CommonSettings,
    CompletedData,
    Event,
    EventPublisher,
    FailedData,
    Keys,
)
from pantry_realtime.app import create_app
from pantry_realtime.settings import RealtimeSettings

from .events import SseMessage, sse_messages
from .servers import RedisProcess, ServerUrls, free_port, serve

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def realtime(
    redis_url: str, **settings: Any
) -> AsyncIterator[tuple[str, EventPublisher, Redis, Keys]]:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    common = CommonSettings.model_validate(
        {"redis_url": redis_url, "redis_prefix": prefix, "environment": "test"}
    )
    config = RealtimeSettings(port=free_port(), **{"heartbeat_seconds": 0.5, **settings})
    redis = Redis.from_url(redis_url)
    keys = Keys(prefix)
    try:
        async with serve(create_app(common, config), port=config.port) as base_url:
            for _ in range(100):  # the subscription is made in the background
                async with httpx.AsyncClient() as client:
                    if (await client.get(f"{base_url}/ready")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("realtime did not become ready (its Redis subscription)")
            yield base_url, EventPublisher(redis, keys), redis, keys
    finally:
        await redis.aclose()


def accepted(search_id: uuid.UUID) -> Event:
    return Event(
        type="search.accepted", search_id=search_id, data=AcceptedData(sources=["catalogue"])
    )


def completed(search_id: uuid.UUID, found: int = 1) -> Event:
    return Event(
        type="search.completed",
        search_id=search_id,
        data=CompletedData(found=found, new=found, sources={}),
    )


async def known_search(redis: Redis, keys: Keys) -> uuid.UUID:
    search_id = uuid.uuid4()
    await redis.set(keys.refresh(str(search_id)), "requested", ex=60)
    return search_id


async def collect(
    response: httpx.Response, count: int, timeout: float = 10
) -> tuple[list[SseMessage], list[str]]:
    """The first `count` events (retry advice and heartbeats aside)."""
    events: list[SseMessage] = []
    comments: list[str] = []

    async def read() -> None:
        async for item in sse_messages(response):
            if isinstance(item, str):
                comments.append(item)
            elif item.event is not None:
                events.append(item)
                if len(events) >= count:
                    return

    await asyncio.wait_for(read(), timeout)
    return events, comments


@pytest.fixture
def redis_url(servers: ServerUrls) -> str:
    return servers.redis


async def test_sse_delivers_backlog_then_live_events_with_ids(redis_url: str) -> None:
    async with realtime(redis_url) as (base, publisher, redis, keys):
        search_id = await known_search(redis, keys)
        first_id = await publisher.publish(accepted(search_id))
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as client,
            client.stream("GET", "/events", params={"search_id": str(search_id)}) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["x-accel-buffering"] == "no"
            assert "no-cache" in response.headers["cache-control"]
            await asyncio.sleep(0.2)
            later_id = await publisher.publish(completed(search_id))
            events, comments = await collect(response, 2)
        assert [e.id for e in events] == [first_id, later_id]
        assert [e.event for e in events] == ["search.accepted", "search.completed"]
        assert events[1].json()["data"]["found"] == 1


async def test_sse_sends_retry_advice_and_heartbeats(redis_url: str) -> None:
    async with realtime(redis_url, retry_ms=2500) as (base, _, redis, keys):
        search_id = await known_search(redis, keys)
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as client,
            client.stream("GET", "/events", params={"search_id": str(search_id)}) as response,
        ):
            retry: int | None = None
            beats = 0

            async def read() -> None:
                nonlocal retry, beats
                async for item in sse_messages(response):
                    if isinstance(item, str):
                        beats += 1
                        if beats >= 2:
                            return
                    elif item.retry is not None:
                        retry = item.retry

            await asyncio.wait_for(read(), 10)
    assert retry == 2500
    assert beats >= 2


async def test_sse_resumes_after_last_event_id(redis_url: str) -> None:
    async with realtime(redis_url) as (base, publisher, redis, keys):
        search_id = await known_search(redis, keys)
        seen = await publisher.publish(accepted(search_id))
        missed = await publisher.publish(
            Event(type="search.failed", search_id=search_id, data=FailedData(reason="x"))
        )
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as client,
            client.stream(
                "GET",
                "/events",
                params={"search_id": str(search_id)},
                headers={"Last-Event-ID": seen},
            ) as response,
        ):
            live = await publisher.publish(completed(search_id))
            events, _ = await collect(response, 2)
    assert [e.id for e in events] == [missed, live]


@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        ({}, {}, 422),
        ({"search_id": "not-a-uuid"}, {}, 422),
        ({"search_id": "1" * 200}, {}, 422),
        ({"search_id": str(uuid.uuid4())}, {}, 404),
        ({"search_id": "KNOWN"}, {"Last-Event-ID": "garbage"}, 422),
    ],
)
async def test_sse_refuses_bad_subscriptions_with_json(
    redis_url: str, params: dict[str, str], headers: dict[str, str], status: int
) -> None:
    async with realtime(redis_url) as (base, _, redis, keys):
        if params.get("search_id") == "KNOWN":
            params = {"search_id": str(await known_search(redis, keys))}
        async with httpx.AsyncClient(base_url=base) as client:
            response = await client.get("/events", params=params, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]


async def test_connection_limit_answers_503(redis_url: str) -> None:
    async with realtime(redis_url, max_connections=2) as (base, _, redis, keys):
        search_id = str(await known_search(redis, keys))
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            async with (
                client.stream("GET", "/events", params={"search_id": search_id}) as one,
                client.stream("GET", "/events", params={"search_id": search_id}) as two,
            ):
                assert one.status_code == two.status_code == 200
                third = await client.get("/events", params={"search_id": search_id})
                assert third.status_code == 503
                assert third.json()["error"] == "unavailable"
            for _ in range(50):  # closed connections free their places
                response = await client.get("/ready")
                if response.json()["connections"] == 0:
                    break
                await asyncio.sleep(0.05)
            assert response.json()["connections"] == 0


async def test_cors_allows_only_listed_origins(redis_url: str) -> None:
    allowed = "http://pantry.example"
    async with realtime(redis_url, cors_origins=allowed) as (base, _, _redis, _keys):
        async with httpx.AsyncClient(base_url=base) as client:
            preflight = await client.options(
                "/events", headers={"Origin": allowed, "Access-Control-Request-Method": "GET"}
            )
            assert preflight.headers["access-control-allow-origin"] == allowed
            other = await client.options(
                "/events",
                headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
            )
            assert "access-control-allow-origin" not in other.headers
            missing = await client.get(
                "/events", params={"search_id": str(uuid.uuid4())}, headers={"Origin": allowed}
            )
            assert missing.status_code == 404
            assert missing.headers["access-control-allow-origin"] == allowed


async def test_a_slow_client_is_cut_off_and_the_others_get_everything(redis_url: str) -> None:
    async with realtime(redis_url, client_queue_size=8) as (base, publisher, redis, keys):
        search_id = await known_search(redis, keys)
        big = ["x" * 20_000]
        async with (
            httpx.AsyncClient(base_url=base, timeout=30) as client,
            client.stream("GET", "/events", params={"search_id": str(search_id)}) as fast,
            client.stream("GET", "/events", params={"search_id": str(search_id)}) as slow,
        ):
            received: list[SseMessage] = []

            async def read_fast() -> None:
                async for item in sse_messages(fast):
                    if isinstance(item, SseMessage) and item.event:
                        received.append(item)
                        if item.event == "search.completed":
                            return

            reader = asyncio.create_task(read_fast())
            for _ in range(300):
                await publisher.publish(
                    Event(
                        type="search.accepted", search_id=search_id, data=AcceptedData(sources=big)
                    )
                )
            await publisher.publish(completed(search_id))
            await asyncio.wait_for(reader, 30)
            # The slow one now reads: what reached it ends with the error, and the stream ends.
            tail: list[SseMessage] = []
            async for item in sse_messages(slow):
                if isinstance(item, SseMessage) and item.event:
                    tail.append(item)
        assert len(received) == 301
        assert tail[-1].event == "error"
        assert "too slow" in tail[-1].json()["reason"]
        assert len(tail) < 301


async def test_websocket_subscribes_to_several_searches(redis_url: str) -> None:
    async with realtime(redis_url) as (base, publisher, redis, keys):
        one, two = await known_search(redis, keys), await known_search(redis, keys)
        ws_url = base.replace("http://", "ws://") + "/ws"
        async with websockets.connect(ws_url) as ws:
            await ws.send("not json")
            assert json.loads(await ws.recv())["type"] == "error"
            await ws.send(json.dumps({"type": "subscribe", "search_id": "nope"}))
            assert json.loads(await ws.recv())["type"] == "error"
            await ws.send(json.dumps({"type": "dance"}))
            assert json.loads(await ws.recv())["type"] == "error"
            await ws.send(b"\x00binary")
            assert json.loads(await ws.recv())["type"] == "error"
            for search_id in (one, two):
                await ws.send(json.dumps({"type": "subscribe", "search_id": str(search_id)}))
                assert json.loads(await ws.recv()) == {
                    "type": "subscribed",
                    "search_id": str(search_id),
                }
            first = await publisher.publish(accepted(one))
            second = await publisher.publish(completed(two))
            got: list[dict[str, Any]] = []
            while len(got) < 2:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame["type"] == "event":
                    got.append(frame)
            assert [(f["search_id"], f["id"], f["event"]) for f in got] == [
                (str(one), first, "search.accepted"),
                (str(two), second, "search.completed"),
            ]
            assert got[1]["data"]["data"]["found"] == 1
            await ws.send(json.dumps({"type": "unsubscribe", "search_id": str(one)}))
            assert json.loads(await ws.recv())["type"] == "unsubscribed"
            await publisher.publish(completed(one))
            await ws.send(json.dumps({"type": "ping"}))
            frames = []
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                frames.append(frame)
                if frame["type"] == "pong":
                    break
            assert not [f for f in frames if f["type"] == "event"]


async def test_subscription_comes_back_after_redis_drops_it(redis_url: str) -> None:
    async with realtime(redis_url) as (base, publisher, redis, keys):
        search_id = await known_search(redis, keys)
        async with (
            httpx.AsyncClient(base_url=base, timeout=15) as client,
            client.stream("GET", "/events", params={"search_id": str(search_id)}) as response,
        ):
            await publisher.publish(accepted(search_id))
            await redis.client_kill_filter(_type="pubsub")  # every subscriber's link, cut
            # Published while the subscription is being made again: the gap is filled.
            await publisher.publish(
                Event(type="search.failed", search_id=search_id, data=FailedData(reason="gap"))
            )
            await asyncio.sleep(0.5)
            await publisher.publish(completed(search_id))
            events, _ = await collect(response, 3, timeout=15)
    assert [e.event for e in events] == ["search.accepted", "search.failed", "search.completed"]
    assert len({e.id for e in events}) == 3


async def test_the_first_requests_after_redis_restarts_are_answered_not_refused() -> None:
    """Connections pooled before Redis restarted are broken: a command on one is tried again
    once on a new connection (a broken connection only, never a timeout), so the streams opened
    right after Redis is back are not refused with 503s, one per stale connection."""
    async with RedisProcess() as server, realtime(server.url) as (base, *_):
        async with httpx.AsyncClient(base_url=base, timeout=15) as client:

            async def unknown_searches() -> list[int]:
                answers = await asyncio.gather(
                    *(
                        client.get("/events", params={"search_id": str(uuid.uuid4())})
                        for _ in range(8)
                    )
                )
                return [a.status_code for a in answers]

            assert await unknown_searches() == [404] * 8  # asked of Redis, on pooled links
            await server.stop()
            await server.start()
            assert await unknown_searches() == [404] * 8


async def test_realtime_recovers_when_redis_restarts() -> None:
    async with RedisProcess() as server, realtime(server.url) as (base, publisher, redis, keys):
        async with httpx.AsyncClient(base_url=base, timeout=15) as client:
            await server.stop()
            for _ in range(100):
                if (await client.get("/ready")).status_code == 503:
                    break
                await asyncio.sleep(0.05)
            down = await client.get("/ready")
            assert down.status_code == 503
            refused = await client.get("/events", params={"search_id": str(uuid.uuid4())})
            assert refused.status_code == 503
            await server.start()
            for _ in range(200):
                if (await client.get("/ready")).status_code == 200:
                    break
                await asyncio.sleep(0.05)
            assert (await client.get("/ready")).status_code == 200
            search_id = await known_search(redis, keys)
            async with client.stream(
                "GET", "/events", params={"search_id": str(search_id)}
            ) as response:
                await asyncio.sleep(0.2)
                await publisher.publish(completed(search_id))
                events, _ = await collect(response, 1)
    assert events[0].event == "search.completed"
