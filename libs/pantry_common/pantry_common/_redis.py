"""The Redis client every service uses."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from ._settings import CommonSettings


def create_redis(settings: CommonSettings, *, url: str | None = None) -> Redis:
    """A client that fails fast: a command never waits on Redis longer than the timeout.

    The pool blocks (briefly) when all its connections are busy rather than failing: a storm
    of requests or reconnecting clients queues for a connection instead of erroring.
    A command on a broken connection (one pooled before Redis restarted) is tried once more, at
    once, on a new connection: without that, each stale connection in the pool failed one
    request after Redis was back. A timeout is never tried again: it stays the longest wait.
    """
    timeout = settings.redis_timeout_seconds
    pool = BlockingConnectionPool.from_url(
        url or str(settings.redis_url),
        max_connections=64,
        timeout=max(2.0, timeout * 4),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        health_check_interval=30,
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections
