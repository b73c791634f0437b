"""The api's cache of search answers: it alone writes, reads and expires them.

An answer is a Redis hash: the response bytes (`b`), the catalogue clock read before it was
computed (`c`), the terms it depends on (`t`, one a line), while its search is refreshing the
search id (`r`), and what it was computed from (`s` the PostgreSQL snapshot, `i` its page's
recipe ids, `n` its total, `w` whether its text matches had every word: `pantry_common.Basis`).
One script reads it on a hit: the bytes come back only if no term has been stamped after the
clock (no stored recipe can change the answer) and, for an answer that says `refreshing`, only
while the refresh is still running. Else, when it has a basis, the basis comes back, and the
route brings the page up to date with the recipes written since (`pantry_common.catch_up`, a
few rows: `delta`); without one it is a miss, and the route computes the answer anew. What
changes the catalogue only stamps terms (`pantry_common.ChangeAnnouncer`): it never learns
what is cached.

After a Redis failure the cache is skipped for `cooldown` seconds (answers come from
PostgreSQL, marked `bypass`), then tried again: no restart is needed when Redis returns. The
rate limiter (`ratelimit.py`) shares this cooldown: one outage, one way of living with it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from pantry_common import (
    WORDS_TAG,
    Basis,
    FoodVocabulary,
    Keys,
    SearchPage,
    SearchQuery,
    food_tag,
    have_kinds,
    lexeme_tag,
    text_lexemes,
)

log = logging.getLogger(__name__)

# KEYS[1] the answer; ARGV[1] the stamp key prefix, ARGV[2] the refresh key prefix.
_HIT = """
local e = redis.call('HMGET', KEYS[1], 'b', 'c', 't', 'r', 's', 'i', 'n', 'w')
if not e[1] then return false end
local fresh = true
if e[4] and e[4] ~= '' then
  local state = redis.call('GET', ARGV[2] .. e[4])
  if state ~= 'requested' and state ~= 'running' then fresh = false end
end
if fresh and e[3] and e[3] ~= '' then
  local names = {}
  for tag in string.gmatch(e[3], '[^\\n]+') do names[#names + 1] = ARGV[1] .. tag end
  local clock = tonumber(e[2])
  local stamps = redis.call('MGET', unpack(names))
  for i = 1, #stamps do
    if stamps[i] and tonumber(stamps[i]) > clock then fresh = false; break end
  end
end
if fresh then return e[1] end
if e[5] and e[5] ~= '' then return {e[5], e[6], e[7], e[8]} end
return false
"""

Cached = bytes | Basis | None


def cached_value(value: Any) -> Cached:
    """What the script gave: the bytes of a true answer, the basis of one to catch up, or
    nothing."""
    if value is None or isinstance(value, bytes):
        return value
    snapshot, ids, total, all_words = (v.decode() for v in value)
    return Basis(
        snapshot=snapshot,
        ids=[int(i) for i in ids.split(",")],
        total=int(total),
        all_words=None if all_words == "" else all_words == "1",
    )


async def answer_tags(
    conn: asyncpg.Pool | asyncpg.Connection[Any],
    query: SearchQuery,
    page: SearchPage,
    vocab: FoodVocabulary,
) -> list[str]:
    """The terms an answer depends on: a recipe can only enter, leave or move in it by one.

    With text, recipes match by the lexemes of the (corrected) words, and a correction can
    change when a new word is known; with foods alone, by the foods that `have` covers.
    """
    if not query.text:
        return [food_tag(food) for food in have_kinds(query, vocab)]
    lexemes = await text_lexemes(conn, f"{query.text} {page.corrected or ''}")
    tags = [lexeme_tag(lexeme) for lexeme in lexemes]
    if page.corrected != query.text:
        tags.append(WORDS_TAG)
    return tags


class ResponseCache:
    def __init__(
        self, redis: Redis, keys: Keys, *, ttl_seconds: int, cooldown_seconds: float = 1.0
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl_seconds = ttl_seconds
        self.cooldown_seconds = cooldown_seconds
        self._down_until = 0.0
        self._hit = redis.register_script(_HIT)
        self._args = [keys.stamp(""), keys.refresh("")]

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self, exc: Exception) -> None:
        """Redis could not be asked: skip it for the cooldown."""
        if self.available:
            log.warning("redis unavailable, bypassing the cache", extra={"error": repr(exc)})
        self._down_until = time.monotonic() + self.cooldown_seconds

    def hit_call(self, key: str) -> tuple[AsyncScript, list[str], list[str]]:
        """The script call of `get`, for a caller that sends it in a pipeline with others."""
        return self._hit, [key], self._args

    async def get(self, key: str) -> tuple[bool, Cached]:
        """(usable, value): usable is False when Redis could not be asked; the value is the
        answer's bytes, the basis of one no longer true that can be caught up, or None."""
        if not self.available:
            return False, None
        try:
            value = await self._hit(keys=[key], args=self._args)
        except (RedisError, OSError) as exc:
            self.failed(exc)
            return False, None
        return True, cached_value(value)  # decode_responses is off: bytes

    async def clock(self) -> int | None:
        """The catalogue clock, read before an answer is computed; None: do not cache it."""
        if not self.available:
            return None
        try:
            value = await self.redis.get(self.keys.clock)
        except (RedisError, OSError) as exc:
            self.failed(exc)
            return None
        return int(value or 0)

    async def set(
        self,
        key: str,
        value: bytes,
        *,
        clock: int,
        tags: list[str],
        refreshing: str | None,
        basis: Basis | None = None,
    ) -> bool:
        """Store an answer computed after `clock` was read, with the terms it depends on,
        when it says `refreshing` the search whose refresh it waits for, and what it was
        computed from (None: it cannot be caught up, only computed anew)."""
        fields: dict[FieldT, EncodableT] = {
            "b": value,
            "c": clock,
            "t": "\n".join(tags),
            "r": refreshing or "",
            "s": "",
            "i": "",
            "n": "",
            "w": "",
        }
        if basis is not None:
            fields.update(
                s=basis.snapshot,
                i=",".join(map(str, basis.ids)),
                n=basis.total,
                w="" if basis.all_words is None else int(basis.all_words),
            )
        if not self.available:
            return False
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                pipe.hset(key, mapping=fields)
                pipe.expire(key, self.ttl_seconds)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self.failed(exc)
            return False
        return True
