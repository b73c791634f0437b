"""End to end: the three services as real processes, as `make run` starts them."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from pantry_common import Keys, catalogue_documents

from .conftest import Stack, make_stack
from .events import SseMessage, sse_messages, wait_for_event
from .servers import ServerUrls, ServiceProcess
from .thirdparty import ThirdParty

pytestmark = pytest.mark.integration

SEARCH = "/api/v1/recipes/search"
FEED = list(catalogue_documents("feed"))


def processes(stack: Stack) -> dict[str, ServiceProcess]:
    env = stack.env()
    return {
        "api": ServiceProcess(
            "pantry_api", env, f"http://127.0.0.1:{stack.api.port}/api/v1/health"
        ),
        "engine": ServiceProcess(
            "pantry_engine", env, f"http://127.0.0.1:{stack.engine.port}/ready"
        ),
        "realtime": ServiceProcess(
            "pantry_realtime", env, f"http://127.0.0.1:{stack.realtime.port}/ready"
        ),
    }


@contextlib.asynccontextmanager
async def running(*procs: ServiceProcess) -> AsyncIterator[None]:
    try:
        await asyncio.gather(*(p.start() for p in procs))
        yield
    finally:
        await asyncio.gather(*(p.stop() for p in procs))


async def titles_count(dsn: str, titles: list[str]) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT title, count(*) AS n FROM recipes WHERE title = ANY($1) GROUP BY title",
            titles,
        )
    finally:
        await conn.close()
    return {row["title"]: row["n"] for row in rows}


async def test_a_search_grows_live_and_is_then_served_from_the_cache(
    database: str, servers: ServerUrls, vhost: str
) -> None:
    stack = make_stack(database, servers, vhost)
    procs = processes(stack)
    async with (
        running(*procs.values()),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.api.port}", timeout=15) as api,
    ):
        first = await api.get(SEARCH, params={"q": "jollof rice"})
        body = first.json()
        assert first.headers["x-cache"] == "miss"
        assert body["status"] == "refreshing"
        assert "Jollof Rice" not in [r["title"] for r in body["results"]]
        events: list[SseMessage] = []
        async with (
            httpx.AsyncClient(timeout=30) as client,
            client.stream("GET", body["events_url"]) as stream,
        ):
            assert stream.status_code == 200

            async def read() -> None:
                async for item in sse_messages(stream):
                    if isinstance(item, SseMessage) and item.event:
                        events.append(item)
                        if item.event == "search.completed":
                            return

            await asyncio.wait_for(read(), 30)
        kinds = [e.event for e in events]
        assert kinds[0] == "search.accepted" and kinds[-1] == "search.completed"
        found = [
            r for e in events if e.event == "search.results" for r in e.json()["data"]["recipes"]
        ]
        assert "Jollof Rice" in [r["title"] for r in found]
        again = await api.get(SEARCH, params={"q": "jollof rice"})
        assert again.headers["x-cache"] == "miss"  # the stored recipes made the answer stale
        assert again.json()["status"] == "complete"
        assert again.json()["results"][0]["title"] == "Jollof Rice"
        cached = await api.get(SEARCH, params={"q": "jollof rice"})
        assert cached.headers["x-cache"] == "hit"
        assert cached.content == again.content.replace(b'"cache":"miss"', b'"cache":"hit"')
    # One JSON log line per request in the api's output, the engine logged the message.
    api_lines = procs["api"].lines()
    assert sum(1 for line in api_lines if line.get("path") == SEARCH) == 3
    assert all(line.get("service") == "api" for line in api_lines)
    assert any(line.get("service") == "recipe-engine" for line in procs["engine"].lines())


async def test_the_engine_killed_mid_message_does_the_work_once_after_restart(
    database: str, servers: ServerUrls, vhost: str, thirdparty: tuple[ThirdParty, str]
) -> None:
    fake, base = thirdparty
    fake.feed = [doc for doc in FEED if doc["name"] in ("Feijoada", "Moqueca Baiana")]
    # Only Feijoada matches the search; the other recipe of the feed is not stored.
    fake.feed_delay = 3.0
    stack = make_stack(database, servers, vhost, feed_url=f"{base}/feed.json")
    procs = processes(stack)
    redis = Redis.from_url(servers.redis)
    try:
        async with (
            running(procs["api"]),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.api.port}", timeout=15) as api,
        ):
            body = (await api.get(SEARCH, params={"q": "feijoada"})).json()
            assert body["status"] == "refreshing"
            await procs["engine"].start()
            for _ in range(200):  # the engine has the message and is asking the feed
                if "feed" in fake.requests:
                    break
                await asyncio.sleep(0.05)
            assert "feed" in fake.requests
            await procs["engine"].stop(signal.SIGKILL)
            assert procs["engine"].proc is not None
            assert procs["engine"].proc.returncode == -signal.SIGKILL
            fake.feed_delay = 0.2
            restarted = processes(stack)["engine"]
            async with running(restarted):
                await wait_for_event(
                    redis,
                    stack.common.redis_prefix,
                    body["search_id"],
                    "search.completed",
                    timeout=60,
                )
                await asyncio.sleep(1.0)
            assert fake.requests.count("feed") == 2  # asked again after the restart
    finally:
        await redis.aclose()
    assert await titles_count(database, ["Feijoada", "Moqueca Baiana"]) == {"Feijoada": 1}


async def test_realtime_tells_clients_to_reconnect_on_shutdown(
    database: str, servers: ServerUrls, vhost: str
) -> None:
    stack = make_stack(database, servers, vhost)
    proc = processes(stack)["realtime"]
    redis = Redis.from_url(servers.redis)
    search_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    await redis.set(Keys(stack.common.redis_prefix).refresh(search_id), "requested", ex=60)
    try:
        await proc.start()
        async with (
            httpx.AsyncClient(timeout=15) as client,
            client.stream(
                "GET",
                f"http://127.0.0.1:{stack.realtime.port}/events",
                params={"search_id": search_id},
            ) as stream,
        ):
            assert stream.status_code == 200
            stopping = asyncio.create_task(proc.stop(signal.SIGTERM))
            last: SseMessage | None = None
            async for item in sse_messages(stream):
                if isinstance(item, SseMessage) and item.event:
                    last = item
            code = await stopping
    finally:
        await redis.aclose()
    assert last is not None and last.event == "reconnect"
    assert last.retry is not None
    assert code in (0, -signal.SIGTERM)
