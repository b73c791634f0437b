"""Reading a search's events the way clients do: the Redis stream, and SSE over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis

from pantry_common import EVENT, Event, Keys, read_since


async def stream_events(redis: Redis, prefix: str, search_id: str) -> list[Event]:
    entries = await read_since(redis, Keys(prefix), search_id, None)
    return [EVENT.validate_json(body) for _, body in entries]


async def wait_for_event(
    redis: Redis, prefix: str, search_id: str, kind: str, timeout: float = 30
) -> list[Event]:
    """Every event of the search once one of type `kind` has arrived."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        events = await stream_events(redis, prefix, search_id)
        if any(e.type == kind for e in events):
            return events
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} for {search_id}; got {[e.type for e in events]}")


@dataclass
class SseMessage:
    id: str | None
    event: str | None
    data: str
    retry: int | None = None

    def json(self) -> Any:
        return orjson.loads(self.data)


async def sse_messages(response: httpx.Response) -> AsyncIterator[SseMessage | str]:
    """Parse an SSE body as it arrives: messages, and comment lines (heartbeats) as str."""
    fields: dict[str, str] = {}
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data or fields:
                retry = fields.get("retry")
                yield SseMessage(
                    fields.get("id"),
                    fields.get("event"),
                    "\n".join(data),
                    int(retry) if retry else None,
                )
            fields, data = {}, []
        elif line.startswith(":"):
            yield line
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            else:
                fields[name] = value
