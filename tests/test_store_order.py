"""Two engines storing the same recipes at once, in opposite orders, do not deadlock."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from pantry_common import (
    AnalysedRecipe,
    FoodVocabulary,
    analyse_recipe,
    store_recipes,
    upsert_recipe,
)

pytestmark = pytest.mark.integration


def recipe(name: str, vocab: FoodVocabulary) -> AnalysedRecipe:
    return analyse_recipe(
        {
            "@type": "Recipe",
            "name": name,
            "recipeIngredient": ["2 garlic cloves", "1 onion", "1 cup rice"],
            "recipeInstructions": "Cook.",
        },
        source="test",
        vocab=vocab,
    )


async def test_writers_of_the_same_recipes_in_opposite_orders_both_commit(
    database: str, vocab: FoodVocabulary
) -> None:
    first, second = sorted(
        (recipe("Garlic Rice Pilaf", vocab), recipe("Onion Rice Bake", vocab)),
        key=lambda r: r.fingerprint,
    )
    blocker, a, b = [await asyncpg.connect(database) for _ in range(3)]
    try:
        # Holds the first recipe's fingerprint, so that both writers are under way before
        # either can take it: the order each then takes the rest in is what decides.
        held = blocker.transaction()
        await held.start()
        await upsert_recipe(blocker, first)

        async def write(conn: Any, recipes: list[AnalysedRecipe]) -> None:
            async with conn.transaction():
                await store_recipes(conn, recipes)

        forward = asyncio.create_task(write(a, [first, second]))
        await asyncio.sleep(0.3)
        backward = asyncio.create_task(write(b, [second, first]))
        await asyncio.sleep(0.3)
        await held.rollback()
        await asyncio.wait_for(asyncio.gather(forward, backward), 10)
        assert await a.fetchval("SELECT count(*) FROM recipes WHERE source = 'test'") == 2
    finally:
        for conn in (blocker, a, b):
            await conn.close()
