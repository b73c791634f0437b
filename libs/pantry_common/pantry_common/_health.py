"""Dependency checks for readiness endpoints: each names its state and how long it took."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a readiness check needs no database driver unless it has a pool
    import asyncpg
    from redis.asyncio import Redis


async def _timed(check: Any, timeout: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check, timeout)
    except Exception as exc:  # any failure means "down", with its reason
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


async def check_postgres(pool: asyncpg.Pool | None, timeout: float = 1.0) -> dict[str, Any]:
    if pool is None:
        return {"status": "down", "error": "not connected"}
    return await _timed(pool.fetchval("SELECT 1"), timeout)


async def check_redis(redis: Redis | None, timeout: float = 1.0) -> dict[str, Any]:
    if redis is None:
        return {"status": "down", "error": "not connected"}
    return await _timed(redis.ping(), timeout)
