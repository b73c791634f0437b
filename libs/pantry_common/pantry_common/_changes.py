"""What changed in the catalogue: said by whoever stores recipes, read by the api's cache.

Storing recipes ticks one catalogue clock (a Redis counter) and stamps each term the recipes
touch with the tick: the lexemes of their search documents (before and after, for an update),
their foods, and `words` when they bring a word that the typo correction did not know. A cached
answer keeps the clock read before it was computed and the terms it depends on; it is good while
none of those terms has a later stamp. The writer never learns what is cached, or for how long.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

if TYPE_CHECKING:
    import asyncpg

from ._keys import Keys

#: A stamp outlives any cached answer that could depend on it (the api caps its TTL below this).
STAMP_TTL_SECONDS = 7 * 86_400

#: The tag of answers whose words were corrected (or dropped): a new known word may change them.
WORDS_TAG = "words"


def lexeme_tag(lexeme: str) -> str:
    return f"l:{lexeme}"


def food_tag(food: str) -> str:
    return f"f:{food}"


class CatalogueChange(BaseModel):
    """The terms that stored recipes touched: every answer they can change shares one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lexemes: list[str] = []
    foods: list[str] = []
    new_words: bool = False

    @property
    def empty(self) -> bool:
        return not (self.lexemes or self.foods or self.new_words)

    def merge(self, other: CatalogueChange) -> CatalogueChange:
        return CatalogueChange(
            lexemes=sorted({*self.lexemes, *other.lexemes}),
            foods=sorted({*self.foods, *other.foods}),
            new_words=self.new_words or other.new_words,
        )

    def tags(self) -> list[str]:
        tags = [lexeme_tag(x) for x in self.lexemes] + [food_tag(f) for f in self.foods]
        return [*tags, WORDS_TAG] if self.new_words else tags


# KEYS[1] the clock; ARGV[1] the stamp key prefix, ARGV[2] the stamp TTL, ARGV[3..] the tags.
_ANNOUNCE = """
local clock = redis.call('INCR', KEYS[1])
for i = 3, #ARGV do
  redis.call('SET', ARGV[1] .. ARGV[i], clock, 'EX', ARGV[2])
end
return clock
"""


class ChangeAnnouncer:
    """The writer's side: `announce` after the recipes are committed, before saying "done"."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._script = redis.register_script(_ANNOUNCE)
        self.keys = keys

    async def announce(self, change: CatalogueChange) -> int | None:
        """Stamp the change's terms; the new clock. Raises RedisError (the caller retries)."""
        if change.empty:
            return None
        tags = change.tags()
        clock: Any = None
        # Large changes (a seed) in slices: one script call never holds Redis for long.
        for start in range(0, len(tags), 500):
            clock = await self._script(
                keys=[self.keys.clock],
                args=[self.keys.stamp(""), STAMP_TTL_SECONDS, *tags[start : start + 500]],
            )
        return int(clock)


async def text_lexemes(conn: asyncpg.Pool | asyncpg.Connection[Any], text: str) -> list[str]:
    """The lexemes a search text matches by, as PostgreSQL's `english` configuration makes
    them: the same function that made the recipes' documents, so both sides agree."""
    if not text.strip():
        return []
    found = await conn.fetchval("SELECT tsvector_to_array(to_tsvector('english', $1::text))", text)
    return list(found or [])
