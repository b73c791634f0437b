"""`make seed`: the food vocabulary and the starter part of the bundled catalogue."""

from __future__ import annotations

from pantry_common import (
    ChangeAnnouncer,
    CommonSettings,
    FoodVocabulary,
    Keys,
    create_pool,
    create_redis,
    seed_catalogue,
)


async def seed(common: CommonSettings) -> dict[str, int]:
    """Load, then say what changed: no cached answer hides a recipe the seed added."""
    pool = await create_pool(common, wait_seconds=30)
    try:
        seeded = await seed_catalogue(pool, FoodVocabulary.default())
    finally:
        await pool.close()
    redis = create_redis(common)
    try:
        await ChangeAnnouncer(redis, Keys(common.redis_prefix)).announce(seeded.change)
    finally:
        await redis.aclose()
    return seeded.summary()
