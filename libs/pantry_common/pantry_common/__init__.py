"""What the Pantry Chef services share: settings, the data model, search, clients and telemetry.

A service installs what it uses: the core (settings, Redis keys and client, messages and events,
logging, metrics) needs only pydantic, redis, orjson and prometheus-client; the rest comes with
extras, `pantry-common[postgres]` (the pool, migrations, search, store), `[rabbitmq]` (topology,
outbox), `[recipes]` (the ingredient parser, recipe analysis) and `[newrelic]` (the agent). Names
are imported when first used, so that `import pantry_common` works with the core alone.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from ._changes import (
        WORDS_TAG,
        CatalogueChange,
        ChangeAnnouncer,
        food_tag,
        lexeme_tag,
        text_lexemes,
    )
    from ._db import Pool, create_pool, is_unavailable
    from ._events import EventPublisher, is_stream_id, read_since, split_live
    from ._foods import STAPLES, Diet, FoodVocabulary, derive_diets, normalise_text
    from ._health import check_postgres, check_redis
    from ._http import JSON_ERRORS, error_response, health_routes, up_when
    from ._ingredients import ParsedIngredient, parse_ingredient
    from ._keys import Keys
    from ._lane import is_watched, take_watched, watch_search
    from ._logging import configure_logging, log_context
    from ._messages import (
        ENVELOPE,
        EVENT,
        RECIPE_IMPORT,
        SEARCH_REQUESTED,
        AcceptedData,
        CompletedData,
        Envelope,
        Event,
        FailedData,
        RecipeFound,
        RecipeImport,
        ResultsData,
        SearchCriteria,
        SearchRequested,
        SourceOutcome,
    )
    from ._migrations import SchemaRevisionError, head_revision
    from ._migrations import upgrade as migrate
    from ._outbox import OutboxRelay, enqueue
    from ._query import MAX_LIMIT, MAX_QUERY_CHARS, QueryError, SearchQuery, build_query
    from ._rabbit import (
        IMPORT_QUEUE,
        SEARCH_QUEUE,
        dead_letter_queue,
        declare_topology,
        retry_queue,
        to_message,
    )
    from ._recipes import AnalysedRecipe, RecipeError, analyse_recipe, catalogue_documents
    from ._redis import create_redis
    from ._refresh import RefreshGate, mark_refresh
    from ._reload import source_dirs
    from ._search import (
        Basis,
        CacheState,
        RefreshStatus,
        SearchPage,
        catch_up,
        have_kinds,
        search_recipes,
    )
    from ._settings import CommonSettings
    from ._store import seed_catalogue, store_recipes, upsert_recipe
    from ._telemetry import (
        background_transaction,
        linking_metadata,
        message_transaction,
        notice_error,
        start_agent,
        trace_headers,
        wrap_asgi,
    )
    from ._urls import AddressRefused, HostUnresolved, check_public_url

#: Every public name, and the module that defines it.
_EXPORTS: dict[str, tuple[str, str]] = {
    "JSON_ERRORS": ("._http", "JSON_ERRORS"),
    "error_response": ("._http", "error_response"),
    "health_routes": ("._http", "health_routes"),
    "up_when": ("._http", "up_when"),
    "AcceptedData": ("._messages", "AcceptedData"),
    "AddressRefused": ("._urls", "AddressRefused"),
    "AnalysedRecipe": ("._recipes", "AnalysedRecipe"),
    "Basis": ("._search", "Basis"),
    "CacheState": ("._search", "CacheState"),
    "CatalogueChange": ("._changes", "CatalogueChange"),
    "ChangeAnnouncer": ("._changes", "ChangeAnnouncer"),
    "CommonSettings": ("._settings", "CommonSettings"),
    "CompletedData": ("._messages", "CompletedData"),
    "Diet": ("._foods", "Diet"),
    "ENVELOPE": ("._messages", "ENVELOPE"),
    "EVENT": ("._messages", "EVENT"),
    "Envelope": ("._messages", "Envelope"),
    "Event": ("._messages", "Event"),
    "EventPublisher": ("._events", "EventPublisher"),
    "FailedData": ("._messages", "FailedData"),
    "FoodVocabulary": ("._foods", "FoodVocabulary"),
    "HostUnresolved": ("._urls", "HostUnresolved"),
    "IMPORT_QUEUE": ("._rabbit", "IMPORT_QUEUE"),
    "Keys": ("._keys", "Keys"),
    "MAX_LIMIT": ("._query", "MAX_LIMIT"),
    "MAX_QUERY_CHARS": ("._query", "MAX_QUERY_CHARS"),
    "OutboxRelay": ("._outbox", "OutboxRelay"),
    "ParsedIngredient": ("._ingredients", "ParsedIngredient"),
    "Pool": ("._db", "Pool"),
    "QueryError": ("._query", "QueryError"),
    "RECIPE_IMPORT": ("._messages", "RECIPE_IMPORT"),
    "RecipeError": ("._recipes", "RecipeError"),
    "RecipeFound": ("._messages", "RecipeFound"),
    "RecipeImport": ("._messages", "RecipeImport"),
    "RefreshGate": ("._refresh", "RefreshGate"),
    "RefreshStatus": ("._search", "RefreshStatus"),
    "ResultsData": ("._messages", "ResultsData"),
    "SEARCH_QUEUE": ("._rabbit", "SEARCH_QUEUE"),
    "SEARCH_REQUESTED": ("._messages", "SEARCH_REQUESTED"),
    "STAPLES": ("._foods", "STAPLES"),
    "SearchCriteria": ("._messages", "SearchCriteria"),
    "SearchPage": ("._search", "SearchPage"),
    "SearchQuery": ("._query", "SearchQuery"),
    "SearchRequested": ("._messages", "SearchRequested"),
    "SourceOutcome": ("._messages", "SourceOutcome"),
    "WORDS_TAG": ("._changes", "WORDS_TAG"),
    "analyse_recipe": ("._recipes", "analyse_recipe"),
    "background_transaction": ("._telemetry", "background_transaction"),
    "build_query": ("._query", "build_query"),
    "catalogue_documents": ("._recipes", "catalogue_documents"),
    "catch_up": ("._search", "catch_up"),
    "check_postgres": ("._health", "check_postgres"),
    "check_public_url": ("._urls", "check_public_url"),
    "check_redis": ("._health", "check_redis"),
    "configure_logging": ("._logging", "configure_logging"),
    "create_pool": ("._db", "create_pool"),
    "create_redis": ("._redis", "create_redis"),
    "dead_letter_queue": ("._rabbit", "dead_letter_queue"),
    "declare_topology": ("._rabbit", "declare_topology"),
    "derive_diets": ("._foods", "derive_diets"),
    "enqueue": ("._outbox", "enqueue"),
    "food_tag": ("._changes", "food_tag"),
    "have_kinds": ("._search", "have_kinds"),
    "head_revision": ("._migrations", "head_revision"),
    "SchemaRevisionError": ("._migrations", "SchemaRevisionError"),
    "is_stream_id": ("._events", "is_stream_id"),
    "is_unavailable": ("._db", "is_unavailable"),
    "lexeme_tag": ("._changes", "lexeme_tag"),
    "linking_metadata": ("._telemetry", "linking_metadata"),
    "log_context": ("._logging", "log_context"),
    "mark_refresh": ("._refresh", "mark_refresh"),
    "message_transaction": ("._telemetry", "message_transaction"),
    "migrate": ("._migrations", "upgrade"),
    "normalise_text": ("._foods", "normalise_text"),
    "notice_error": ("._telemetry", "notice_error"),
    "parse_ingredient": ("._ingredients", "parse_ingredient"),
    "read_since": ("._events", "read_since"),
    "retry_queue": ("._rabbit", "retry_queue"),
    "search_recipes": ("._search", "search_recipes"),
    "seed_catalogue": ("._store", "seed_catalogue"),
    "source_dirs": ("._reload", "source_dirs"),
    "split_live": ("._events", "split_live"),
    "start_agent": ("._telemetry", "start_agent"),
    "text_lexemes": ("._changes", "text_lexemes"),
    "to_message": ("._rabbit", "to_message"),
    "trace_headers": ("._telemetry", "trace_headers"),
    "upsert_recipe": ("._store", "upsert_recipe"),
    "wrap_asgi": ("._telemetry", "wrap_asgi"),
    "store_recipes": ("._store", "store_recipes"),
    "watch_search": ("._lane", "watch_search"),
    "take_watched": ("._lane", "take_watched"),
    "is_watched": ("._lane", "is_watched"),
}

#: The extra that brings what a module needs, for the error when it is missing.
_EXTRAS = {
    "._db": "postgres",
    "._migrations": "postgres",
    "._search": "postgres",
    "._store": "postgres, recipes",
    "._refresh": "postgres, rabbitmq",
    "._outbox": "postgres, rabbitmq",
    "._rabbit": "rabbitmq",
    "._recipes": "recipes",
    "._ingredients": "recipes",
}


def __getattr__(name: str) -> object:
    try:
        module_name, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    try:
        module = _importlib.import_module(module_name, __name__)
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get(module_name, "")
        raise ImportError(
            f"pantry_common.{name} needs pantry-common[{extra}] installed ({exc.name} is missing)"
        ) from exc
    value = getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "JSON_ERRORS",
    "error_response",
    "health_routes",
    "up_when",
    "AcceptedData",
    "AddressRefused",
    "AnalysedRecipe",
    "Basis",
    "CacheState",
    "CatalogueChange",
    "ChangeAnnouncer",
    "CommonSettings",
    "CompletedData",
    "Diet",
    "ENVELOPE",
    "EVENT",
    "Envelope",
    "Event",
    "EventPublisher",
    "FailedData",
    "FoodVocabulary",
    "HostUnresolved",
    "IMPORT_QUEUE",
    "Keys",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "OutboxRelay",
    "ParsedIngredient",
    "Pool",
    "QueryError",
    "RECIPE_IMPORT",
    "RecipeError",
    "RecipeFound",
    "RecipeImport",
    "RefreshGate",
    "RefreshStatus",
    "ResultsData",
    "SEARCH_QUEUE",
    "SEARCH_REQUESTED",
    "STAPLES",
    "SchemaRevisionError",
    "SearchCriteria",
    "SearchPage",
    "SearchQuery",
    "SearchRequested",
    "SourceOutcome",
    "WORDS_TAG",
    "analyse_recipe",
    "background_transaction",
    "build_query",
    "catalogue_documents",
    "catch_up",
    "check_postgres",
    "check_public_url",
    "check_redis",
    "configure_logging",
    "create_pool",
    "create_redis",
    "dead_letter_queue",
    "declare_topology",
    "derive_diets",
    "enqueue",
    "food_tag",
    "have_kinds",
    "head_revision",
    "is_stream_id",
    "is_unavailable",
    "lexeme_tag",
    "linking_metadata",
    "log_context",
    "mark_refresh",
    "message_transaction",
    "migrate",
    "normalise_text",
    "notice_error",
    "parse_ingredient",
    "read_since",
    "retry_queue",
    "search_recipes",
    "seed_catalogue",
    "source_dirs",
    "split_live",
    "start_agent",
    "text_lexemes",
    "to_message",
    "trace_headers",
    "upsert_recipe",
    "wrap_asgi",
    "is_watched",
    "take_watched",
    "watch_search",
    "store_recipes",
]
