"""Search events on Redis: a pub/sub channel for live clients and a short stream to resume.

One Lua script appends the event to the search's stream (capped, expiring) and publishes it with
its stream id, atomically: a client that resumes from the stream and then listens live sees
every event once, in order.
"""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis

from ._keys import Keys
from ._messages import Event

STREAM_MAXLEN = 500
STREAM_TTL_SECONDS = 3600

_PUBLISH = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', KEYS[2], id .. '\\n' .. ARGV[1])
return id
"""


class EventPublisher:
    def __init__(self, redis: Redis, keys: Keys, *, ttl_seconds: int = STREAM_TTL_SECONDS) -> None:
        self._script = redis.register_script(_PUBLISH)
        self.keys = keys
        self.ttl_seconds = ttl_seconds

    async def publish(self, event: Event) -> str:
        """Append and publish; returns the stream id (the SSE event id)."""
        search_id = str(event.search_id)
        stream_id = await self._script(
            keys=[self.keys.stream(search_id), self.keys.events(search_id)],
            args=[event.model_dump_json(), STREAM_MAXLEN, self.ttl_seconds],
        )
        return stream_id.decode() if isinstance(stream_id, bytes) else str(stream_id)


def split_live(message: bytes) -> tuple[str, bytes]:
    """A pub/sub message is `<stream id>\\n<event json>`."""
    stream_id, _, body = message.partition(b"\n")
    return stream_id.decode(), body


async def read_since(
    redis: Redis, keys: Keys, search_id: str, after: str | None, count: int = STREAM_MAXLEN
) -> list[tuple[str, bytes]]:
    """The events of a search after stream id `after` (all of them when None), oldest first."""
    start = f"({after}" if after else "-"
    entries = await redis.xrange(keys.stream(search_id), min=start, max="+", count=count)
    out: list[tuple[str, bytes]] = []
    for entry_id, fields in entries or []:
        if not fields:
            continue
        ident = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        out.append((ident, cast(bytes, fields[b"e"])))
    return out


def is_stream_id(value: str) -> bool:
    ms, sep, seq = value.partition("-")
    return bool(sep) and ms.isdigit() and seq.isdigit() and len(value) <= 41
