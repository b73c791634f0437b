"""What the lifespan opens and the routes use: one instance per app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.asyncio import Redis

from pantry_common import (
    CommonSettings,
    FoodVocabulary,
    Keys,
    OutboxRelay,
    Pool,
    RefreshGate,
)

from .cache import ResponseCache
from .ratelimit import RateLimiter
from .settings import ApiSettings

T = TypeVar("T")


@dataclass
class AppState:
    common: CommonSettings
    settings: ApiSettings
    vocab: FoodVocabulary
    pool: Pool
    redis: Redis
    cache: ResponseCache
    keys: Keys
    relay: OutboxRelay
    gate: RefreshGate
    limiter: RateLimiter
    _inflight: dict[str, asyncio.Future[Any]] = field(default_factory=dict)

    def events_url(self, search_id: str) -> str:
        return f"{self.settings.events_url}?search_id={search_id}"

    async def single_flight(self, key: str, produce: Callable[[], Awaitable[T]]) -> T:
        """Concurrent misses of one key share one database query."""
        pending = self._inflight.get(key)
        if pending is not None:
            result: T = await asyncio.shield(pending)
            return result
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await produce()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._inflight[key]
