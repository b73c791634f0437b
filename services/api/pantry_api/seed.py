"""`make seed`: the food vocabulary and the starter part of the bundled catalogue."""

from __future__ import annotations

from typing import Any

from pantry_common import CommonSettings, FoodVocabulary, create_pool, seed_catalogue


async def seed(common: CommonSettings) -> dict[str, Any]:
    pool = await create_pool(common, wait_seconds=30)
    try:
        return await seed_catalogue(pool, FoodVocabulary.default())
    finally:
        await pool.close()
