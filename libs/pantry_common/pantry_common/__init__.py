"""What the Pantry Chef services share: settings, the data model, search, clients and telemetry."""

from ._cache import ResponseCache, create_redis
from ._db import Pool, create_pool, is_unavailable
from ._events import EventPublisher, is_stream_id, read_since, split_live
from ._foods import STAPLES, Diet, FoodVocabulary, derive_diets, normalise_text
from ._health import check_postgres, check_redis
from ._ingredients import ParsedIngredient, parse_ingredient
from ._keys import Keys
from ._logging import configure_logging, log_fields
from ._messages import (
    ENVELOPE,
    EVENT,
    EVENT_TYPES,
    RECIPE_IMPORT,
    SEARCH_REQUESTED,
    AcceptedData,
    CompletedData,
    Envelope,
    Event,
    EventType,
    FailedData,
    RecipeFound,
    RecipeImport,
    ResultsData,
    SearchCriteria,
    SearchRequested,
    SourceOutcome,
)
from ._metrics import CACHE_RESULTS, HTTP_LATENCY, metrics_payload
from ._migrations import head_revision
from ._migrations import upgrade as migrate
from ._outbox import OutboxRelay, enqueue
from ._query import (
    MAX_FOODS,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    QueryError,
    SearchQuery,
    build_query,
)
from ._rabbit import (
    EXCHANGE,
    IMPORT_QUEUE,
    SEARCH_QUEUE,
    Topology,
    dead_letter_queue,
    declare_topology,
    retry_queue,
    to_message,
)
from ._recipes import AnalysedRecipe, RecipeError, analyse_recipe, catalogue_documents
from ._refresh import RefreshGate, mark_refresh
from ._search import CacheState, RefreshStatus, SearchPage, render_search, search_recipes
from ._settings import CommonSettings
from ._store import StoredRecipe, seed_catalogue, store_all, sync_vocabulary, upsert_recipe

__all__ = [
    "ENVELOPE",
    "EVENT",
    "ResponseCache",
    "create_redis",
    "Pool",
    "create_pool",
    "is_unavailable",
    "head_revision",
    "EventPublisher",
    "is_stream_id",
    "read_since",
    "split_live",
    "STAPLES",
    "Diet",
    "FoodVocabulary",
    "derive_diets",
    "normalise_text",
    "check_postgres",
    "check_redis",
    "ParsedIngredient",
    "parse_ingredient",
    "configure_logging",
    "log_fields",
    "Keys",
    "EVENT_TYPES",
    "RECIPE_IMPORT",
    "SEARCH_REQUESTED",
    "AcceptedData",
    "CompletedData",
    "Envelope",
    "Event",
    "EventType",
    "FailedData",
    "RecipeFound",
    "RecipeImport",
    "ResultsData",
    "SearchCriteria",
    "SearchRequested",
    "SourceOutcome",
    "CACHE_RESULTS",
    "HTTP_LATENCY",
    "metrics_payload",
    "migrate",
    "OutboxRelay",
    "enqueue",
    "MAX_FOODS",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "QueryError",
    "SearchQuery",
    "build_query",
    "EXCHANGE",
    "IMPORT_QUEUE",
    "SEARCH_QUEUE",
    "Topology",
    "dead_letter_queue",
    "declare_topology",
    "retry_queue",
    "to_message",
    "AnalysedRecipe",
    "RecipeError",
    "analyse_recipe",
    "catalogue_documents",
    "RefreshGate",
    "mark_refresh",
    "CacheState",
    "RefreshStatus",
    "SearchPage",
    "render_search",
    "search_recipes",
    "CommonSettings",
    "StoredRecipe",
    "seed_catalogue",
    "store_all",
    "sync_vocabulary",
    "upsert_recipe",
]
