"""The bare baseline for the cache-hit benchmark: a minimal ASGI app, one Redis GET, the bytes."""

from __future__ import annotations

import os
from typing import Any

from redis.asyncio import Redis

KEY = os.environ.get("BASELINE_KEY", "bench:baseline")
redis = Redis.from_url(os.environ.get("PANTRY_REDIS_URL", "redis://127.0.0.1:6379/0"))


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await redis.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = await redis.get(KEY) or b"{}"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"x-cache", b"hit")],
        }
    )
    await send({"type": "http.response.body", "body": body})
