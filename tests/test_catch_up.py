"""Cached answers brought up to date with the recipes stored since (`X-Cache: delta`).

Each answer is checked against the same search asked of an api with an empty cache: the
catch-up must give exactly what a full search gives, or be a full search itself.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from pantry_common import (
    ChangeAnnouncer,
    FoodVocabulary,
    Keys,
    analyse_recipe,
    build_query,
    catalogue_documents,
    upsert_recipe,
)

from .conftest import api_server, settings_for
from .servers import ServerUrls

pytestmark = pytest.mark.integration

SEARCH = "/api/v1/recipes/search"
PANTRY = {"have": "chicken,rice,garlic", "limit": "10"}


def dish(name: str, lines: list[str], url: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Recipe",
        "name": name,
        "description": f"{name}, as a test stores it.",
        "recipeCuisine": "Testish",
        "recipeCategory": "Main",
        "totalTime": "PT30M",
        "recipeIngredient": lines,
        "recipeInstructions": [{"@type": "HowToStep", "text": "Cook it all together."}],
    }
    if url:
        doc["url"] = url
    return doc


# Only what the pantry has: the best a pantry search can rank.
ALL_THREE = dish(
    "Zesty Garlic Chicken Rice Bowl",
    ["2 chicken thighs", "1 cup jasmine rice", "4 garlic cloves"],
)
# Garlic among many foods the pantry lacks: a match that ranks low.
LONG_LIST = dish(
    "Grand Garlic Feast",
    [
        "1 garlic clove",
        "1 aubergine",
        "2 courgettes",
        "1 fennel bulb",
        "1 celeriac",
        "200 g chickpeas",
        "1 lemon",
        "1 bunch parsley",
        "1 bunch mint",
        "2 tablespoons tahini",
        "1 teaspoon sumac",
        "1 teaspoon cumin",
        "100 g feta",
        "50 g walnuts",
        "1 pomegranate",
    ],
)


async def store(database: str, redis: Redis, prefix: str, docs: list[dict[str, Any]]) -> None:
    """What the engine does with recipes it found: store them, then announce the change."""
    conn = await asyncpg.connect(database)
    try:
        announcer = ChangeAnnouncer(redis, Keys(prefix))
        for doc in docs:
            recipe = analyse_recipe(doc, source="test", vocab=VOCAB, canonical_url=doc.get("url"))
            stored = await upsert_recipe(conn, recipe)
            await announcer.announce(stored.change)
    finally:
        await conn.close()


# The bundled feed's dishes, none of them in the seeded catalogue (read once, not in the loop).
FEED = list(catalogue_documents("feed"))
VOCAB = FoodVocabulary.default()


async def truth(database: str, servers: ServerUrls, params: dict[str, str]) -> dict[str, Any]:
    """The answer of an api whose cache is empty: a full search."""
    async with api_server(settings_for(database, servers)) as fresh:
        response = await fresh.get(SEARCH, params=params)
    assert response.headers["x-cache"] == "miss"
    body: dict[str, Any] = response.json()
    return body


def same_answer(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["total"] == want["total"]
    assert got["results"] == want["results"]
    assert got["next_cursor"] == want["next_cursor"]


async def cached(api: httpx.AsyncClient, params: dict[str, str]) -> dict[str, Any]:
    await api.get(SEARCH, params=params)
    response = await api.get(SEARCH, params=params)
    assert response.headers["x-cache"] == "hit"
    body: dict[str, Any] = response.json()
    return body


async def settled(redis: Redis, prefix: str, *queries: dict[str, str]) -> None:
    """Refreshed a moment ago: the answers ask the engine nothing and say `complete`."""
    for params in queries:
        search_id = build_query(VOCAB, q=params.get("q"), have=params.get("have")).search_id
        await redis.set(Keys(prefix).refresh(search_id), "done", ex=300)


async def test_a_pantry_answer_takes_in_new_recipes_as_a_full_search_would(
    database: str, servers: ServerUrls, redis: Redis
) -> None:
    common = settings_for(database, servers)
    await settled(redis, common.redis_prefix, PANTRY)
    async with api_server(common) as api:
        before = await cached(api, PANTRY)
        await store(database, redis, common.redis_prefix, [ALL_THREE, LONG_LIST, *FEED])
        response = await api.get(SEARCH, params=PANTRY)
        assert response.headers["x-cache"] == "delta"
        body = response.json()
        assert body["cache"] == "delta"
        assert body["results"][0]["title"] == ALL_THREE["name"]
        assert body["total"] > before["total"]
        same_answer(body, await truth(database, servers, PANTRY))
        again = await api.get(SEARCH, params=PANTRY)
        assert again.headers["x-cache"] == "hit"
        assert again.content == response.content.replace(b'"cache":"delta"', b'"cache":"hit"')


async def test_a_later_page_is_searched_anew_when_a_new_recipe_pushes_it_along(
    database: str, servers: ServerUrls, redis: Redis
) -> None:
    common = settings_for(database, servers)
    await settled(redis, common.redis_prefix, PANTRY)
    async with api_server(common) as api:
        cursor = (await api.get(SEARCH, params=PANTRY)).json()["next_cursor"]
        assert cursor
        second = {**PANTRY, "cursor": cursor}
        await cached(api, second)
        # Ranked below the page's first recipe: the page takes it in, or not, by itself.
        await store(database, redis, common.redis_prefix, [LONG_LIST])
        below = await api.get(SEARCH, params=second)
        assert below.headers["x-cache"] == "delta"
        same_answer(below.json(), await truth(database, servers, second))
        await cached(api, second)
        # Ranked first: every later page moves along by one, which only a full search knows.
        await store(database, redis, common.redis_prefix, [ALL_THREE])
        pushed = await api.get(SEARCH, params=second)
        assert pushed.headers["x-cache"] == "miss"
        same_answer(pushed.json(), await truth(database, servers, second))


async def test_a_recipe_that_changed_makes_a_full_search(
    database: str, servers: ServerUrls, redis: Redis
) -> None:
    """A recipe written again (here: with none of the pantry's foods any more) may leave or
    move in any answer: no catch-up."""
    common = settings_for(database, servers)
    url = "https://recipes.example/garlic-soup"
    await settled(redis, common.redis_prefix, PANTRY)
    await store(
        database,
        redis,
        common.redis_prefix,
        [dish("Garlic Soup", ["6 garlic cloves", "2 chicken thighs", "1 cup rice"], url)],
    )
    async with api_server(common) as api:
        before = await cached(api, PANTRY)
        assert "Garlic Soup" in [r["title"] for r in before["results"]]
        await store(database, redis, common.redis_prefix, [dish("Garlic Soup", ["1 leek"], url)])
        response = await api.get(SEARCH, params=PANTRY)
        assert response.headers["x-cache"] == "miss"
        body = response.json()
        assert "Garlic Soup" not in [r["title"] for r in body["results"]]
        assert body["total"] == before["total"] - 1
        same_answer(body, await truth(database, servers, PANTRY))


async def test_a_text_answer_takes_in_new_recipes_as_a_full_search_would(
    database: str, servers: ServerUrls, redis: Redis
) -> None:
    common = settings_for(database, servers)
    text = {"q": "chicken", "limit": "10"}
    await settled(redis, common.redis_prefix, text)
    async with api_server(common) as api:
        before = await cached(api, text)
        await store(database, redis, common.redis_prefix, [ALL_THREE, LONG_LIST])
        response = await api.get(SEARCH, params=text)
        assert response.headers["x-cache"] == "delta"
        body = response.json()
        assert body["total"] == before["total"] + 1
        same_answer(body, await truth(database, servers, text))


async def test_words_that_all_match_only_now_make_a_full_search(
    database: str, servers: ServerUrls, redis: Redis
) -> None:
    """No recipe had every word, so the answer held those with some; the first with all of
    them changes which recipes match at all."""
    common = settings_for(database, servers)
    text = {"q": "zesty chicken bowl"}
    await settled(redis, common.redis_prefix, text)
    async with api_server(common) as api:
        before = await cached(api, text)
        assert before["results"] and ALL_THREE["name"] not in [
            r["title"] for r in before["results"]
        ]
        await store(database, redis, common.redis_prefix, [ALL_THREE])
        response = await api.get(SEARCH, params=text)
        assert response.headers["x-cache"] == "miss"
        body = response.json()
        assert body["results"][0]["title"] == ALL_THREE["name"]
        same_answer(body, await truth(database, servers, text))
