"""Asking the engine for more: at most one `search.requested` per search per interval.

The gate is a Redis key per search (`SET NX EX interval`): whoever sets it enqueues the message.
Without Redis the gate is a conditional upsert in PostgreSQL, so concurrent requests still make
one message. The message goes through the outbox, in the same transaction as the bookkeeping.
"""

from __future__ import annotations

import logging
import uuid
from typing import Literal

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ._keys import Keys
from ._lane import offer_request
from ._messages import SEARCH_REQUESTED, Envelope, SearchCriteria, SearchRequested
from ._outbox import enqueue
from ._query import SearchQuery
from ._search import RefreshStatus
from ._telemetry import trace_headers

log = logging.getLogger(__name__)

RefreshState = Literal["requested", "running", "done"]

_PG_GATE = """
INSERT INTO search_refreshes (search_id, requested_at) VALUES ($1, now())
ON CONFLICT (search_id) DO UPDATE SET requested_at = now(), completed_at = NULL
WHERE search_refreshes.requested_at < now() - make_interval(secs => $2)
RETURNING search_id
"""


class RefreshGate:
    def __init__(
        self, pool: asyncpg.Pool, redis: Redis, keys: Keys, *, interval_seconds: int
    ) -> None:
        self.pool = pool
        self.redis = redis
        self.keys = keys
        self.interval_seconds = interval_seconds

    async def _won_in_redis(self, search_id: str) -> tuple[bool, RefreshStatus] | None:
        """(won, status) from Redis, or None when Redis cannot answer."""
        key = self.keys.refresh(search_id)
        try:
            if await self.redis.set(key, "requested", nx=True, ex=self.interval_seconds):
                return True, "refreshing"
            state = await self.redis.get(key)
        except (RedisError, OSError):
            return None
        return False, "complete" if state in (b"done", None) else "refreshing"

    async def request(self, query: SearchQuery) -> RefreshStatus:
        """Enqueue a refresh if none was asked for in the interval; the search's status."""
        search_id = query.search_id
        decided = await self._won_in_redis(search_id)
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                if decided is None:  # Redis away: PostgreSQL decides
                    won = await conn.fetchval(_PG_GATE, search_id, self.interval_seconds)
                    if won is None:
                        done = await conn.fetchval(
                            "SELECT completed_at IS NOT NULL FROM search_refreshes "
                            "WHERE search_id = $1",
                            search_id,
                        )
                        return "complete" if done else "refreshing"
                elif not decided[0]:
                    return decided[1]
                else:
                    await conn.execute(
                        """INSERT INTO search_refreshes (search_id, requested_at)
                           VALUES ($1, now()) ON CONFLICT (search_id)
                           DO UPDATE SET requested_at = now(), completed_at = NULL""",
                        search_id,
                    )
                message = SearchRequested(
                    search_id=uuid.UUID(search_id),
                    criteria=SearchCriteria(**query.criteria()),
                )
                envelope = Envelope.wrap(message, **trace_headers())
                await enqueue(conn, envelope, SEARCH_REQUESTED)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            log.warning("refresh not requested", extra={"error": repr(exc)})
            if decided is not None:  # let the next request try again
                try:
                    await self.redis.delete(self.keys.refresh(search_id))
                except (RedisError, OSError):
                    pass
            return "complete"
        # Committed: the engine may take it ahead of the queue if someone subscribes (not
        # without Redis: the queue alone then).
        if decided is not None:
            try:
                await offer_request(self.redis, self.keys, envelope, self.interval_seconds)
            except (RedisError, OSError) as exc:
                log.warning("refresh not offered to the watched lane", extra={"error": repr(exc)})
        return "refreshing"


async def mark_refresh(
    redis: Redis, pool: asyncpg.Pool | None, keys: Keys, search_id: str, state: RefreshState
) -> None:
    """The engine's side: running when it starts, done when the results are stored."""
    try:
        await redis.set(keys.refresh(search_id), state, xx=True, keepttl=True)
    except (RedisError, OSError) as exc:
        log.warning("refresh state not written", extra={"error": repr(exc)})
    if state == "done" and pool is not None:
        await pool.execute(
            "UPDATE search_refreshes SET completed_at = now() WHERE search_id = $1", search_id
        )
