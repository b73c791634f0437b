"""Observability: one trace across the asynchronous path (New Relic's agent in developer mode:
no network), logs in context, metrics that follow what happens, and an agent that stays off
and silent without a licence key."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from typing import Any

import aio_pika
import httpx
import pytest
from redis.asyncio import Redis

from pantry_common import SEARCH_QUEUE

from .conftest import make_stack
from .events import SseMessage, sse_messages, stream_events
from .servers import ServerUrls
from .test_e2e import processes, running

pytestmark = pytest.mark.integration

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$")


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            if line[len(name)] in " {":
                return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_the_agent_stays_off_and_silent_without_a_key() -> None:
    code = (
        "import sys, json; from pantry_common import configure_logging, start_agent, "
        "trace_headers; configure_logging('api'); ok = start_agent('api'); "
        "print(json.dumps({'on': ok, 'imported': 'newrelic.agent' in sys.modules, "
        "'headers': trace_headers()}))"
    )
    env = {"PATH": "/usr/bin:/bin"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert lines[-1] == {"on": False, "imported": False, "headers": {}}
    off = [line for line in lines[:-1] if line.get("agent") == "off"]
    assert len(off) == 1 and "NEW_RELIC_LICENSE_KEY" in off[0]["message"]


async def test_one_search_is_one_trace_from_request_to_browser(
    database: str, servers: ServerUrls, vhost: str
) -> None:
    stack = make_stack(database, servers, vhost)
    procs = processes(stack)
    for proc in procs.values():
        proc.env = {**proc.env, "NEW_RELIC_DEVELOPER_MODE": "true"}
    redis = Redis.from_url(servers.redis)
    api_url = f"http://127.0.0.1:{stack.api.port}"
    try:
        async with running(procs["api"]), httpx.AsyncClient(base_url=api_url, timeout=15) as api:
            body = (await api.get("/api/v1/recipes/search", params={"q": "doro wat"})).json()
            assert body["status"] == "refreshing"
            # The message as RabbitMQ holds it, before any consumer: it carries the trace.
            connection = await aio_pika.connect(vhost)
            async with connection:
                channel = await connection.channel()
                queue = await channel.declare_queue(SEARCH_QUEUE, passive=True)
                message = None
                for _ in range(100):
                    message = await queue.get(no_ack=False, fail=False)
                    if message is not None:
                        break
                    await asyncio.sleep(0.05)
                assert message is not None
                headers = {k: str(v) for k, v in (message.headers or {}).items()}
                await message.nack(requeue=True)
            match = TRACEPARENT.match(headers.get("traceparent", ""))
            assert match, headers
            trace_id = match.group(1)
            published = 0.0
            for _ in range(100):  # the queue may hold it a moment before the relay counts it
                outbox_metrics = (await api.get("/metrics")).text
                published = metric(outbox_metrics, "pantry_outbox_published_total")
                if published >= 1:
                    break
                await asyncio.sleep(0.05)
            assert published >= 1

            async with running(procs["realtime"]), httpx.AsyncClient(timeout=30) as client:
                async with client.stream("GET", body["events_url"]) as stream:
                    await running(procs["engine"]).__aenter__()
                    got: list[SseMessage] = []

                    async def read() -> None:
                        async for item in sse_messages(stream):
                            if isinstance(item, SseMessage) and item.event:
                                got.append(item)
                                if item.event == "search.completed":
                                    return

                    await asyncio.wait_for(read(), 30)
                engine_metrics = (
                    await client.get(f"http://127.0.0.1:{stack.engine.port}/metrics")
                ).text
                realtime_metrics = (
                    await client.get(f"http://127.0.0.1:{stack.realtime.port}/metrics")
                ).text
                await procs["engine"].stop()
    finally:
        await redis.aclose()

    events = await _events(servers, stack.common.redis_prefix, body["search_id"])
    traces = {TRACEPARENT.sub(r"\1", e["headers"].get("traceparent", "")) for e in events}
    assert events and traces == {trace_id}
    api_lines = [
        line for line in procs["api"].lines() if line.get("path") == "/api/v1/recipes/search"
    ]
    assert api_lines[0]["trace.id"] == trace_id
    handled = [line for line in procs["engine"].lines() if line.get("message") == "message handled"]
    assert handled and handled[0]["trace.id"] == trace_id
    assert handled[0]["message_id"] and handled[0]["queue"] == SEARCH_QUEUE
    delivered = [
        line for line in procs["realtime"].lines() if line.get("message") == "event delivered"
    ]
    assert delivered and {line["trace.id"] for line in delivered} == {trace_id}
    assert {line["event"] for line in delivered} >= {"search.accepted", "search.completed"}
    # Metrics followed what happened.
    assert (
        metric(engine_metrics, "pantry_engine_message_age_seconds_count", queue=SEARCH_QUEUE) >= 1
    )
    assert (
        metric(engine_metrics, "pantry_engine_messages_total", queue=SEARCH_QUEUE, outcome="done")
        >= 1
    )
    assert metric(realtime_metrics, "pantry_realtime_delivery_lag_seconds_count") >= 2
    assert metric(realtime_metrics, "pantry_realtime_events_delivered_total", kind="sse") >= 2
    # No secret reached a log line.
    for proc in procs.values():
        assert "guest:guest@" not in proc.text and ":pantry@" not in proc.text


async def _events(servers: ServerUrls, prefix: str, search_id: str) -> list[dict[str, Any]]:
    redis = Redis.from_url(servers.redis)
    try:
        return [e.model_dump(mode="json") for e in await stream_events(redis, prefix, search_id)]
    finally:
        await redis.aclose()
