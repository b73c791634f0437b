"""TheMealDB's JSON API: search by name, or by a main ingredient, then look each meal up.

Meals become schema.org Recipe documents; the canonical URL is the meal's page on TheMealDB,
so the same meal found twice is stored once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from pantry_common import SearchCriteria

from ._base import Candidate, SourceError

PAGE = "https://www.themealdb.com/meal/{id}"


def meal_to_recipe(meal: dict[str, Any]) -> dict[str, Any]:
    """One TheMealDB meal as a schema.org Recipe document."""
    lines = []
    for i in range(1, 21):
        ingredient = (meal.get(f"strIngredient{i}") or "").strip()
        measure = (meal.get(f"strMeasure{i}") or "").strip()
        if ingredient:
            lines.append(f"{measure} {ingredient}".strip())
    steps = [s.strip() for s in (meal.get("strInstructions") or "").splitlines() if s.strip()]
    tags = meal.get("strTags") or ""
    return {
        "@context": "https://schema.org",
        "@type": "Recipe",
        "identifier": f"themealdb-{meal.get('idMeal')}",
        "name": meal.get("strMeal") or "",
        "recipeCuisine": meal.get("strArea") or None,
        "recipeCategory": meal.get("strCategory") or None,
        "keywords": tags,
        "recipeIngredient": lines,
        "recipeInstructions": [{"@type": "HowToStep", "text": s} for s in steps],
        "image": meal.get("strMealThumb"),
    }


class TheMealDbSource:
    name = "themealdb"

    def __init__(self, base_url: str, key: str, client: httpx.AsyncClient) -> None:
        self.base = f"{base_url.rstrip('/')}/{key}"
        self.client = client

    async def _get(self, endpoint: str, **params: str) -> list[dict[str, Any]]:
        try:
            response = await self.client.get(f"{self.base}/{endpoint}", params=params)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SourceError(f"TheMealDB {endpoint}: {type(exc).__name__}") from exc
        meals = data.get("meals") if isinstance(data, dict) else None
        if meals is None or not isinstance(meals, list):
            return []  # TheMealDB answers {"meals": null} when nothing matches
        return [m for m in meals if isinstance(m, dict)]

    async def search(self, criteria: SearchCriteria, limit: int) -> list[Candidate]:
        if criteria.q:
            meals = await self._get("search.php", s=criteria.q)
        elif criteria.have:
            listed = await self._get("filter.php", i=criteria.have[0].replace(" ", "_"))
            ids = [str(m.get("idMeal")) for m in listed[:limit] if m.get("idMeal")]
            looked_up = await asyncio.gather(*(self._get("lookup.php", i=i) for i in ids))
            meals = [m for found in looked_up for m in found]
        else:
            return []
        out = []
        for meal in meals[:limit]:
            if not meal.get("idMeal") or not meal.get("strMeal"):
                continue
            out.append(
                Candidate(
                    doc=meal_to_recipe(meal),
                    source=self.name,
                    canonical_url=PAGE.format(id=meal["idMeal"]),
                )
            )
        return out
