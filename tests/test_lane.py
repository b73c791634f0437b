"""Discovery under a burst: a search someone watches goes ahead of the queued refreshes, and
refreshes nobody watched for long are dropped (and asked again on the next search)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aio_pika
import httpx
import pytest
from redis.asyncio import Redis

from pantry_common import SEARCH_QUEUE, Keys, catalogue_documents, declare_topology

from .conftest import api_server, make_stack, running_engine, running_realtime
from .events import SseMessage, sse_messages, stream_events, wait_for_event
from .servers import ServerUrls
from .test_engine import publish, search_message
from .thirdparty import ThirdParty

FEED = list(catalogue_documents("feed"))

pytestmark = pytest.mark.integration

SEARCH = "/api/v1/recipes/search"
BACKLOG = 24


async def ready_in_queue(amqp: str) -> int:
    connection = await aio_pika.connect(amqp)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(SEARCH_QUEUE, passive=True)
        return queue.declaration_result.message_count or 0


async def test_a_watched_search_goes_ahead_of_the_backlog_and_is_done_once(
    database: str,
    servers: ServerUrls,
    vhost: str,
    redis: Redis,
    thirdparty: tuple[ThirdParty, str],
) -> None:
    fake, base = thirdparty
    fake.feed = FEED
    fake.feed_delay = 0.3  # each refresh takes a while: the backlog lasts
    stack = make_stack(
        database, servers, vhost, feed_url=f"{base}/feed.json", concurrency=1, prefetch=1
    )
    async with api_server(stack.common, stack.api) as api, running_realtime(stack) as events:
        # A burst of distinct searches, each asking the engine for more: queued.
        for n in range(BACKLOG):
            assert (await api.get(SEARCH, params={"q": f"lentil soup {n}"})).status_code == 200
        for _ in range(50):
            if await ready_in_queue(vhost) >= BACKLOG:
                break
            await asyncio.sleep(0.1)
        assert await ready_in_queue(vhost) == BACKLOG
        # A user searches and the page subscribes, as the browser does.
        first = (await api.get(SEARCH, params={"q": "jollof rice"})).json()
        assert first["status"] == "refreshing"
        async with (
            httpx.AsyncClient(timeout=30) as client,
            client.stream(
                "GET", f"{events}/events", params={"search_id": first["search_id"]}
            ) as stream,
            running_engine(stack),
        ):
            assert stream.status_code == 200

            async def first_results() -> list[str]:
                async for item in sse_messages(stream):
                    if isinstance(item, SseMessage) and item.event == "search.results":
                        return [r["title"] for r in item.json()["data"]["recipes"]]
                raise AssertionError("the stream ended")

            titles = await asyncio.wait_for(first_results(), 20)
            assert "Jollof Rice" in titles
            # The backlog is still there: the watched search did not wait behind it.
            assert await ready_in_queue(vhost) >= BACKLOG - 3
            # Its queued copy comes last, and finds nothing left to do.
            for _ in range(300):
                if await ready_in_queue(vhost) == 0:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
    kinds = [
        e.type for e in await stream_events(redis, stack.common.redis_prefix, first["search_id"])
    ]
    assert kinds.count("search.completed") == 1, kinds
    assert kinds.count("search.results") == 1, kinds


async def test_a_refresh_nobody_watched_is_dropped_once_old_and_asked_again(
    database: str, servers: ServerUrls, vhost: str, redis: Redis
) -> None:
    stack = make_stack(database, servers, vhost, unwatched_expiry_seconds=60)
    keys = Keys(stack.common.redis_prefix)
    connection = await aio_pika.connect(vhost)
    async with connection:
        await declare_topology(await connection.channel())
    old = datetime.now(UTC) - timedelta(minutes=5)
    unwatched = search_message("doro wat").model_copy(update={"occurred_at": old})
    watched = search_message("jollof rice").model_copy(update={"occurred_at": old})
    for envelope in (unwatched, watched):
        search_id = str(envelope.payload.search_id)  # type: ignore[union-attr]
        await redis.set(keys.refresh(search_id), "requested", ex=600)
    await redis.set(keys.watched(str(watched.payload.search_id)), "1", ex=600)  # type: ignore[union-attr]
    await publish(vhost, unwatched)
    await publish(vhost, watched)
    async with running_engine(stack):
        await wait_for_event(
            redis,
            stack.common.redis_prefix,
            str(watched.payload.search_id),  # type: ignore[union-attr]
            "search.completed",
        )
        for _ in range(50):
            if await ready_in_queue(vhost) == 0:
                break
            await asyncio.sleep(0.1)
        dropped = str(unwatched.payload.search_id)  # type: ignore[union-attr]
        assert await stream_events(redis, stack.common.redis_prefix, dropped) == []
        assert await redis.get(keys.refresh(dropped)) is None
    # The next search of it asks the engine again.
    async with api_server(stack.common, stack.api) as api:
        again = (await api.get(SEARCH, params={"q": "doro wat"})).json()
    assert again["search_id"] == dropped
    assert again["status"] == "refreshing"
