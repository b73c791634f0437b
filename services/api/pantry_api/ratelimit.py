"""Per-client rate limits: a token bucket per client and kind of route, held in Redis.

Every api replica asks the same Redis, so a client has one bucket however its requests are
spread. One script per request refills the bucket by the time elapsed since it was last seen
(Redis' own clock, `TIME`: the replicas' clocks never meet), takes a token if there is one, and
says how long until the next. The bucket expires once it would be full again, so an idle client
costs nothing.

The client is the address the api sees: uvicorn runs with `proxy_headers`, so behind a proxy
it trusts (loopback by default, `FORWARDED_ALLOW_IPS`) it is the client that `X-Forwarded-For`
names, else the peer of the connection.

Redis away or slow (the client's timeout) is not a reason to refuse anyone: the request goes on
unchecked (fails open), is counted in `pantry_rate_limit_fail_open_total`, and Redis is left
alone for the cache's cooldown, the same one that sends searches to PostgreSQL.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError
from starlette.responses import Response
from starlette.types import Scope

from pantry_common import Keys, error_response

from .cache import ResponseCache
from .metrics import RATE_LIMIT_FAIL_OPEN
from .settings import ApiSettings

Kind = Literal["search", "import"]

# KEYS[1] the bucket (hash: t = last seen, ms; n = tokens); ARGV[1] tokens a second, ARGV[2]
# the burst. Returns {1, 0} when a token was taken, else {0, ms until the next token}.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local tokens = burst
local seen = redis.call('HMGET', KEYS[1], 't', 'n')
if seen[1] and seen[2] then
  local elapsed = math.max(0, now - tonumber(seen[1]))
  tokens = math.min(burst, tonumber(seen[2]) + elapsed * rate / 1000)
end
local allowed, wait = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 't', string.format('%.3f', now), 'n', string.format('%.6f', tokens))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return {allowed, wait}
"""


@dataclass(frozen=True, slots=True)
class Limit:
    per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    #: Whole seconds until a token is there again (at least 1) when refused; 0 when allowed.
    retry_after: int = 0

    @classmethod
    def of(cls, raw: Any) -> Decision:
        allowed, wait_ms = (int(v) for v in raw)
        if allowed:
            return cls(True)
        return cls(False, max(1, math.ceil(wait_ms / 1000)))


ALLOWED = Decision(True)


class RateLimiter:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        cache: ResponseCache,
        limits: Mapping[Kind, Limit],
        *,
        enabled: bool = True,
        proxy_hops: int = 0,
    ) -> None:
        self.redis = redis
        self.proxy_hops = proxy_hops
        self.keys = keys
        self.cache = cache  # its cooldown after a Redis failure is the limiter's too
        self.limits = dict(limits)
        self.enabled = enabled
        self._take = redis.register_script(_TAKE)

    @classmethod
    def from_settings(
        cls, redis: Redis, keys: Keys, cache: ResponseCache, settings: ApiSettings
    ) -> RateLimiter:
        limits: dict[Kind, Limit] = {
            "search": Limit(
                settings.rate_limit_search_per_second, settings.rate_limit_search_burst
            ),
            "import": Limit(
                settings.rate_limit_import_per_second, settings.rate_limit_import_burst
            ),
        }
        return cls(
            redis,
            keys,
            cache,
            limits,
            enabled=settings.rate_limit_enabled,
            proxy_hops=settings.rate_limit_proxy_hops,
        )

    def client_of(self, scope: Scope) -> str:
        """Whose bucket a request takes from. Behind `proxy_hops` proxies that each append the
        address they saw to X-Forwarded-For, the client is the entry the outermost one wrote:
        the `proxy_hops`-th from the right (what a client itself sends is to its left, so it
        cannot pick a bucket). Otherwise the address uvicorn gives."""
        if self.proxy_hops:
            forwarded = [
                hop.strip()
                for name, value in scope.get("headers", [])
                if name == b"x-forwarded-for"
                for hop in value.decode("latin-1").split(",")
                if hop.strip()
            ]
            if len(forwarded) >= self.proxy_hops:
                return str(forwarded[-self.proxy_hops])
        client = scope.get("client")
        return str(client[0]) if client else "unknown"

    def _call(self, kind: Kind, client: str) -> tuple[AsyncScript, list[str], list[str]]:
        limit = self.limits[kind]
        return (
            self._take,
            [self.keys.rate(kind, client)],
            [repr(limit.per_second), str(limit.burst)],
        )

    async def take(self, kind: Kind, client: str) -> Decision:
        """Take one token of `client`'s bucket for `kind` (allowed when Redis cannot say)."""
        decision, _ = await self.take_and_get(kind, client, None)
        return decision

    async def take_and_get(
        self, kind: Kind, client: str, cache_key: str | None
    ) -> tuple[Decision, bytes | None]:
        """The decision and, with a `cache_key`, the cached answer (as `ResponseCache.get`
        would give it), in one round trip to Redis."""
        if not self.enabled:
            if cache_key is None:
                return ALLOWED, None
            _, cached = await self.cache.get(cache_key)
            return ALLOWED, cached if isinstance(cached, bytes) else None
        if not self.cache.available:
            RATE_LIMIT_FAIL_OPEN.labels(kind).inc()
            return ALLOWED, None
        calls = [self._call(kind, client)]
        if cache_key is not None:
            calls.append(self.cache.hit_call(cache_key))
        try:
            results = await _run(self.redis, calls)
        except (RedisError, OSError) as exc:
            self.cache.failed(exc)
            RATE_LIMIT_FAIL_OPEN.labels(kind).inc()
            return ALLOWED, None
        # Only a true answer is served here; one to catch up is the route's.
        body = results[1] if cache_key is not None and isinstance(results[1], bytes) else None
        return Decision.of(results[0]), body


async def _run(redis: Redis, calls: list[tuple[AsyncScript, list[str], list[str]]]) -> list[Any]:
    """Scripts in one pipeline (one round trip), by their SHA; loaded again after a Redis
    restart emptied its script cache."""
    for _ in range(2):
        async with redis.pipeline(transaction=False) as pipe:
            for script, keys, args in calls:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            results: list[Any] = await pipe.execute(raise_on_error=False)
        if not any(isinstance(r, NoScriptError) for r in results):
            break
        for script, _, _ in calls:
            await redis.script_load(script.script)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def too_many_requests(kind: Kind, decision: Decision) -> Response:
    seconds = decision.retry_after
    return error_response(
        429,
        f"too many {kind} requests from this client; try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
        limit=kind,
        retry_after=seconds,
    )
