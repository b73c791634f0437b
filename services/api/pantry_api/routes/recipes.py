"""`GET /api/v1/recipes/{id}`: one whole recipe with its parsed ingredient lines."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from ..deps import API_PREFIX, State
from ..errors import postgres_required
from ..models import ErrorBody, IngredientLine, RecipeDetail

router = APIRouter(prefix=API_PREFIX, tags=["recipes"])

_RECIPE = """
SELECT id, slug, title, description, cuisine, course, keywords, prep_time_min, cook_time_min,
       total_time_min, yield AS recipe_yield, diets, diets_stated, foods, source, canonical_url,
       image_url, steps
FROM recipes WHERE id = $1
"""
_LINES = """
SELECT raw, quantity, quantity_max, unit, name, food, preparation, comment
FROM ingredient_lines WHERE recipe_id = $1 ORDER BY position
"""


@router.get(
    "/recipes/{recipe_id}",
    response_model=RecipeDetail,
    responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def get_recipe(
    state: State, recipe_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> RecipeDetail:
    with postgres_required():
        async with state.pool.acquire() as conn:
            row = await conn.fetchrow(_RECIPE, recipe_id)
            lines = await conn.fetch(_LINES, recipe_id) if row else []
    if row is None:
        raise HTTPException(404, f"no recipe with id {recipe_id}")
    return RecipeDetail(**dict(row), ingredients=[IngredientLine(**dict(line)) for line in lines])
