"""Redis: the client, and the response cache that degrades to a bypass when Redis is away."""

from __future__ import annotations

import logging
import time
from typing import cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ._keys import Keys
from ._settings import CommonSettings

log = logging.getLogger(__name__)


def create_redis(settings: CommonSettings, *, url: str | None = None) -> Redis:
    """A client that fails fast: a command never waits on Redis longer than the timeout.

    The pool blocks (briefly) when all its connections are busy rather than failing: a storm
    of requests or reconnecting clients queues for a connection instead of erroring.
    redis-py reconnects by itself on the next command once the server is back.
    """
    timeout = settings.redis_timeout_seconds
    pool = BlockingConnectionPool.from_url(
        url or str(settings.redis_url),
        max_connections=64,
        timeout=max(2.0, timeout * 4),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections


class ResponseCache:
    """Cached response bytes under `<prefix>:v<n>:search:<digest>`, with a TTL.

    After a Redis failure the cache is skipped for `cooldown` seconds (answers come from
    PostgreSQL, marked `bypass`), then tried again: no restart is needed when Redis returns.
    """

    def __init__(
        self, redis: Redis, keys: Keys, *, ttl_seconds: int, cooldown_seconds: float = 1.0
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl_seconds = ttl_seconds
        self.cooldown_seconds = cooldown_seconds
        self._down_until = 0.0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        if self.available:
            log.warning("redis unavailable, bypassing the cache", extra={"error": repr(exc)})
        self._down_until = time.monotonic() + self.cooldown_seconds

    async def get(self, key: str) -> tuple[bool, bytes | None]:
        """(usable, value): usable is False when Redis could not be asked."""
        if not self.available:
            return False, None
        try:
            value = await self.redis.get(key)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return False, None
        return True, cast(bytes | None, value)  # decode_responses is off: bytes

    async def set(self, key: str, value: bytes, *, search_id: str) -> bool:
        """Store a response, and remember its key among its search's (for invalidation)."""
        if not self.available:
            return False
        index = self.keys.search_keys(search_id)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(key, value, ex=self.ttl_seconds)
                pipe.sadd(index, key)
                pipe.expire(index, self.ttl_seconds)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return False
        return True

    async def replace_search(self, search_id: str, key: str, value: bytes) -> None:
        """The engine's refresh: drop every cached page of the search, store the fresh one.

        Raises RedisError: the engine retries the message rather than leave stale pages.
        """
        index = self.keys.search_keys(search_id)
        stale = [k for k in await self.redis.smembers(index) if k != key.encode()]
        async with self.redis.pipeline(transaction=True) as pipe:
            if stale:
                pipe.delete(*stale)
            pipe.set(key, value, ex=self.ttl_seconds)
            pipe.delete(index)
            pipe.sadd(index, key)
            pipe.expire(index, self.ttl_seconds)
            await pipe.execute()
