"""What the Pantry Chef services share: settings, the data model, search, clients and telemetry."""

from ._cache import ResponseCache, create_redis
from ._db import Pool, create_pool
from ._foods import STAPLES, Diet, FoodVocabulary, derive_diets, normalise_text
from ._health import check_postgres, check_redis
from ._ingredients import ParsedIngredient, parse_ingredient
from ._logging import configure_logging, log_fields
from ._metrics import CACHE_RESULTS, HTTP_LATENCY, metrics_payload
from ._migrations import upgrade as migrate
from ._query import (
    MAX_FOODS,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    QueryError,
    SearchQuery,
    build_query,
)
from ._recipes import AnalysedRecipe, RecipeError, analyse_recipe, catalogue_documents
from ._search import CacheState, SearchPage, render_search, search_recipes
from ._settings import CommonSettings
from ._store import StoredRecipe, seed_catalogue, store_all, sync_vocabulary, upsert_recipe

__all__ = [
    "CACHE_RESULTS",
    "HTTP_LATENCY",
    "MAX_FOODS",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "STAPLES",
    "AnalysedRecipe",
    "CacheState",
    "CommonSettings",
    "Diet",
    "FoodVocabulary",
    "ParsedIngredient",
    "Pool",
    "QueryError",
    "RecipeError",
    "ResponseCache",
    "SearchPage",
    "SearchQuery",
    "StoredRecipe",
    "analyse_recipe",
    "build_query",
    "catalogue_documents",
    "check_postgres",
    "check_redis",
    "configure_logging",
    "create_pool",
    "create_redis",
    "derive_diets",
    "log_fields",
    "metrics_payload",
    "migrate",
    "normalise_text",
    "parse_ingredient",
    "render_search",
    "search_recipes",
    "seed_catalogue",
    "store_all",
    "sync_vocabulary",
    "upsert_recipe",
]
