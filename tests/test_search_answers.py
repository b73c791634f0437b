"""Answers a cook would call right, over the real api, PostgreSQL and Redis (bundled catalogue).

What having a general food covers, how a pantry ranks, filters said in the text, and a typo
corrector that leaves words of the language alone.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pantry_common import FoodVocabulary

pytestmark = pytest.mark.integration

SEARCH = "/api/v1/recipes/search"
ANIMAL = {"meat", "poultry", "fish", "shellfish", "seafood", "gelatin"}


async def search(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await api.get(SEARCH, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def titles(body: dict[str, Any]) -> list[str]:
    return [r["title"] for r in body["results"]]


def result(body: dict[str, Any], title: str) -> dict[str, Any]:
    found = [r for r in body["results"] if r["title"] == title]
    assert found, (title, titles(body))
    recipe: dict[str, Any] = found[0]
    return recipe


def have_used(recipe: dict[str, Any], have: list[str]) -> set[str]:
    """Which of the user's foods the recipe uses (directly, or as what stands for its food)."""
    standing = {s["food"]: s["as"] for s in recipe["substitutes"]}
    return {standing.get(food, food) for food in recipe["used"]} & set(have)


async def recipe_foods(api: httpx.AsyncClient, recipe_id: int) -> list[str]:
    response = await api.get(f"/api/v1/recipes/{recipe_id}")
    assert response.status_code == 200
    return [line["food"] or line["raw"].lower() for line in response.json()["ingredients"]]


# --------------------------------------------------------------------------- what having covers

ASIAN_PANTRY = ["chicken", "garlic", "ginger", "rice", "soy sauce"]


async def test_having_chicken_covers_thighs_breasts_and_drumsticks(
    shared_api: httpx.AsyncClient,
) -> None:
    body = await search(shared_api, have="chicken,rice,soy sauce,garlic,ginger", limit=50)
    found = titles(body)
    for title in ("Chicken Adobo", "Kung Pao Chicken", "Chicken Curry", "Chicken Kyiv"):
        recipe = result(body, title)
        pieces = {"chicken thigh", "chicken breast", "chicken drumstick", "chicken leg"}
        assert not pieces & set(recipe["missing"]), (title, recipe["missing"])
        used_pieces = pieces & set(recipe["used"])
        assert used_pieces, (title, recipe["used"])
        for piece in used_pieces:
            assert {"food": piece, "as": "chicken"} in recipe["substitutes"], recipe
    # The top of the list uses most of the five foods, not garlic alone.
    top = body["results"][0]
    assert len(have_used(top, ASIAN_PANTRY)) >= 4, top
    assert found.index("Chicken Adobo") < found.index("Couve à Mineira")


@pytest.mark.parametrize(
    ("have", "title", "food"),
    [
        ("rice", "Egg Fried Rice", "jasmine rice"),
        ("lentils", "Ethiopian Red Lentil Stew", "red lentil"),
        ("onion", "Ethiopian Red Lentil Stew", "red onion"),
    ],
)
async def test_the_general_food_covers_the_kinds_bought_as_it(
    shared_api: httpx.AsyncClient, have: str, title: str, food: str
) -> None:
    body = await search(shared_api, q=title, have=have)
    recipe = result(body, title)
    assert food in recipe["used"], recipe
    assert food not in recipe["missing"]
    canonical = body["query"]["have"][0]
    assert {"food": food, "as": canonical} in recipe["substitutes"]
    assert recipe["missing_count"] == len(recipe["missing"])


async def test_cheese_does_not_stand_for_parmesan(
    shared_api: httpx.AsyncClient, vocab: FoodVocabulary
) -> None:
    body = await search(shared_api, q="spaghetti carbonara", have="cheese, spaghetti, egg")
    recipe = result(body, "Spaghetti Carbonara")
    named = {"parmesan", "pecorino"} & set(await recipe_foods(shared_api, recipe["id"]))
    assert named
    assert named <= set(recipe["missing"])
    assert "parmesan" not in vocab.interchangeable().get("cheese", [])
    # The other way round holds: having parmesan covers a recipe that asks for "cheese".
    assert "cheese" in vocab.covers("parmesan")


# --------------------------------------------------------------------------- pantry ranking

BAKING = ["butter", "egg", "flour", "milk", "sugar"]


async def test_have_ranks_by_most_used_first_by_default(shared_api: httpx.AsyncClient) -> None:
    body = await search(shared_api, have="eggs,flour,milk,butter,sugar", limit=50)
    assert body["query"]["sort"] == "max_used"
    ranked = [(len(have_used(r, BAKING)), -r["missing_count"]) for r in body["results"]]
    assert ranked == sorted(ranked, reverse=True)
    assert len(have_used(body["results"][0], BAKING)) == 5
    found = titles(body)
    if "Fresh Lemonade" in found:
        lemonade = found.index("Fresh Lemonade")
        assert all(len(have_used(r, BAKING)) < 5 for r in body["results"][lemonade:])


async def test_fewest_missing_is_kept_as_a_sort(shared_api: httpx.AsyncClient) -> None:
    body = await search(
        shared_api, have="eggs,flour,milk,butter,sugar", sort="fewest_missing", limit=30
    )
    assert body["query"]["sort"] == "fewest_missing"
    missing = [r["missing_count"] for r in body["results"]]
    assert missing == sorted(missing)
    assert "Fresh Lemonade" in titles(body)


