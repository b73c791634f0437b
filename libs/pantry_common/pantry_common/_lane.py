"""The watched lane: a search someone is waiting on goes ahead of the queue.

Every refresh goes through RabbitMQ (the outbox's durable path), first in, first out: after a
burst of distinct searches, a user's search would wait behind all of them. So three small
things beside it, in Redis, each best effort:

- the api, once the refresh's outbox row is committed, keeps the message's envelope under the
  search (`offer_request`, expiring with the refresh interval);
- realtime, when a client subscribes to a search whose refresh still waits (`requested`), pushes
  the search onto a bounded list and marks the search watched (`watch_search`);
- the engine takes from that list beside its queue consumers (`take_watched`) and does the work
  of the same envelope. The queue's copy comes later and finds it done: the id is the consumers'
  idempotency key, so the work is done once whichever copy comes first.

Lose any of it (Redis away, the list trimmed) and the queue still delivers the refresh.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ._keys import Keys
from ._messages import ENVELOPE, Envelope

#: The longest the lane gets: hints past it are dropped (the queue still has the messages).
LANE_LENGTH = 1000
#: How long a subscription marks its search watched.
WATCHED_SECONDS = 600

# KEYS[1] refresh state, KEYS[2] watched mark, KEYS[3] the lane; ARGV[1] search id,
# ARGV[2] the mark's TTL, ARGV[3] the lane's length.
_WATCH = """
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
if redis.call('GET', KEYS[1]) == 'requested' then
  redis.call('LPUSH', KEYS[3], ARGV[1])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
  return 1
end
return 0
"""


async def offer_request(redis: Redis, keys: Keys, envelope: Envelope, ttl_seconds: int) -> None:
    """The api's side: the envelope of a refresh just committed to the outbox."""
    search_id = str(getattr(envelope.payload, "search_id", ""))
    await redis.set(keys.request(search_id), envelope.model_dump_json(), ex=ttl_seconds)


async def watch_search(
    redis: Redis, keys: Keys, search_id: str, ttl_seconds: int = WATCHED_SECONDS
) -> bool:
    """Realtime's side: someone subscribed. True when the search went onto the lane."""
    pushed = await redis.eval(
        _WATCH,
        3,
        keys.refresh(search_id),
        keys.watched(search_id),
        keys.watched_lane,
        search_id,
        ttl_seconds,
        LANE_LENGTH,
    )
    return bool(pushed)


async def take_watched(redis: Redis, keys: Keys, timeout_seconds: float) -> Envelope | None:
    """The engine's side: the next watched search's envelope, waiting up to the timeout;
    None when there is none, or its envelope is gone (expired: the queue has it)."""
    popped = await redis.brpop([keys.watched_lane], timeout=timeout_seconds)
    if popped is None:
        return None
    search_id = popped[1].decode() if isinstance(popped[1], bytes) else str(popped[1])
    body = await redis.get(keys.request(search_id))
    if body is None:
        return None
    return ENVELOPE.validate_json(body)


async def is_watched(redis: Redis, keys: Keys, search_id: str) -> bool:
    """Whether someone subscribed to the search lately; True when Redis cannot tell (a
    refresh is never dropped on a guess)."""
    try:
        return bool(await redis.exists(keys.watched(search_id)))
    except (RedisError, OSError):
        return True
