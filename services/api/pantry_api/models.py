"""Response shapes, for the OpenAPI document and the contract tests.

The search route writes its bytes with orjson (they are cached and served as they are); these
models describe them and the tests validate real responses against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ParameterError(BaseModel):
    parameter: str
    message: str


class ErrorBody(BaseModel):
    error: str
    message: str
    errors: list[ParameterError] | None = None


#: The 429 of the per-client rate limits (`ratelimit.py`), as the routes document it.
TOO_MANY_REQUESTS: dict[str, Any] = {
    "model": ErrorBody,
    "description": "Over this client's rate limit (`PANTRY_API_RATE_LIMIT_*`); try again after "
    "`Retry-After` seconds.",
    "headers": {
        "Retry-After": {
            "description": "Whole seconds until the next request is allowed (at least 1).",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


class NormalisedQuery(BaseModel):
    q: str
    have: list[str]
    exclude: list[str]
    diet: list[str]
    max_time: int | None
    cuisine: str | None
    sort: Literal["relevance", "max_used", "fewest_missing"]
    limit: int
    offset: int


class Substitute(BaseModel):
    food: str
    as_: str = Field(alias="as")


class RecipeSummary(BaseModel):
    id: int
    title: str
    cuisine: str | None
    course: str | None
    total_time_min: int | None
    diets: list[str]
    score: float
    used: list[str] | None = None
    missing: list[str] | None = None
    # With `have`: the recipe's foods that a food the user has stands for ("chicken thigh" as
    # "chicken"; cheese as cheddar), a subset of `used`; and how many are missing.
    substitutes: list[Substitute] | None = None
    missing_count: int | None = None


class SearchResponse(BaseModel):
    search_id: str
    query: NormalisedQuery
    cache: Literal["hit", "delta", "miss", "bypass"]
    status: Literal["refreshing", "complete"]
    events_url: str | None
    total: int
    results: list[RecipeSummary]
    next_cursor: str | None
    corrected_q: str | None = None


class IngredientLine(BaseModel):
    raw: str
    quantity: float | None
    quantity_max: float | None
    unit: str | None
    name: str | None
    food: str | None
    preparation: str | None
    comment: str | None


class RecipeDetail(BaseModel):
    id: int
    slug: str
    title: str
    description: str
    cuisine: str | None
    course: str | None
    keywords: list[str]
    prep_time_min: int | None
    cook_time_min: int | None
    total_time_min: int | None
    recipe_yield: str | None
    diets: list[str]
    diets_stated: bool
    foods: list[str]
    source: str
    canonical_url: str | None
    image_url: str | None
    steps: list[str]
    ingredients: list[IngredientLine]


class ImportRequest(BaseModel):
    url: str


class ImportAccepted(BaseModel):
    job_id: str
    status: Literal["queued", "done", "failed"]
    status_url: str


class ImportJob(BaseModel):
    job_id: str
    url: str
    status: Literal["queued", "done", "failed"]
    recipe_id: int | None
    error: str | None