@pytest.mark.parametrize("q", [None, "chicken"])
@pytest.mark.parametrize("sort", ["fewest_missing", "max_used"])
async def test_a_food_standing_for_two_counts_once_and_misses_none(
    shared_api: httpx.AsyncClient, q: str | None, sort: str
) -> None:
    params: dict[str, Any] = {"have": ",".join(ASIAN_PANTRY), "sort": sort, "limit": 50}
    if q:
        params["q"] = q
    body = await search(shared_api, **params)
    results = body["results"]
    assert results
    for recipe in results:
        assert recipe["missing_count"] == len(recipe["missing"])
    if sort == "fewest_missing":
        ranked = [(r["missing_count"], -len(have_used(r, ASIAN_PANTRY))) for r in results]
        assert ranked == sorted(ranked)
    else:
        ranked = [(-len(have_used(r, ASIAN_PANTRY)), r["missing_count"]) for r in results]
        assert ranked == sorted(ranked)


async def test_most_used_with_text(shared_api: httpx.AsyncClient) -> None:
    body = await search(shared_api, q="curry", have="chicken, onion, garlic", sort="max_used")
    used = [len(r["used"]) for r in body["results"]]
    assert used == sorted(used, reverse=True)
    assert body["results"]


# --------------------------------------------------------------------------- filters in words


async def test_quick_vegetarian_dinner_reads_as_filters(shared_api: httpx.AsyncClient) -> None:
    body = await search(shared_api, q="quick vegetarian dinner", limit=50)
    query = body["query"]
    assert (query["q"], query["diet"], query["max_time"]) == ("dinner", ["vegetarian"], 30)
    assert "Honey Garlic Salmon" not in titles(body)
    assert body["results"]
    for recipe in body["results"]:
        assert "vegetarian" in recipe["diets"]
        assert recipe["total_time_min"] is not None and recipe["total_time_min"] <= 30
    same = await search(shared_api, q="dinner", diet="vegetarian", max_time=30, limit=50)
    assert same["search_id"] == body["search_id"]
    assert same["cache"] == "hit"


async def test_pasta_without_meat_excludes_meat(
    shared_api: httpx.AsyncClient, vocab: FoodVocabulary
) -> None:
    body = await search(shared_api, q="pasta without meat", limit=50)
    assert (body["query"]["q"], body["query"]["exclude"]) == ("pasta", ["meat"])
    assert "corrected_q" not in body
    assert "Harira" not in titles(body)
    assert "Pesto Pasta" in titles(body)
    for recipe in body["results"]:
        for food in await recipe_foods(shared_api, recipe["id"]):
            assert "meat" not in (vocab.closure(food) if food in vocab else {food}), food


@pytest.mark.parametrize(
    ("q", "text", "diet", "exclude", "max_time"),
    [
        ("vegan curry", "curry", ["vegan"], [], None),
        ("gluten-free cake", "cake", ["gluten-free"], [], None),
        ("Dairy Free pancakes", "pancakes", ["dairy-free"], [], None),
        ("nut-free cookies", "cookies", ["nut-free"], [], None),
        ("noodles no peanuts", "noodles", [], ["peanut"], None),
        ("curry without nuts or dairy", "curry", [], ["dairy", "nut"], None),
        ("egg-free cake", "cake", [], ["egg"], None),
        ("soup under 30 minutes", "soup", [], [], 30),
        ("chicken in 1 hour", "chicken", [], [], 60),
        ("30-minute pasta", "pasta", [], [], 30),
        ("no bake cheesecake", "no bake cheesecake", [], [], None),
    ],
)
async def test_filter_words_are_shown_in_the_query(
    shared_api: httpx.AsyncClient,
    q: str,
    text: str,
    diet: list[str],
    exclude: list[str],
    max_time: int | None,
) -> None:
    query = (await search(shared_api, q=q))["query"]
    assert (query["q"], query["diet"], query["exclude"], query["max_time"]) == (
        text,
        diet,
        exclude,
        max_time,
    )


async def test_filters_in_words_join_the_parameters(shared_api: httpx.AsyncClient) -> None:
    body = await search(shared_api, q="vegan curry quick", diet="gluten-free", max_time=20)
    assert body["query"]["diet"] == ["gluten-free", "vegan"]
    assert body["query"]["max_time"] == 20
    for recipe in body["results"]:
        assert {"vegan", "gluten-free"} <= set(recipe["diets"])


async def test_vegan_curry_said_in_words_drops_chicken(shared_api: httpx.AsyncClient) -> None:
    found = titles(await search(shared_api, q="vegan curry", limit=50))
    assert "Chickpea Curry" in found
    assert "Chicken Curry" not in found


# --------------------------------------------------------------------------- the corrector


@pytest.mark.parametrize(
    "q", ["pasta with the chicken", "curry for dinner", "humus", "soup without"]
)
async def test_words_of_the_language_are_never_corrected(
    shared_api: httpx.AsyncClient, q: str
) -> None:
    body = await search(shared_api, q=q)
    assert "corrected_q" not in body, body.get("corrected_q")


async def test_misspelt_foods_are_still_corrected(shared_api: httpx.AsyncClient) -> None:
    body = await search(shared_api, q="chiken curyy for dinner")
    assert body["corrected_q"] == "chicken curry for dinner"
    assert "Chicken Curry" in titles(body)[:3]
